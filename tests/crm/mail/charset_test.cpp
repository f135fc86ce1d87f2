// Charset conversion: everything becomes valid UTF-8, whatever it claims to be.

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "charset.hpp"
#include "mail_test_support.hpp"

namespace {

using lodestone::mail::canonical_charset;
using lodestone::mail::to_utf8;
using lodestone::mail::truncate_utf8;
using lodestone::mail::valid_utf8_prefix;
using lodestone::mail::Warning;
using lodestone::mail::Warnings;
using lodestone::mail::test::is_valid_utf8;

TEST_CASE("UTF-8 passes through and invalid bytes become one U+FFFD per broken sequence") {
  Warnings warnings;
  CHECK(to_utf8("caf\xC3\xA9", "utf-8", &warnings) == "café");
  CHECK(warnings.empty());
  CHECK(to_utf8("a\xFF" "b", "UTF-8", &warnings) == "a\uFFFDb");
  CHECK(warnings.has(Warning::invalid_charset_bytes));
  CHECK(to_utf8("\xC0\xAF", "utf-8") == "\uFFFD\uFFFD");          // overlong '/'
  CHECK(to_utf8("x\xE2\x82", "utf-8") == "x\uFFFD");              // cut off at the end
  CHECK(to_utf8("\xED\xA0\x80", "utf-8") == "\uFFFD\uFFFD\uFFFD");  // a surrogate
  CHECK(to_utf8("\xF4\x90\x80\x80", "utf-8") == "\uFFFD\uFFFD\uFFFD\uFFFD");  // above U+10FFFF
  CHECK(to_utf8("\xF0\x9F\x98\x80", "utf8") == "😀");
}

TEST_CASE("ISO-8859-1 is read as Windows-1252, as browsers do") {
  CHECK(to_utf8("\x80 \xE9", "iso-8859-1") == "€ é");
  CHECK(to_utf8("\x93quoted\x94", "latin1") == "“quoted”");
  CHECK(to_utf8("\xE9", "\"ISO-8859-1\"") == "é");
}

TEST_CASE("Unlabelled and us-ascii text is kept when it is UTF-8, else read as Windows-1252") {
  CHECK(to_utf8("\xC3\xA9t\xC3\xA9", "") == "été");
  CHECK(to_utf8("\xE9t\xE9", "") == "été");
  CHECK(to_utf8("\xE9t\xE9", "us-ascii") == "été");
  Warnings warnings;
  CHECK(to_utf8("plain", "us-ascii", &warnings) == "plain");
  CHECK(warnings.empty());
}

TEST_CASE("An unknown charset is read as Windows-1252 and reported") {
  Warnings warnings;
  CHECK(to_utf8("caf\xE9", "x-klingon", &warnings) == "café");
  CHECK(warnings.has(Warning::unknown_charset));
}

TEST_CASE("A label cannot smuggle iconv options in") {
  Warnings warnings;
  // "//IGNORE" would make glibc drop bytes silently; the label is refused.
  CHECK(to_utf8("\xC3\xA9", "UTF-8//IGNORE", &warnings) == "Ã©");
  CHECK(warnings.has(Warning::unknown_charset));
}

TEST_CASE("Multi-byte and stateful charsets convert through iconv") {
  CHECK(to_utf8("\xF0\xD2\xC9\xD7\xC5\xD4", "koi8-r") == "Привет");
  CHECK(to_utf8("\xC4\xE3\xBA\xC3", "gb2312") == "你好");
  CHECK(to_utf8("\xA4\xA4\xA4\xE5", "big5") == "中文");
  CHECK(to_utf8("\x82\xB1\x82\xF1\x82\xC9\x82\xBF\x82\xCD", "Shift_JIS") == "こんにちは");
  CHECK(to_utf8("\x1B$B$3$s$K$A$O\x1B(B", "iso-2022-jp") == "こんにちは");
  CHECK(to_utf8(std::string("\x00h\x00i", 4), "utf-16be") == "hi");
}

TEST_CASE("Broken multi-byte input still gives valid UTF-8") {
  Warnings warnings;
  CHECK(to_utf8("\xC4", "gb2312", &warnings) == "\uFFFD");
  CHECK(warnings.has(Warning::invalid_charset_bytes));
  CHECK(to_utf8(std::string("\x00h\x00", 3), "utf-16be") == "h\uFFFD");
  CHECK(is_valid_utf8(to_utf8(std::string("\xD8\x00\x00\x41", 4), "utf-16be")));  // lone surrogate
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise.push_back(static_cast<char>((i * 7919) & 0xFF));
  for (const char* charset : {"utf-8", "", "gb18030", "shift_jis", "iso-2022-jp", "utf-16", "utf-7",
                              "euc-kr", "big5", "koi8-r", "x-unknown-charset"}) {
    INFO(charset);
    CHECK(is_valid_utf8(to_utf8(noise, charset)));
  }
}

TEST_CASE("Spellings of one charset share a canonical name") {
  CHECK(canonical_charset("\"UTF8\"") == canonical_charset("utf-8"));
  CHECK(canonical_charset("utf-8*en") == canonical_charset("UTF-8"));
  CHECK(canonical_charset("ISO-8859-1") == canonical_charset("latin1"));
  CHECK(canonical_charset("us-ascii") == canonical_charset(""));
  CHECK(canonical_charset("koi8-r") != canonical_charset("koi8-u"));
}

TEST_CASE("UTF-8 helpers never split a sequence") {
  std::string s = "aé€";  // 1 + 2 + 3 bytes
  truncate_utf8(s, 2);
  CHECK(s == "a");
  s = "aé€";
  truncate_utf8(s, 3);
  CHECK(s == "aé");
  CHECK(valid_utf8_prefix("ab\xC3") == 2);
  CHECK(valid_utf8_prefix("é€") == 5);
}

TEST_CASE("Conversions on several threads at once do not interfere") {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < 2000; ++i) {
        const bool ok = t % 2 == 0 ? to_utf8("\xC4\xE3\xBA\xC3", "gb2312") == "你好"
                                   : to_utf8("\x1B$B$3$s$K$A$O\x1B(B", "iso-2022-jp") == "こんにちは";
        if (!ok) ++failures[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == std::vector<int>(4, 0));
}

}  // namespace
