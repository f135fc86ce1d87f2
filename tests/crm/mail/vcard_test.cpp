// vCards 2.1, 3.0 and 4.0.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "vcard.hpp"

namespace {

using lodestone::mail::parse_vcards;
using lodestone::mail::VCard;
using Strings = std::vector<std::string>;
using namespace std::string_literals;

TEST_CASE("vCard 3.0") {
  const auto cards = parse_vcards(
      "BEGIN:VCARD\r\n"
      "VERSION:3.0\r\n"
      "N:Doe;John;;;\r\n"
      "FN:John Doe\r\n"
      "ORG:Example Ltd;Sales\r\n"
      "EMAIL;TYPE=INTERNET,WORK:john@example.com\r\n"
      "EMAIL;TYPE=INTERNET,HOME:john@home.example\r\n"
      "TEL;TYPE=WORK,VOICE:+44 20 7946 0000\r\n"
      "END:VCARD\r\n",
      "");
  REQUIRE(cards.size() == 1);
  CHECK(cards[0] == VCard{"John Doe", {"john@example.com", "john@home.example"}, {"+44 20 7946 0000"}, "Example Ltd"});
}

TEST_CASE("vCard 4.0 URIs, quoted parameters and groups") {
  const auto cards = parse_vcards(
      "BEGIN:VCARD\n"
      "VERSION:4.0\n"
      "FN:Jane Roe\n"
      "TEL;VALUE=uri;TYPE=\"voice,work\":tel:+1-555-555-5555\n"
      "EMAIL;PREF=1:mailto:jane@example.org\n"
      "item1.EMAIL;type=INTERNET:jane@work.example\n"
      "END:VCARD\n",
      "utf-8");
  REQUIRE(cards.size() == 1);
  CHECK(cards[0].phones == Strings{"+1-555-555-5555"});
  CHECK(cards[0].emails == Strings{"jane@example.org", "jane@work.example"});
}

TEST_CASE("vCard 2.1 quoted-printable with soft breaks, and its charset") {
  const auto cards = parse_vcards(
      "BEGIN:VCARD\r\n"
      "VERSION:2.1\r\n"
      "N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;Andr=E9\r\n"
      "FN;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:Andr=E9 M=\r\n"
      "=FCller\r\n"
      "ORG;QUOTED-PRINTABLE:B=E4ckerei\r\n"
      "TEL;WORK;VOICE:+49 30 1234\r\n"
      "EMAIL;PREF;INTERNET:andre@example.de\r\n"
      "END:VCARD\r\n",
      "windows-1252");
  REQUIRE(cards.size() == 1);
  CHECK(cards[0] == VCard{"André Müller", {"andre@example.de"}, {"+49 30 1234"}, "Bäckerei"});
}

TEST_CASE("Folded lines, escapes and a name assembled from N") {
  const auto cards = parse_vcards(
      "BEGIN:VCARD\r\n"
      "VERSION:3.0\r\n"
      "N:Public;John;Quinlan;Mr.;Esq.\r\n"
      "ORG:Smith\\, Jones & Co.;Le\r\n"
      " gal\r\n"
      "EMAIL:john.public@exam\r\n"
      "\tple.com\r\n"
      "END:VCARD\r\n",
      "");
  REQUIRE(cards.size() == 1);
  CHECK(cards[0].name == "Mr. John Quinlan Public Esq.");
  CHECK(cards[0].organisation == "Smith, Jones & Co.");
  CHECK(cards[0].emails == Strings{"john.public@example.com"});
  CHECK(parse_vcards("BEGIN:VCARD\nFN:Line\\nBreak\\, Escaped\nEND:VCARD\n", "")[0].name == "Line Break, Escaped");
}

TEST_CASE("Several cards, duplicates, empty and unterminated cards") {
  const auto cards = parse_vcards(
      "BEGIN:VCARD\nFN:One\nEMAIL:one@x.org\nEMAIL:one@x.org\nEND:VCARD\n"
      "BEGIN:VCARD\nVERSION:3.0\nEND:VCARD\n"
      "BEGIN:VCARD\nFN:Two\nAGENT:\nBEGIN:VCARD\nFN:Agent\nEND:VCARD\nTEL:2\nEND:VCARD\n"
      "begin:vcard\nfn:Three\n",
      "");
  REQUIRE(cards.size() == 3);
  CHECK(cards[0] == VCard{"One", {"one@x.org"}, {}, ""});
  CHECK(cards[1] == VCard{"Two", {}, {"2"}, ""});
  CHECK(cards[2].name == "Three");
}

TEST_CASE("Whatever is not a vCard gives no cards") {
  CHECK(parse_vcards("", "").empty());
  CHECK(parse_vcards("FN:outside a card\n", "").empty());
  const auto broken = parse_vcards("BEGIN:VCARD\nFN:\xFF\xFE\0x\nEND:VCARD"s, "utf-8");
  REQUIRE(broken.size() == 1);
  CHECK(broken[0].name == "\uFFFD\uFFFD\uFFFDx");
}

TEST_CASE("Hostile vCards stay linear") {
  std::string soft = "BEGIN:VCARD\nFN;ENCODING=QUOTED-PRINTABLE:";
  for (int i = 0; i < 200'000; ++i) soft += "a=\n";
  soft += "z\nEND:VCARD\n";
  const auto cards = parse_vcards(soft, "");
  REQUIRE(cards.size() == 1);
  CHECK(cards[0].name == std::string(200'000, 'a') + "z");

  std::string folded = "BEGIN:VCARD\nFN:x";
  for (int i = 0; i < 500'000; ++i) folded += "\n y";
  CHECK(parse_vcards(folded, "").at(0).name.size() == 500'001);

  std::string many;
  for (int i = 0; i < 100'000; ++i) many += "BEGIN:VCARD\nEMAIL:a" + std::to_string(i) + "@x.org\nEND:VCARD\n";
  CHECK(parse_vcards(many, "").size() == 100'000);
  CHECK(parse_vcards(std::string(2'000'000, ':'), "").empty());
  CHECK(parse_vcards(std::string(2'000'000, '\n'), "").empty());
}

}  // namespace
