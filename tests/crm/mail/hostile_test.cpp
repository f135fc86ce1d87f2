// Hostile input: the hand-made cases in tests/corpus/mime/, large generated
// ones, and random mutations.  Nothing may crash or throw, every string must
// be valid UTF-8, each limit reached must be reported, and what could be read
// must be kept.  No wall time is asserted; the generated inputs are a few MB
// each, so anything quadratic would take hours instead of milliseconds.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "lodestone/mail.hpp"
#include "mail_test_support.hpp"

namespace {

namespace fs = std::filesystem;
using lodestone::mail::Address;
using lodestone::mail::Attachment;
using lodestone::mail::MessageSummary;
using lodestone::mail::parse_message;
using lodestone::mail::ParseLimits;
using lodestone::mail::VCard;
using lodestone::mail::Warning;
using lodestone::mail::test::is_valid_utf8;
using lodestone::mail::test::read_file;
using lodestone::mail::test::source_path;
using namespace std::string_literals;

// What every parse of anything must satisfy.
void check_sane(const MessageSummary& s) {
  CHECK(is_valid_utf8(s));
  CHECK_FALSE(s.warnings.has(Warning::internal_error));
  CHECK_FALSE(s.warnings.has(Warning::out_of_memory));
}

MessageSummary parse_corpus_file(const std::string& name, const ParseLimits& limits = {}) {
  const fs::path path = source_path("tests/corpus/mime") / name;
  REQUIRE(fs::exists(path));
  const MessageSummary s = parse_message(read_file(path), limits);
  INFO(name);
  check_sane(s);
  return s;
}

std::string repeat(std::string_view unit, std::size_t at_least) {
  std::string out;
  out.reserve(at_least + unit.size());
  while (out.size() < at_least) out += unit;
  return out;
}

constexpr std::size_t big = 4'000'000;

TEST_CASE("Every file in the hostile corpus parses sanely and is listed in its README") {
  const std::string readme = read_file(source_path("tests/corpus/mime/README.md"));
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(source_path("tests/corpus/mime"))) {
    if (entry.path().extension() != ".eml") continue;
    ++files;
    const std::string name = entry.path().filename().string();
    INFO(name);
    CHECK(readme.find("`" + name + "`") != std::string::npos);
    check_sane(parse_message(read_file(entry.path())));
  }
  CHECK(files >= 20);
}

TEST_CASE("Boundaries: unterminated, missing, empty, wrong, nested, prefixes") {
  MessageSummary s = parse_corpus_file("unterminated-boundary.eml");
  CHECK(s.warnings.has(Warning::unterminated_multipart));
  CHECK(s.text == "first part");
  CHECK(s.attachments == std::vector<Attachment>{{"", "application/octet-stream", 6}});

  s = parse_corpus_file("missing-boundary.eml");
  CHECK(s.warnings.has(Warning::missing_boundary));
  CHECK(s.text.find("the parts cannot be found") != std::string::npos);

  s = parse_corpus_file("empty-boundary.eml");
  CHECK(s.warnings.has(Warning::missing_boundary));

  s = parse_corpus_file("wrong-boundary.eml");
  CHECK(s.warnings.has(Warning::unterminated_multipart));
  CHECK(s.text.find("plain") != std::string::npos);

  s = parse_corpus_file("nested-unterminated.eml");
  CHECK(s.warnings.has(Warning::unterminated_multipart));
  CHECK(s.text == "inner text");
  CHECK(s.attachments == std::vector<Attachment>{{"after.txt", "text/plain", 5}});

  s = parse_corpus_file("boundary-prefix.eml");
  CHECK(s.warnings.empty());
  CHECK(s.text == "plain");
  CHECK(s.attachments == std::vector<Attachment>{{"x.gif", "image/gif", 6}});
}

