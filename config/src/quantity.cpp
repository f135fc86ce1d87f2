#include "quantity.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace lodestone::config {
namespace {

using std::chrono::milliseconds;

struct Unit {
  std::string_view suffix;
  std::uint64_t scale;
};

// Largest first, so formatting can pick the first exact one.
constexpr std::array kDurationUnits{
    Unit{"h", 3'600'000}, Unit{"m", 60'000}, Unit{"s", 1'000}, Unit{"ms", 1}};
constexpr std::array kSizeUnits{
    Unit{"GiB", 1ULL << 30}, Unit{"MiB", 1ULL << 20}, Unit{"KiB", 1ULL << 10}};

// Far beyond any memory or message size, and far from overflowing.
constexpr std::uint64_t kMaxSize = 1ULL << 40;

// Timeouts end up added to clock readings in nanoseconds; a week is far
// beyond any sensible timeout and far from overflowing.
constexpr std::uint64_t kMaxDurationMs = 7ULL * 24 * 3'600'000;

constexpr std::string_view kDurationHint =
    "write a whole number with ms, s, m or h, e.g. 500ms, 60s, 31m, 2h (a plain number means seconds)";
constexpr std::string_view kSizeHint =
    "write a whole number with KiB, MiB or GiB (multiples of 1024), e.g. 64KiB, 50MiB, or plain bytes";

// Splits "31m" into 31 and "m"; nullopt when there are no leading digits.
// A number too big for 64 bits becomes the largest one, which every range
// check then rejects as too large rather than as malformed.
std::optional<std::pair<std::uint64_t, std::string_view>> split_number(std::string_view text) {
  std::uint64_t number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error == std::errc::result_out_of_range) number = UINT64_MAX;
  else if (error != std::errc{}) return std::nullopt;
  return std::pair{number, text.substr(static_cast<std::size_t>(end - text.data()))};
}

template <class T>
Parsed<T> failure(std::string problem, std::string_view hint) {
  return {std::nullopt, std::move(problem), std::string(hint)};
}

}  // namespace

std::optional<std::uint64_t> parse_count(std::string_view text) {
  auto split = split_number(text);
  if (!split || !split->second.empty()) return std::nullopt;
  return split->first;
}

Parsed<milliseconds> parse_duration(std::string_view text) {
  auto split = split_number(text);
  if (!split) return failure<milliseconds>("not a duration", kDurationHint);
  auto [number, suffix] = *split;
  std::uint64_t scale = 1'000;  // a bare number is seconds
  if (!suffix.empty()) {
    scale = 0;
    for (const Unit& unit : kDurationUnits)
      if (suffix == unit.suffix) scale = unit.scale;
    if (scale == 0) return failure<milliseconds>("unknown duration unit", kDurationHint);
  }
  if (number > kMaxDurationMs / scale)
    return failure<milliseconds>("duration too long", "the longest accepted duration is 168h");
  return {milliseconds(static_cast<milliseconds::rep>(number * scale)), {}, {}};
}

Parsed<std::uint64_t> parse_size(std::string_view text) {
  auto split = split_number(text);
  if (!split) return failure<std::uint64_t>("not a size", kSizeHint);
  auto [number, suffix] = *split;
  std::uint64_t scale = 1;
  if (!suffix.empty()) {
    scale = 0;
    for (const Unit& unit : kSizeUnits)
      if (suffix == unit.suffix) scale = unit.scale;
    if (scale == 0) return failure<std::uint64_t>("unknown size unit", kSizeHint);
  }
  if (number > kMaxSize / scale)
    return failure<std::uint64_t>("size too large", "the largest accepted size is 1024GiB");
  return {number * scale, {}, {}};
}

std::string format_duration(milliseconds duration) {
  const auto ms = static_cast<std::uint64_t>(duration.count());
  // One minute or one hour reads better as 60s or 60m, the way admins
  // usually write timeouts.
  auto reads_well = [ms](const Unit& unit) {
    return ms % unit.scale == 0 && (unit.scale <= 1'000 || ms / unit.scale >= 2);
  };
  // Milliseconds, the last unit, always fit.
  const Unit& unit = *std::find_if(kDurationUnits.begin(), kDurationUnits.end() - 1, reads_well);
  return std::to_string(ms / unit.scale) + std::string(unit.suffix);
}

std::string format_size(std::uint64_t bytes) {
  for (const Unit& unit : kSizeUnits)
    if (bytes != 0 && bytes % unit.scale == 0)
      return std::to_string(bytes / unit.scale) + std::string(unit.suffix);
  return std::to_string(bytes);
}

}  // namespace lodestone::config
