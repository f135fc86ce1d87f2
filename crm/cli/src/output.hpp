// How `lodestone crm` prints: aligned tables for people, JSON for scripts,
// dates, and a progress bar for long work.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lodestone::crm::cli {

// Whether standard output / standard error is a terminal.
bool stdout_is_terminal();
bool stderr_is_terminal();

// Columns padded to their widest cell (counted in code points). On a
// terminal, the last column is cut to fit the width of the window.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "key: value" lines with the keys aligned, for `show` commands.
class Details {
 public:
  void add(std::string key, std::string value) { lines_.emplace_back(std::move(key), std::move(value)); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::pair<std::string, std::string>> lines_;
};

// "2026-03-02 10:00" in UTC; "-" for 0.
std::string format_date(std::int64_t epoch_seconds);
// "2026-03-02T10:00:00Z".
std::string format_iso_date(std::int64_t epoch_seconds);
// Accepts "2026-03-02", "2026-03-02T10:00", "2026-03-02 10:00:00" (UTC) or
// epoch seconds; nothing when it is neither.
std::optional<std::int64_t> parse_date(std::string_view text);
// "1,234,567".
std::string thousands(std::uint64_t value);
// "4,800.00" from minor units.
std::string format_amount(std::int64_t minor_units);
// "4800", "4800.5", "4,800.50" to minor units; nothing when it is not a number.
std::optional<std::int64_t> parse_amount(std::string_view text);

// On a terminal: a bar redrawn at most ten times a second on standard
// error. Elsewhere: nothing until finish(), which prints one summary line.
class Progress {
 public:
  Progress(std::string what, std::uint64_t total_bytes);
  void advance(std::uint64_t bytes, std::uint64_t messages);
  // Clears the bar; the caller prints its summary.
  void finish();
  double elapsed_seconds() const;

 private:
  void draw();

  std::string what_;
  std::uint64_t total_ = 0, done_ = 0, messages_ = 0;
  bool terminal_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace lodestone::crm::cli
