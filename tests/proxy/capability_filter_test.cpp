#include <catch2/catch.hpp>

#include <string>

#include "capability_filter.hpp"

using lodestone::imap::CapabilityFilter;
using lodestone::imap::filter_capability_line;
using lodestone::imap::is_hidden_capability;

namespace {

std::string run_filter(CapabilityFilter& filter, std::string_view chunk) {
  std::string out;
  for (auto piece : filter.filter(chunk)) out += piece;
  return out;
}

// Feeds the stream in chunks of `step` bytes and returns what comes out.
std::string filter_in_steps(std::string_view stream, std::size_t step) {
  CapabilityFilter filter;
  std::string out;
  for (std::size_t i = 0; i < stream.size(); i += step) out += run_filter(filter, stream.substr(i, step));
  return out;
}

const std::string kDovecotCaps =
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT LITERAL+ NOTIFY METADATA SPECIAL-USE "
    "COMPRESS=DEFLATE QUOTA";
const std::string kFilteredCaps =
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT LITERAL+ NOTIFY METADATA SPECIAL-USE QUOTA";

}  // namespace

TEST_CASE("hidden capabilities") {
  CHECK(is_hidden_capability("COMPRESS=DEFLATE"));
  CHECK(is_hidden_capability("compress=deflate"));
  CHECK(is_hidden_capability("AUTH=SCRAM-SHA-256-PLUS"));
  CHECK(is_hidden_capability("UNAUTHENTICATE"));
  CHECK(is_hidden_capability("STARTTLS"));
  CHECK(is_hidden_capability("LOGINDISABLED"));
  CHECK_FALSE(is_hidden_capability("AUTH=SCRAM-SHA-256"));
  CHECK_FALSE(is_hidden_capability("AUTH=PLAIN"));
  CHECK_FALSE(is_hidden_capability("IDLE"));
  CHECK_FALSE(is_hidden_capability("LITERAL+"));
}

TEST_CASE("capability filter rewrites all three places") {
  SECTION("greeting code") {
    auto out = filter_capability_line("* OK [CAPABILITY " + kDovecotCaps + " STARTTLS] Dovecot ready.");
    REQUIRE(out);
    CHECK(*out == "* OK [CAPABILITY " + kFilteredCaps + "] Dovecot ready.");
  }
  SECTION("untagged CAPABILITY") {
    auto out = filter_capability_line("* CAPABILITY " + kDovecotCaps + " UNAUTHENTICATE");
    REQUIRE(out);
    CHECK(*out == "* CAPABILITY " + kFilteredCaps);
  }
  SECTION("tagged OK code") {
    auto out = filter_capability_line("a1 OK [CAPABILITY " + kDovecotCaps + "] Logged in");
    REQUIRE(out);
    CHECK(*out == "a1 OK [CAPABILITY " + kFilteredCaps + "] Logged in");
  }
  SECTION("nothing to hide leaves the line alone") {
    CHECK_FALSE(filter_capability_line("* CAPABILITY IMAP4rev1 IDLE"));
    CHECK_FALSE(filter_capability_line("a1 OK [READ-WRITE] Select completed."));
    CHECK_FALSE(filter_capability_line("* 1 FETCH (FLAGS (\\Seen))"));
  }
}

TEST_CASE("streaming filter: same output for every split") {
  const std::string stream =
      "* 1 FETCH (UID 7 BODY[] {40}\r\n* CAPABILITY COMPRESS=DEFLATE in body\r\n)\r\n"
      "* CAPABILITY IMAP4rev1 COMPRESS=DEFLATE IDLE\r\n"
      "a2 OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] done\r\n"
      "* 2 FETCH (BODY[] ~{3}\r\n\0\r\n)\r\n"
      "a3 OK done\r\n";
  const std::string expected =
      "* 1 FETCH (UID 7 BODY[] {40}\r\n* CAPABILITY COMPRESS=DEFLATE in body\r\n)\r\n"
      "* CAPABILITY IMAP4rev1 IDLE\r\n"
      "a2 OK [CAPABILITY IMAP4rev1] done\r\n"
      "* 2 FETCH (BODY[] ~{3}\r\n\0\r\n)\r\n"
      "a3 OK done\r\n";
  for (std::size_t step = 1; step <= stream.size(); ++step) {
    INFO("step " << step);
    CHECK(filter_in_steps(stream, step) == expected);
  }
}

TEST_CASE("streaming filter: literal data is never rewritten") {
  // The literal holds text that looks like a capability response.
  const std::string body = "* CAPABILITY COMPRESS=DEFLATE\r\na OK [CAPABILITY STARTTLS] x\r\n";
  const std::string stream = "* 3 FETCH (BODY[] {" + std::to_string(body.size()) + "}\r\n" + body + ")\r\n";
  CHECK(filter_in_steps(stream, stream.size()) == stream);
  CHECK(filter_in_steps(stream, 1) == stream);
}

TEST_CASE("streaming filter: unchanged chunks pass as views of the input") {
  CapabilityFilter filter;
  const std::string chunk = "* 4 EXISTS\r\n* 1 RECENT\r\nb OK done\r\n";
  const auto& pieces = filter.filter(chunk);
  REQUIRE(pieces.size() == 1);
  CHECK(pieces[0].data() == chunk.data());
  CHECK(pieces[0].size() == chunk.size());
}

TEST_CASE("streaming filter: an over-long candidate line is released unchanged") {
  CapabilityFilter filter(64);
  std::string line = "* CAPABILITY " + std::string(200, 'X') + " COMPRESS=DEFLATE\r\n";
  CHECK(run_filter(filter, line) == line);
  CHECK(run_filter(filter, "* CAPABILITY COMPRESS=DEFLATE IDLE\r\n") == "* CAPABILITY IDLE\r\n");
}

TEST_CASE("streaming filter: hostile input") {
  CapabilityFilter filter;
  std::string garbage(1 << 20, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 7919) % 251);
  std::string out = run_filter(filter, garbage);
  CHECK(out.size() == garbage.size());
  // A huge announced literal just passes through.
  CapabilityFilter huge;
  const std::string announce = "* 1 FETCH (BODY[] {99999999999}\r\n";
  CHECK(run_filter(huge, announce + "abc") == announce + "abc");
  // A size beyond 64 bits is no literal at all; lines continue.
  CapabilityFilter overflow;
  const std::string bad = "* 1 FETCH (BODY[] {999999999999999999999999}\r\n* CAPABILITY STARTTLS\r\n";
  CHECK(run_filter(overflow, bad) == "* 1 FETCH (BODY[] {999999999999999999999999}\r\n* CAPABILITY\r\n");
}
