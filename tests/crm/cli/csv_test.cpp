// The CSV reader behind `lodestone crm contacts import-csv`.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "csv.hpp"

using namespace lodestone::crm::cli;
using Catch::Contains;

namespace {

std::vector<std::vector<std::string>> fields(const std::vector<CsvRow>& rows) {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : rows) out.push_back(r.fields);
  return out;
}

}  // namespace

TEST_CASE("plain, quoted and escaped fields with CRLF or LF line ends") {
  const auto rows = parse_csv("\xef\xbb\xbfname,email\r\n\"Ortiz, Dana\",dana@acme.example\n\"say \"\"hi\"\"\",\n");
  CHECK(fields(rows) == std::vector<std::vector<std::string>>{
                           {"name", "email"}, {"Ortiz, Dana", "dana@acme.example"}, {"say \"hi\"", ""}});
  CHECK(rows[2].line == 3);
}

TEST_CASE("line breaks inside quotes, blank lines, a last line without end") {
  const auto rows = parse_csv("a,b\n\n\"two\nlines\",x\n\nlast,\"\"");
  REQUIRE(rows.size() == 3);
  CHECK(rows[1].fields == std::vector<std::string>{"two\nlines", "x"});
  CHECK(rows[1].line == 3);
  CHECK(rows[2].line == 6);
  CHECK(rows[2].fields == std::vector<std::string>{"last", ""});
}

TEST_CASE("broken CSV is refused with the line") {
  CHECK_THROWS_WITH(parse_csv("a\n\"open,x\ny\n"), Contains("line 2: a quoted field that never ends"));
  CHECK_THROWS_WITH(parse_csv("a\n\"x\"y\n"), Contains("line 2: text after a closing quote"));
  CHECK_THROWS_WITH(parse_csv(std::string("a\nb\0c\n", 6)), Contains("line 2: a NUL byte"));
  CHECK_THROWS_WITH(parse_csv(std::string(70'000, 'x')), Contains("longer than 65536"));
  CHECK_THROWS_WITH(parse_csv(std::string(300, ',')), Contains("more than 256 fields"));
}

TEST_CASE("every file of the hostile CSV corpus is read or refused, never more") {
  const std::filesystem::path corpus = std::filesystem::path(LODESTONE_SOURCE_DIR) / "tests/corpus/csv";
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    if (entry.path().extension() != ".csv") continue;
    ++files;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    INFO(entry.path().string());
    try {
      for (const auto& row : parse_csv(text.str())) CHECK(row.fields.size() <= CsvLimits{}.max_fields);
    } catch (const CsvError& e) {
      CHECK(e.line() >= 1);
    }
  }
  CHECK(files >= 5);
}
