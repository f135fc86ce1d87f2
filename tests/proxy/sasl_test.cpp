#include <catch2/catch.hpp>

#include <vector>

#include "sasl.hpp"

using namespace lodestone::sasl;

TEST_CASE("base64 round trip and strictness") {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto decoded = base64_decode(base64_encode(s));
    REQUIRE(decoded);
    CHECK(*decoded == s);
  }
  CHECK(base64_encode("alice") == "YWxpY2U=");
  CHECK_FALSE(base64_decode("YWxpY2U"));
  CHECK_FALSE(base64_decode("YW=pY2U="));
  CHECK_FALSE(base64_decode("YWxp\nY2U="));
  CHECK_FALSE(base64_decode("****"));
}

TEST_CASE("PLAIN") {
  auto c = parse_plain(std::string("\0alice\0alicepw", 14));
  REQUIRE(c);
  CHECK(c->authzid.empty());
  CHECK(c->authcid == "alice");
  CHECK(c->password == "alicepw");
  CHECK(make_plain(*c) == std::string("\0alice\0alicepw", 14));
  CHECK_FALSE(parse_plain("alice"));
  CHECK_FALSE(parse_plain(std::string("\0\0pw", 4)));
  CHECK_FALSE(parse_plain(std::string("\0a\0p\0w", 6)));
}

TEST_CASE("OAuth users") {
  CHECK(xoauth2_user("user=alice@acme.example\x01" "auth=Bearer tok\x01\x01") == "alice@acme.example");
  CHECK_FALSE(xoauth2_user("auth=Bearer tok\x01\x01"));
  CHECK_FALSE(xoauth2_user("user=\x01"));
  CHECK(oauthbearer_user("n,a=bob@acme.example,\x01host=x\x01" "auth=Bearer t\x01\x01") == "bob@acme.example");
  CHECK(oauthbearer_user("n,a=we=2Cird=3Dname,\x01") == "we,ird=name");
  CHECK_FALSE(oauthbearer_user("n,,\x01" "auth=Bearer t\x01\x01"));
  CHECK_FALSE(oauthbearer_user("n,a=bad=escape,"));
  CHECK_FALSE(oauthbearer_user("garbage"));
}
