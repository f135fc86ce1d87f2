// Durations and sizes as admins write them in the config file.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lodestone::config {

// A value read from config text, or why the text is not one.
template <class T>
struct Parsed {
  std::optional<T> value;
  std::string problem;  // set when value is empty
  std::string hint;
};

// "500ms", "60s", "31m", "2h", or a plain number of seconds.
Parsed<std::chrono::milliseconds> parse_duration(std::string_view text);
// "64KiB", "50MiB", "1GiB", or a plain number of bytes.
Parsed<std::uint64_t> parse_size(std::string_view text);
// A plain decimal number with no sign or unit.
std::optional<std::uint64_t> parse_count(std::string_view text);

// The inverse of parse_duration / parse_size, in the largest exact unit.
std::string format_duration(std::chrono::milliseconds duration);
std::string format_size(std::uint64_t bytes);

}  // namespace lodestone::config
