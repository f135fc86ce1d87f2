// RFC 5322 dates to UTC epoch seconds.

#include <catch2/catch.hpp>

#include <string>

#include "date.hpp"

namespace {

using lodestone::mail::parse_date;

TEST_CASE("RFC 5322 dates with numeric zones") {
  CHECK(parse_date("Thu, 22 Aug 2002 12:36:23 +0100") == 1030016183);
  CHECK(parse_date("Thu, 22 Aug 2002 12:36:23 +0100 (IST)") == 1030016183);
  CHECK(parse_date("Thu, 22 Aug 2002 18:26:25 +0700") == 1030015585);
  CHECK(parse_date("Wed, 1 Jan 1997 00:00:00 -0000") == 852076800);
  CHECK(parse_date("22 Aug 2002 12:36:23 +01:00") == 1030016183);
  CHECK(parse_date("Sat, 1 Jan 2000 10:20 +0000") == 946722000);  // no seconds
}

TEST_CASE("Named and unknown zones") {
  CHECK(parse_date("22 Aug 02 12:36:23 EDT") == 1030034183);
  CHECK(parse_date("Thu, 22 Aug 2002 12:36:23 GMT") == 1030019783);
  CHECK(parse_date("Thu, 22 Aug 2002 12:36:23 UT") == 1030019783);
  // Military letters and names RFC 5322 does not define count as UTC.
  CHECK(parse_date("Thu, 22 Aug 2002 12:36:23 Z") == 1030019783);
  CHECK(parse_date("Thu, 22 Aug 2002 12:36:23 A") == 1030019783);
  CHECK(parse_date("Thu, 22 Aug 2002 12:36:23 CEST") == 1030019783);
  CHECK(parse_date("Thu, 22 Aug 2002 12:36:23") == 1030019783);  // no zone
}

TEST_CASE("Obsolete years, spacing and orders") {
  CHECK(parse_date("1 Jan 49 12:00:00 +0000") == 2493115200);   // 2049
  CHECK(parse_date("1 Jan 50 12:00:00 +0000") == -631108800);   // 1950
  CHECK(parse_date("Thu, 22 Aug 102 12:36:23 GMT") == 1030019783);  // three digits: +1900
  CHECK(parse_date("  Thu ,22   Aug\r\n 2002   12:36:23   GMT ") == 1030019783);
  CHECK(parse_date("Thu Aug 22 12:36:23 2002") == 1030019783);  // asctime
  CHECK(parse_date("22-Aug-2002 12:36:23 +0000") == 1030019783);
  CHECK(parse_date("thursday, 22 august 2002 12:36:23 gmt") == 1030019783);
}

TEST_CASE("Edges of the calendar") {
  CHECK(parse_date("31 Dec 2016 23:59:60 +0000") == 1483228800);  // leap second
  CHECK(parse_date("1 Jan 1960 00:00:00 +0000") == -315619200);
  CHECK(parse_date("29 Feb 2000 00:00:00 +0000").has_value());
  CHECK_FALSE(parse_date("29 Feb 2001 00:00:00 +0000").has_value());
}

TEST_CASE("What is not a date") {
  CHECK_FALSE(parse_date("").has_value());
  CHECK_FALSE(parse_date("garbage").has_value());
  CHECK_FALSE(parse_date("31 Feb 2002 10:00:00 +0000").has_value());
  CHECK_FALSE(parse_date("1 Jan 2002 25:00:00 +0000").has_value());
  CHECK_FALSE(parse_date("1 Jan 2002 10:61:00 +0000").has_value());
  CHECK_FALSE(parse_date("1 Foo 2002 10:00:00 +0000").has_value());
  CHECK_FALSE(parse_date("1 Jan 2002").has_value());
  CHECK_FALSE(parse_date("2002/09/14 Sat 02:29:32 CDT").has_value());
  CHECK_FALSE(parse_date("1 Jan 99999 10:00:00").has_value());
  CHECK_FALSE(parse_date("999999999999999999999 Jan 2002 10:00:00").has_value());
}

TEST_CASE("Huge date fields stay linear") {
  std::string many;
  while (many.size() < 2'000'000) many += "1 ";
  CHECK_FALSE(parse_date(many).has_value());
  CHECK_FALSE(parse_date(std::string(2'000'000, '(')).has_value());
  CHECK_FALSE(parse_date(std::string(2'000'000, ':')).has_value());
}

}  // namespace
