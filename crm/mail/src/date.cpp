#include "date.hpp"

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "ascii.hpp"
#include "lexer.hpp"

namespace lodestone::mail {
namespace {

constexpr std::array<std::string_view, 12> months = {"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};

struct NamedZone {
  std::string_view name;
  int minutes;
};
constexpr std::array named_zones = {
    NamedZone{"ut", 0},         NamedZone{"utc", 0},        NamedZone{"gmt", 0},
    NamedZone{"z", 0},          NamedZone{"est", -5 * 60},  NamedZone{"edt", -4 * 60},
    NamedZone{"cst", -6 * 60},  NamedZone{"cdt", -5 * 60},  NamedZone{"mst", -7 * 60},
    NamedZone{"mdt", -6 * 60},  NamedZone{"pst", -8 * 60},  NamedZone{"pdt", -7 * 60},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

bool is_alpha_word(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

int to_int(std::string_view digits) {
  int n = 0;
  for (char c : digits) n = n * 10 + (c - '0');
  return n;
}

std::optional<int> month_of(std::string_view word) {
  if (word.size() < 3) return std::nullopt;
  for (std::size_t m = 0; m < months.size(); ++m) {
    if (iequals(word.substr(0, 3), months[m])) return static_cast<int>(m) + 1;
  }
  return std::nullopt;
}

// "HH:MM" or "HH:MM:SS" (a fraction after the seconds is ignored).
bool read_time(std::string_view word, int& hour, int& minute, int& second) {
  int parts[3] = {0, 0, 0};
  std::size_t count = 0, start = 0;
  for (std::size_t i = 0; i <= word.size(); ++i) {
    if (i < word.size() && word[i] != ':' && word[i] != '.') continue;
    const std::string_view part = word.substr(start, i - start);
    if (count < 3) {
      if (!all_digits(part) || part.size() > 2) return false;
      parts[count++] = to_int(part);
    }
    if (i < word.size() && word[i] == '.') break;
    start = i + 1;
  }
  if (count < 2) return false;
  hour = parts[0];
  minute = parts[1];
  second = parts[2];
  return hour <= 23 && minute <= 59 && second <= 60;
}

// "+hhmm" / "-hhmm" (also "+hh:mm").
std::optional<int> numeric_zone(std::string_view word) {
  if (word.size() < 2 || (word[0] != '+' && word[0] != '-')) return std::nullopt;
  std::string digits;
  for (char c : word.substr(1)) {
    if (c != ':') digits.push_back(c);
  }
  if (digits.size() != 4 || !all_digits(digits)) return std::nullopt;
  const int hours = to_int(std::string_view(digits).substr(0, 2));
  const int minutes = to_int(std::string_view(digits).substr(2, 2));
  if (hours > 23 || minutes > 59) return std::nullopt;
  const int offset = hours * 60 + minutes;
  return word[0] == '-' ? -offset : offset;
}

}  // namespace

std::optional<std::int64_t> parse_date(std::string_view raw) {
  // Words separated by blanks and commas, comments gone.
  const std::string text = strip_comments(raw);
  std::vector<std::string_view> words;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && !is_space(text[i]) && text[i] != ',') continue;
    if (i > start) words.push_back(std::string_view(text).substr(start, i - start));
    start = i + 1;
  }

  std::optional<int> month;
  std::vector<std::string_view> numbers;  // day and year, in the order written
  bool have_time = false;
  int hour = 0, minute = 0, second = 0;
  int zone_minutes = 0;
  for (const std::string_view word : words) {
    if (!have_time && word.find(':') != std::string_view::npos && is_digit(word.front())) {
      if (!read_time(word, hour, minute, second)) return std::nullopt;
      have_time = true;
    } else if (all_digits(word)) {
      numbers.push_back(word);
    } else if (auto zone = numeric_zone(word); zone && have_time) {
      zone_minutes = *zone;
    } else if (auto m = month_of(word); m && !month) {
      month = m;
    } else if (is_alpha_word(word) && have_time) {
      for (const auto& named : named_zones) {
        if (iequals(word, named.name)) zone_minutes = named.minutes;
      }
    } else if (word.find_first_of("0123456789") != std::string_view::npos && !is_alpha_word(word)) {
      // "22-Aug-2002" and similar: split on '-' and read the pieces.
      std::size_t piece_start = 0;
      for (std::size_t i = 0; i <= word.size(); ++i) {
        if (i < word.size() && word[i] != '-' && word[i] != '/') continue;
        const std::string_view piece = word.substr(piece_start, i - piece_start);
        if (all_digits(piece)) {
          numbers.push_back(piece);
        } else if (auto pm = month_of(piece); pm && !month) {
          month = pm;
        }
        piece_start = i + 1;
      }
    }
  }
  if (!month || !have_time || numbers.size() < 2) return std::nullopt;

  // RFC order is day then year; asctime's "Aug 22 12:36:23 2002" also gives
  // day then year.  A first number of three or more digits is a year.
  std::string_view day_text = numbers[0], year_text = numbers[1];
  if (day_text.size() > 2) std::swap(day_text, year_text);
  if (day_text.size() > 2 || year_text.size() > 4) return std::nullopt;
  const int day = to_int(day_text);
  int year = to_int(year_text);
  if (year_text.size() <= 2) {
    year += year < 50 ? 2000 : 1900;
  } else if (year_text.size() == 3) {
    year += 1900;
  }

  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(*month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  const std::int64_t day_count = std::chrono::sys_days{date}.time_since_epoch().count();
  return day_count * 86400 + hour * 3600 + minute * 60 + second - std::int64_t{zone_minutes} * 60;
}

}  // namespace lodestone::mail
