// text/plain bodies: line ends, control characters, format=flowed.

#include <catch2/catch.hpp>

#include <string>

#include "plain_text.hpp"

namespace {

using lodestone::mail::plain_text;
using namespace std::string_literals;

TEST_CASE("Line ends become LF, control characters U+FFFD") {
  CHECK(plain_text("a\r\nb\rc\nd", false, false) == "a\nb\nc\nd");
  CHECK(plain_text("page\fbreak\ttab", false, false) == "page\nbreak\ttab");
  CHECK(plain_text("nul\0bell\a"s, false, false) == "nul\uFFFDbell\uFFFD");
}

TEST_CASE("format=flowed joins soft breaks and unstuffs") {
  CHECK(plain_text("This is a \r\nflowed \r\nparagraph.\r\nNext line.", true, false) ==
        "This is a flowed paragraph.\nNext line.");
  CHECK(plain_text(" From the start\n  indented", true, false) == "From the start\n indented");
  CHECK(plain_text("> quoted \n> more\nreply", true, false) == "> quoted more\nreply");
  CHECK(plain_text(">> deep \n> shallow", true, false) == ">> deep \n> shallow");
  CHECK(plain_text("sig\n-- \nName", true, false) == "sig\n-- \nName");
  CHECK(plain_text("Del \nSp", true, true) == "DelSp");
  CHECK(plain_text("a\n\nb", true, false) == "a\n\nb");
}

TEST_CASE("A long flowed paragraph stays linear") {
  std::string text;
  for (int i = 0; i < 300'000; ++i) text += "word \r\n";
  text += "end";
  const std::string joined = plain_text(text, true, false);
  CHECK(joined.size() == 300'000 * 5 + 3);
}

}  // namespace
