// Formatting and parsing of what `lodestone crm` prints and reads.
#include <catch2/catch.hpp>

#include <sstream>

#include "output.hpp"

using namespace lodestone::crm::cli;

TEST_CASE("tables are aligned by code points and control characters are blanked") {
  TextTable table({"ID", "NAME"});
  table.add({"1", "Zoë"});
  table.add({"22", "evil\x1b]0;title\x07"});
  std::ostringstream out;
  table.print(out);
  CHECK(out.str() == "ID  NAME\n1   Zoë\n22  evil ]0;title\n");
}

TEST_CASE("dates print in UTC and parse in the forms the commands accept") {
  CHECK(format_date(1772528400) == "2026-03-03 09:00");
  CHECK(format_date(0) == "-");
  CHECK(format_iso_date(1772528400) == "2026-03-03T09:00:00Z");
  CHECK(parse_date("2026-03-03") == 1772496000);
  CHECK(parse_date("2026-03-03T09:00") == 1772528400);
  CHECK(parse_date("2026-03-03T09:00:00") == 1772528400);
  CHECK(parse_date("2026-03-03 09:00:00") == 1772528400);
  CHECK(parse_date("1772528400") == 1772528400);
  CHECK_FALSE(parse_date("03/03/2026"));
  CHECK_FALSE(parse_date("2026-13-01"));
  CHECK_FALSE(parse_date(""));
}

TEST_CASE("amounts are exact in minor units") {
  CHECK(parse_amount("4800") == 480000);
  CHECK(parse_amount("4,800.5") == 480050);
  CHECK(parse_amount("-0.05") == -5);
  CHECK_FALSE(parse_amount("1.234"));
  CHECK_FALSE(parse_amount("12a"));
  CHECK_FALSE(parse_amount(""));
  CHECK_FALSE(parse_amount("99999999999999999999"));
  CHECK(format_amount(480050) == "4,800.50");
  CHECK(format_amount(-5) == "-0.05");
  CHECK(format_amount(INT64_MIN) == "-92,233,720,368,547,758.08");
  CHECK(thousands(1234567) == "1,234,567");
}
