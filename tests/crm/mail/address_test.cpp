// RFC 5322 address lists as mail really writes them.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "address.hpp"

namespace {

using lodestone::mail::Address;
using lodestone::mail::parse_address_list;

using List = std::vector<Address>;

TEST_CASE("Bare addresses and name-addr") {
  CHECK(parse_address_list("john@example.com") == List{{"", "john@example.com"}});
  CHECK(parse_address_list("John Doe <John.Doe@Example.COM>") == List{{"John Doe", "John.Doe@example.com"}});
  CHECK(parse_address_list("<only@example.com>") == List{{"", "only@example.com"}});
  CHECK(parse_address_list("Paul smith<hdtrade@dreamwiz.com>") == List{{"Paul smith", "hdtrade@dreamwiz.com"}});
}

TEST_CASE("Quoted names hold commas and escapes") {
  CHECK(parse_address_list("\"Doe, John\" <j@x.org>, jane@y.org") ==
        List{{"Doe, John", "j@x.org"}, {"", "jane@y.org"}});
  CHECK(parse_address_list("\"The \\\"Boss\\\"\" <b@x.org>") == List{{"The \"Boss\"", "b@x.org"}});
}

TEST_CASE("A comment names a mailbox that has no phrase") {
  CHECK(parse_address_list("jdoe@x.org (John Doe)") == List{{"John Doe", "jdoe@x.org"}});
  CHECK(parse_address_list("a@x.org (a (nested) \\) comment)") == List{{"a (nested) ) comment", "a@x.org"}});
  CHECK(parse_address_list("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>") ==
        List{{"Pete", "pete@silly.test"}});
}

TEST_CASE("Groups are flattened and empty groups give nothing") {
  CHECK(parse_address_list("Team: a@x.org, B <b@y.org>;, c@z.org") ==
        List{{"", "a@x.org"}, {"B", "b@y.org"}, {"", "c@z.org"}});
  CHECK(parse_address_list("undisclosed-recipients:;").empty());
  CHECK(parse_address_list("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;") ==
        List{{"Ed Jones", "c@a.test"}, {"", "joe@where.test"}, {"John", "jdoe@one.test"}});
}

TEST_CASE("Display names are decoded, also inside quotes") {
  CHECK(parse_address_list("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>") ==
        List{{"André Pirard", "PIRARD@vm1.ulg.ac.be"}});
  CHECK(parse_address_list("\"=?utf-8?B?5byg5LiJ?=\" <zhang@x.cn>") == List{{"张三", "zhang@x.cn"}});
  CHECK(parse_address_list("Andr\xE9 <a@x.org>") == List{{"André", "a@x.org"}});
  CHECK(parse_address_list("'John Smith' <js@x.org>") == List{{"John Smith", "js@x.org"}});
  CHECK(parse_address_list("John Q. Public <jqp@x.org>") == List{{"John Q. Public", "jqp@x.org"}});
}

TEST_CASE("Obsolete and unusual address forms") {
  CHECK(parse_address_list("<@relay.example,@other.example:user@Host.Example>") ==
        List{{"", "user@host.example"}});
  CHECK(parse_address_list("user@[192.0.2.1]") == List{{"", "user@[192.0.2.1]"}});
  CHECK(parse_address_list("\"john smith\"@example.com") == List{{"", "\"john smith\"@example.com"}});
  CHECK(parse_address_list("postmaster") == List{{"", "postmaster"}});
  CHECK(parse_address_list("John Smith john@x.org") == List{{"John Smith", "john@x.org"}});
  CHECK(parse_address_list("a@x.org <a@x.org>") == List{{"a@x.org", "a@x.org"}});
}

TEST_CASE("Broken lists keep what can be read") {
  CHECK(parse_address_list("A <a@x.org, b@y.org") == List{{"A", "a@x.org"}, {"", "b@y.org"}});
  CHECK(parse_address_list("").empty());
  CHECK(parse_address_list(",,,").empty());
  CHECK(parse_address_list("<>").empty());
  CHECK(parse_address_list("\"\" <>").empty());
  CHECK(parse_address_list("John Smith").empty());
  CHECK(parse_address_list("\"unterminated <a@x.org>").empty());
  CHECK(parse_address_list("a@x.org (unterminated comment") == List{{"unterminated comment", "a@x.org"}});
}

TEST_CASE("Huge and hostile lists stay linear") {
  std::string many;
  for (int i = 0; i < 100'000; ++i) many += "Person " + std::to_string(i) + " <p" + std::to_string(i) + "@x.org>, ";
  const auto list = parse_address_list(many);
  REQUIRE(list.size() == 100'000);
  CHECK(list.back() == Address{"Person 99999", "p99999@x.org"});
  CHECK(parse_address_list(std::string(2'000'000, '(')).empty());
  CHECK(parse_address_list(std::string(2'000'000, '<')).empty());
  CHECK(parse_address_list(std::string(2'000'000, '"')).empty());
  CHECK(parse_address_list(std::string(2'000'000, ':')).empty());
}

}  // namespace