TEST_CASE("Nesting and part counts beyond the limits") {
  MessageSummary s = parse_corpus_file("deep-nesting.eml");
  CHECK(s.warnings.has(Warning::depth_limit));
  CHECK(s.subject == "40 nested multiparts");

  s = parse_corpus_file("deep-rfc822.eml");
  CHECK(s.warnings.has(Warning::depth_limit));
  CHECK(s.attachments.size() == 33);  // 32 entered, the 33rd kept whole

  s = parse_corpus_file("many-parts.eml");
  CHECK(s.warnings.has(Warning::part_limit));
  CHECK(s.text.starts_with("0\n\n1\n\n2"));
  CHECK(s.text.ends_with("\n\n998"));  // the message and 999 parts make 1000
  ParseLimits roomy;
  roomy.max_parts = 5000;
  s = parse_corpus_file("many-parts.eml", roomy);
  CHECK_FALSE(s.warnings.has(Warning::part_limit));
  CHECK(s.text.ends_with("\n\n1199"));
}

TEST_CASE("NUL bytes, bare CRs, missing headers and bodies") {
  MessageSummary s = parse_corpus_file("nul-bytes.eml");
  // The field name with a NUL ends the header; the NUL in the address stays visible.
  CHECK(s.from == std::vector<Address>{{"nul\uFFFDname", "nul@exa\uFFFDmple.com"}});
  CHECK(s.text.find("body\uFFFDwith\uFFFDnuls") != std::string::npos);

  s = parse_corpus_file("bare-cr.eml");
  CHECK(s.from == std::vector<Address>{{"", "a@example.com"}});
  CHECK(s.subject == "old Mac line ends");
  CHECK(s.text == "body line one\nbody line two");

  s = parse_corpus_file("header-no-body.eml");
  CHECK(s.subject == "header only, no blank line, no final line break");
  CHECK(s.text.empty());

  s = parse_corpus_file("no-header.eml");
  CHECK(s.text == "This message has no header at all.\nJust text.");

  s = parse_corpus_file("garbage-header.eml");
  CHECK(s.text.find("body") != std::string::npos);

  s = parse_corpus_file("binary-garbage.eml");
  CHECK(s.warnings.has(Warning::invalid_charset_bytes));
}

TEST_CASE("Bad transfer encodings and charsets") {
  MessageSummary s = parse_corpus_file("bad-base64.eml");
  CHECK(s.warnings.has(Warning::bad_transfer_encoding));
  CHECK(s.text.starts_with("hello world"));
  REQUIRE(s.attachments.size() == 1);
  CHECK(s.attachments[0].file_name == "bad.pdf");

  s = parse_corpus_file("bad-qp.eml");
  CHECK(s.warnings.has(Warning::bad_transfer_encoding));
  CHECK(s.text.starts_with("100=ZZ percent soft breaks=3\nété"));

  s = parse_corpus_file("wrong-charsets.eml");
  CHECK(s.warnings.has(Warning::unknown_charset));
  CHECK(s.warnings.has(Warning::invalid_charset_bytes));
  CHECK(s.subject.starts_with("café\uFFFD"));
  CHECK(s.text.find("unknown: café") != std::string::npos);
  CHECK(s.text.find("label with options") != std::string::npos);
  CHECK(s.text.find("8-bit in us-ascii: café") != std::string::npos);
}

TEST_CASE("Broken header syntax") {
  MessageSummary s = parse_corpus_file("broken-addresses.eml");
  CHECK(s.cc == std::vector<Address>{{"\uFFFD\uFFFD", "h@example.com"}, {"=?bogus?X?y?=", "i@example.com"}});
  CHECK(s.reply_to == std::vector<Address>{{"", "j@example.com"}, {"comment (nested (deeper", "k@example.com"}});

  s = parse_corpus_file("broken-encoded-words.eml");
  CHECK(s.subject.starts_with("=?utf-8?Q?unterminated =?utf-8?X?bad_encoding?="));
  CHECK(s.subject.find("\uFFFD¬") != std::string::npos);  // a split character whose charsets differ

  s = parse_corpus_file("broken-rfc2231.eml");
  REQUIRE(s.attachments.size() == 3);
  CHECK(s.attachments[0].file_name == "\uFFFD");  // E2 82 cut off by the gap
  CHECK(s.attachments[1].file_name == "no-quotes%ZZ%4");
  CHECK(s.attachments[2].file_name == "é%");
}

