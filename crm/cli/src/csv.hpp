// CSV as RFC 4180 writes it (and spreadsheets export it): comma-separated,
// fields optionally in double quotes with "" for a quote inside, CRLF or LF
// line ends, an optional UTF-8 byte order mark. Pure: text in, rows out.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lodestone::crm::cli {

struct CsvLimits {
  std::size_t max_field_bytes = 64 * 1024;
  std::size_t max_fields = 256;  // per row
};

class CsvError : public std::runtime_error {
 public:
  CsvError(std::size_t line, const std::string& problem)
      : std::runtime_error("line " + std::to_string(line) + ": " + problem), line_(line) {}
  std::size_t line() const noexcept { return line_; }

 private:
  std::size_t line_;
};

struct CsvRow {
  std::size_t line = 0;  // where the row starts, 1-based
  std::vector<std::string> fields;
};

// Every non-empty row. CsvError (with the line) for a quote left open, text
// after a closing quote, a NUL byte, or a field or row over the limits.
std::vector<CsvRow> parse_csv(std::string_view text, const CsvLimits& limits = {});

}  // namespace lodestone::crm::cli
