// RFC 2047 encoded words in unstructured header text.

#include <catch2/catch.hpp>

#include <string>

#include "mail_test_support.hpp"
#include "rfc2047.hpp"

namespace {

using lodestone::mail::decode_header_text;
using lodestone::mail::Warning;
using lodestone::mail::Warnings;
using lodestone::mail::test::is_valid_utf8;

TEST_CASE("The examples of RFC 2047 section 8") {
  CHECK(decode_header_text("(=?ISO-8859-1?Q?a?=)") == "(a)");
  CHECK(decode_header_text("(=?ISO-8859-1?Q?a?= b)") == "(a b)");
  CHECK(decode_header_text("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)") == "(ab)");
  CHECK(decode_header_text("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)") == "(ab)");
  CHECK(decode_header_text("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)") == "(ab)");
  CHECK(decode_header_text("(=?ISO-8859-1?Q?a_b?=)") == "(a b)");
  CHECK(decode_header_text("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)") == "(a b)");
  CHECK(decode_header_text("=?ISO-8859-1?Q?Andr=E9?= Pirard") == "André Pirard");
  CHECK(decode_header_text("=?iso-8859-1?q?this=20is=20some=20text?=") == "this is some text");
}

TEST_CASE("B and Q words, in either case, with a language tag") {
  CHECK(decode_header_text("=?UTF-8?B?Y2Fmw6k=?=") == "café");
  CHECK(decode_header_text("=?utf-8?b?Y2Fmw6k=?=") == "café");
  CHECK(decode_header_text("=?utf-8*en?q?caf=C3=A9?=") == "café");
}

TEST_CASE("A character split across two words survives") {
  // "€" is E2 82 AC: the first word carries two bytes, the second one.
  CHECK(decode_header_text("=?UTF-8?B?4oI=?= =?UTF-8?B?rA==?=") == "€");
  CHECK(decode_header_text("=?utf-8?Q?=E2=82?=\r\n =?UTF8?Q?=AC?=") == "€");
  CHECK(decode_header_text("Price: =?utf-8?Q?10_=E2=82?= =?utf-8?Q?=AC?= only") == "Price: 10 € only");
}

TEST_CASE("Unfolding keeps the blank after a line break") {
  CHECK(decode_header_text("Re: a long\r\n subject") == "Re: a long subject");
  CHECK(decode_header_text("  padded  ") == "padded");
}

TEST_CASE("Words glued to text are decoded too, as mailers write them") {
  CHECK(decode_header_text("Re:=?utf-8?Q?caf=C3=A9?=") == "Re:café");
  CHECK(decode_header_text("=?utf-8?Q?a?==?utf-8?Q?b?=") == "ab");
}

TEST_CASE("What is not an encoded word stays as written") {
  CHECK(decode_header_text("=?utf-8?X?abc?=") == "=?utf-8?X?abc?=");
  CHECK(decode_header_text("=?utf-8?Q?abc") == "=?utf-8?Q?abc");
  CHECK(decode_header_text("=??Q?a?=") == "=??Q?a?=");
  CHECK(decode_header_text("=?utf-8?Q?a b?=") == "=?utf-8?Q?a b?=");
  CHECK(decode_header_text("x =? y ?= z") == "x =? y ?= z");
}

TEST_CASE("Raw 8-bit header text is read as UTF-8 or else Windows-1252") {
  CHECK(decode_header_text("Caf\xE9") == "Café");
  CHECK(decode_header_text("Caf\xC3\xA9") == "Café");
}

TEST_CASE("Control characters do not reach the result") {
  CHECK(decode_header_text("a\x01" "b") == "a\uFFFDb");
  CHECK(decode_header_text(std::string("a\0b", 3)) == "a\uFFFDb");
  CHECK(decode_header_text("=?utf-8?Q?line=0Abreak?=") == "line break");
}

TEST_CASE("Bad words are reported and still give valid UTF-8") {
  Warnings warnings;
  CHECK(decode_header_text("=?x-martian?Q?caf=E9?=", &warnings) == "café");
  CHECK(warnings.has(Warning::unknown_charset));
  CHECK(is_valid_utf8(decode_header_text("=?utf-8?B?/////w==?=")));
  CHECK(is_valid_utf8(decode_header_text("=?utf-16?B?2AA=?=")));
}

TEST_CASE("Many openers without an end stay linear") {
  // Each "=?a?q?" starts a word whose end never comes; rescanning from every
  // one of them would be quadratic (2 MB here).
  std::string raw = "=?a?q?";
  while (raw.size() < 2'000'000) raw += "x=?a?q?";
  CHECK(decode_header_text(raw).size() == raw.size());
  std::string openers;
  while (openers.size() < 2'000'000) openers += "=?";
  CHECK(decode_header_text(openers).size() == openers.size());
}

}  // namespace