TEST_CASE("Broken HTML and vCards") {
  MessageSummary s = parse_corpus_file("broken-html.eml");
  CHECK(s.text == "text & &bogus; \uFFFD \uFFFD link <1> < p>");

  s = parse_corpus_file("broken-vcard.eml");
  CHECK(s.text == "see card");
  CHECK(s.attachments.size() == 3);
  REQUIRE(s.vcards.size() == 3);
  CHECK(s.vcards[1] == VCard{"Card", {"c@example.com"}, {}, ""});
  CHECK(s.vcards[2].emails == std::vector<std::string>{"d@example.com"});
}

TEST_CASE("Generated: nesting 100,000 deep") {
  std::string raw = "Subject: deep\n";
  for (int i = 0; i < 100'000; ++i) {
    raw += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" + std::to_string(i) + "\n";
  }
  raw += "\ntext\n";
  const MessageSummary s = parse_message(raw);
  check_sane(s);
  CHECK(s.warnings.has(Warning::depth_limit));
  CHECK(s.subject == "deep");

  std::string messages = "Subject: outer\n" + repeat("Content-Type: message/rfc822\n\n", big) + "\ninnermost\n";
  const MessageSummary m = parse_message(messages);
  check_sane(m);
  CHECK(m.warnings.has(Warning::depth_limit));
  CHECK(m.subject == "outer");
}

TEST_CASE("Generated: hundreds of thousands of parts") {
  const std::string raw = "Content-Type: multipart/mixed; boundary=p\n\n" + repeat("--p\n\nx\n", big) + "--p--\n";
  const MessageSummary s = parse_message(raw);
  check_sane(s);
  CHECK(s.warnings.has(Warning::part_limit));
  // Without the limit every part is read (1 MB: 142,858 parts).
  const std::size_t size = 1'000'000;
  ParseLimits unlimited;
  unlimited.max_parts = 1'000'000;
  unlimited.max_text_bytes = 100'000'000;
  const MessageSummary all =
      parse_message("Content-Type: multipart/mixed; boundary=p\n\n" + repeat("--p\n\nx\n", size), unlimited);
  check_sane(all);
  CHECK(all.text.size() == (size / 7 + 1) * 3 - 2);
}

TEST_CASE("Generated: huge header lines and blocks") {
  MessageSummary s = parse_message("Subject: " + std::string(big, 'a') + "\nFrom: x@y.example\n\nbody");
  check_sane(s);
  CHECK(s.warnings.has(Warning::header_limit));
  CHECK(s.subject.empty());
  CHECK(s.text == "body");

  s = parse_message("Subject: kept\n" + repeat("X-Filler: 0123456789\n", big) + "\nbody");
  check_sane(s);
  CHECK(s.warnings.has(Warning::header_limit));
  CHECK(s.subject == "kept");
  CHECK(s.text == "body");

  s = parse_message("Subject: folded" + repeat("\n continued", big) + "\n\nbody");
  check_sane(s);
  CHECK(s.warnings.has(Warning::header_limit));
  CHECK(s.text == "body");
}

