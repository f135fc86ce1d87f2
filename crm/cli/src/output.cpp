#include "output.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace lodestone::crm::cli {
namespace {

// Code points, which is what a terminal mostly draws one column for.
std::size_t display_width(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

// The first `width` code points of `text`, with "…" when cut.
std::string cut(const std::string& text, std::size_t width) {
  if (display_width(text) <= width) return text;
  if (width == 0) return {};
  std::size_t points = 0, i = 0;
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80 && ++points == width) break;
  }
  return text.substr(0, i) + "…";
}

std::size_t terminal_columns() {
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 0;
}

// Control characters in stored text (a hostile subject, say) must not reach
// the terminal: they could move the cursor or change its title.
std::string printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  return out;
}

}  // namespace

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }
bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

void TextTable::print(std::ostream& out) const {
  std::vector<std::size_t> widths(headers_.size());
  for (std::size_t c = 0; c < headers_.size(); ++c) widths[c] = display_width(headers_[c]);
  for (const auto& row : rows_)
    for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c)
      widths[c] = std::max(widths[c], display_width(printable(row[c])));
  // On a terminal the last column gets what is left of the line.
  std::size_t last_width = widths.back();
  if (const std::size_t columns = stdout_is_terminal() ? terminal_columns() : 0; columns > 0) {
    std::size_t used = 0;
    for (std::size_t c = 0; c + 1 < widths.size(); ++c) used += widths[c] + 2;
    last_width = columns > used + 10 ? columns - used : 10;
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < widths.size(); ++c) {
      const std::string cell = c < cells.size() ? printable(cells[c]) : std::string();
      if (c + 1 == widths.size()) {
        text += cut(cell, last_width);
      } else {
        text += cell;
        text.append(widths[c] - display_width(cell) + 2, ' ');
      }
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << '\n';
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
}

void Details::print(std::ostream& out) const {
  std::size_t width = 0;
  for (const auto& [key, value] : lines_) width = std::max(width, display_width(key));
  for (const auto& [key, value] : lines_)
    out << key << ':' << std::string(width - display_width(key) + 1, ' ') << printable(value) << '\n';
}

std::string format_date(std::int64_t epoch_seconds) {
  if (epoch_seconds == 0) return "-";
  const std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return std::to_string(epoch_seconds);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &tm);
  return text;
}

std::string format_iso_date(std::int64_t epoch_seconds) {
  const std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return std::to_string(epoch_seconds);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::optional<std::int64_t> parse_date(std::string_view text) {
  std::int64_t number = 0;
  if (auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      ec == std::errc{} && end == text.data() + text.size())
    return number;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  char separator = 0;
  const std::string copy(text);
  const int fields = std::sscanf(copy.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &year, &month, &day, &separator, &hour,
                                 &minute, &second);
  if (fields != 3 && fields < 6) return std::nullopt;
  if (fields > 3 && separator != 'T' && separator != ' ') return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string thousands(std::uint64_t value) {
  std::string digits = std::to_string(value);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), ",");
  return digits;
}

std::string format_amount(std::int64_t minor_units) {
  const bool negative = minor_units < 0;
  const std::uint64_t magnitude =
      negative ? static_cast<std::uint64_t>(-(minor_units + 1)) + 1 : static_cast<std::uint64_t>(minor_units);
  const std::uint64_t cents = magnitude % 100;
  return (negative ? "-" : "") + thousands(magnitude / 100) + "." + (cents < 10 ? "0" : "") + std::to_string(cents);
}

std::optional<std::int64_t> parse_amount(std::string_view text) {
  std::string digits;
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  const auto point = text.find('.');
  std::string_view whole = text.substr(0, point);
  std::string_view fraction = point == std::string_view::npos ? std::string_view{} : text.substr(point + 1);
  if (whole.empty() || fraction.size() > 2) return std::nullopt;
  for (char c : whole) {
    if (c == ',') continue;
    if (c < '0' || c > '9') return std::nullopt;
    digits.push_back(c);
  }
  for (char c : fraction)
    if (c < '0' || c > '9') return std::nullopt;
  digits += std::string(fraction) + std::string(2 - fraction.size(), '0');
  if (digits.size() > 17) return std::nullopt;  // fits an int64 with room to spare
  const std::int64_t value = std::stoll(digits);
  return negative ? -value : value;
}

Progress::Progress(std::string what, std::uint64_t total_bytes)
    : what_(std::move(what)),
      total_(total_bytes),
      terminal_(stderr_is_terminal()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::advance(std::uint64_t bytes, std::uint64_t messages) {
  done_ += bytes;
  messages_ += messages;
  if (!terminal_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw();
}

void Progress::draw() {
  constexpr int width = 30;
  const double fraction = total_ ? std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_)) : 0.0;
  const int filled = static_cast<int>(fraction * width);
  const double seconds = elapsed_seconds();
  const double rate = seconds > 0 ? static_cast<double>(messages_) / seconds : 0.0;
  std::fprintf(stderr, "\r%s [%.*s%*s] %3d%%  %s messages  %.0f msg/s ", what_.c_str(), filled,
               "##############################", width - filled, "", static_cast<int>(fraction * 100),
               thousands(messages_).c_str(), rate);
  std::fflush(stderr);
}

void Progress::finish() {
  if (!terminal_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

}  // namespace lodestone::crm::cli
