// Message identifiers in the one form the store keys and threads by.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "message_id.hpp"

namespace {

using lodestone::mail::normalise_message_id;
using lodestone::mail::parse_message_ids;

using Ids = std::vector<std::string>;

TEST_CASE("Normalising trims, strips <> and lower-cases the domain only") {
  CHECK(normalise_message_id("  <Abc.123@Example.COM>  ") == "Abc.123@example.com");
  CHECK(normalise_message_id("Abc.123@Example.COM") == "Abc.123@example.com");
  CHECK(normalise_message_id("<a@b@C.D>") == "a@b@c.d");
  CHECK(normalise_message_id("<NoDomain>") == "NoDomain");
  CHECK(normalise_message_id("<abc\r\n def@X>") == "abcdef@x");
  CHECK(normalise_message_id("<<doubled@x>>") == "doubled@x");
  CHECK(normalise_message_id("<caf\xE9@x>") == "café@x");
}

TEST_CASE("Every bracketed identifier, in order") {
  CHECK(parse_message_ids("<a@X> <b@y>\r\n <c@z>") == Ids{"a@x", "b@y", "c@z"});
  CHECK(parse_message_ids("<a@x>,<b@y>") == Ids{"a@x", "b@y"});
  CHECK(parse_message_ids("<a@x> (from John <not@this>)") == Ids{"a@x"});
}

TEST_CASE("Obsolete In-Reply-To text around the identifier is skipped") {
  CHECK(parse_message_ids("Your message of \"Mon, 1 Jan <x@y>\" <a@X.org>") == Ids{"a@x.org"});
}

TEST_CASE("Without brackets, words holding '@' are identifiers") {
  CHECK(parse_message_ids("a@X.org b@y.org") == Ids{"a@x.org", "b@y.org"});
  CHECK(parse_message_ids("no identifiers here").empty());
}

TEST_CASE("Broken brackets keep what they hold") {
  CHECK(parse_message_ids("<abc@x") == Ids{"abc@x"});
  CHECK(parse_message_ids("<>").empty());
  CHECK(parse_message_ids("").empty());
  CHECK(parse_message_ids("(unterminated <a@b>").empty());
}

TEST_CASE("Huge References fields stay linear") {
  std::string refs;
  for (int i = 0; i < 100'000; ++i) refs += "<id" + std::to_string(i) + "@Host.Example> ";
  const auto ids = parse_message_ids(refs);
  REQUIRE(ids.size() == 100'000);
  CHECK(ids.back() == "id99999@host.example");
  CHECK(parse_message_ids(std::string(2'000'000, '<')).size() == 0);
  CHECK(parse_message_ids(std::string(2'000'000, '(')).empty());
}

}  // namespace