TEST_CASE("Generated: header syntax stress with the header limit lifted") {
  ParseLimits limits;
  limits.max_header_bytes = 64 * 1024 * 1024;
  const std::size_t size = 1'000'000;  // per field
  std::string to;
  for (int i = 0; i < 50'000; ++i) to += "\"Name, " + std::to_string(i) + "\" <a" + std::to_string(i) + "@x.example>,\n ";
  std::string raw = "To: " + to + "\nSubject: " + repeat("=?utf-8?q?a?= ", size) + "\nReferences: " +
                    repeat("<a@b> ", size) + "\nFrom: " + repeat("(", size) + "\nCc: " + repeat("<", size) +
                    "\nDate: " + repeat("1 ", size) + "\nContent-Type: text/plain; " + repeat("a*0*=%; ", size) +
                    "\n\nbody";
  const MessageSummary s = parse_message(raw, limits);
  check_sane(s);
  CHECK(s.to.size() == 50'000);
  CHECK(s.subject == repeat("a", size / 14 + 1));
  CHECK(s.references.size() == size / 6 + 1);
  CHECK(s.from.empty());
  CHECK(s.cc.empty());
  CHECK(s.warnings.has(Warning::date_invalid));
  CHECK(s.text == "body");
}

TEST_CASE("Generated: delimiter look-alikes under many open boundaries") {
  // 32 open multiparts whose boundaries share a long prefix, then lines that
  // match every one of them but the last character: each line is checked
  // against all 32, which must stay a constant factor.
  const std::string prefix(60, 'q');
  std::string raw;
  for (int i = 0; i < 32; ++i) {
    raw += "Content-Type: multipart/mixed; boundary=\"" + prefix + std::to_string(i) + "\"\n\n--" + prefix +
           std::to_string(i) + "\n";
  }
  raw += "\n" + repeat("--" + prefix + "x\n", big) + "--" + prefix + "0--\n";
  const MessageSummary s = parse_message(raw);
  check_sane(s);
  CHECK(s.text.size() <= ParseLimits{}.max_text_bytes);
  CHECK(s.warnings.has(Warning::unterminated_multipart));
}

TEST_CASE("Generated: garbage bodies in every encoding") {
  const std::size_t size = 1'000'000;
  for (const char* encoding : {"base64", "quoted-printable", "8bit"}) {
    for (const char* type : {"text/plain; charset=utf-8", "text/html; charset=iso-2022-jp", "application/pdf",
                             "text/vcard"}) {
      INFO(encoding << " " << type);
      std::mt19937 random(7);
      std::string body;
      body.reserve(size);
      for (std::size_t i = 0; i < size; ++i) body.push_back(static_cast<char>(random()));
      const std::string raw = std::string("Content-Type: ") + type + "\nContent-Transfer-Encoding: " + encoding +
                              "\n\n" + body;
      check_sane(parse_message(raw));
    }
  }
  for (const std::string& unit : {"="s, "=\n"s, "<"s, "<!--"s, "&#"s, "<script>"s, "=?"s, "\0"s, "\r"s,
                                  "BEGIN:VCARD\n"s}) {
    INFO(unit);
    const std::string body = repeat(unit, big);
    check_sane(parse_message("Content-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n" + body));
    check_sane(parse_message("Content-Type: text/x-vcard\n\n" + body));
  }
}

TEST_CASE("Generated: the text limit keeps the start of the text") {
  const MessageSummary s = parse_message("Content-Type: text/plain; charset=utf-8\n\n" + repeat("é", big));
  check_sane(s);
  CHECK(s.warnings.has(Warning::text_limit));
  CHECK(s.text.size() == ParseLimits{}.max_text_bytes);
}

TEST_CASE("Random mutations of the corpus never break the parser") {
  std::vector<std::string> seeds;
  for (const auto& entry : fs::directory_iterator(source_path("tests/corpus/mime"))) {
    if (entry.path().extension() == ".eml") seeds.push_back(read_file(entry.path()));
  }
  std::sort(seeds.begin(), seeds.end());
  const std::string tokens[] = {"\r\n", "\n", "--", "=?utf-8?B?", "?=", "<", ">", "\"", "(", ")", ":", ";",
                                "\\", "=", "Content-Type: multipart/mixed; boundary=x\n\n", "--x\n", "--x--\n",
                                "Content-Transfer-Encoding: base64\n", "\0"s, "\xFF", "\xC3", "&#", "BEGIN:VCARD\n"};
  std::mt19937 random(20250303);
  std::size_t parsed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string message = seeds[random() % seeds.size()];
    const int edits = 1 + static_cast<int>(random() % 8);
    for (int e = 0; e < edits && !message.empty(); ++e) {
      const std::size_t at = random() % message.size();
      switch (random() % 4) {
        case 0: message.erase(at, 1 + random() % 16); break;
        case 1: message[at] = static_cast<char>(random()); break;
        case 2: {
          message.insert(at, tokens[random() % std::size(tokens)]);
          break;
        }
        default: message.insert(at, message.substr(random() % message.size(), random() % 64)); break;
      }
    }
    const MessageSummary s = parse_message(message);
    INFO("round " << round);
    CHECK(is_valid_utf8(s));
    CHECK_FALSE(s.warnings.has(Warning::internal_error));
    ++parsed;
  }
  CHECK(parsed == 3000);
}

}  // namespace
