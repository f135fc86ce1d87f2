#include "imap_syntax.hpp"

namespace lodestone::imap {

namespace {
char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

std::optional<LiteralMarker> trailing_literal(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  std::size_t end = line.size() - 1;  // index of '}'
  LiteralMarker marker;
  if (end > 0 && line[end - 1] == '+') {
    marker.synchronizing = false;
    --end;
  }
  std::size_t digits_begin = end;
  while (digits_begin > 0 && line[digits_begin - 1] >= '0' && line[digits_begin - 1] <= '9') {
    --digits_begin;
  }
  if (digits_begin == end || digits_begin == 0 || line[digits_begin - 1] != '{') return std::nullopt;
  std::uint64_t size = 0;
  for (std::size_t i = digits_begin; i < end; ++i) {
    const std::uint64_t digit = static_cast<std::uint64_t>(line[i] - '0');
    if (size > (UINT64_MAX - digit) / 10) return std::nullopt;
    size = size * 10 + digit;
  }
  marker.size = size;
  std::size_t open = digits_begin - 1;
  if (open > 0 && line[open - 1] == '~') {
    marker.binary = true;
    --open;
  }
  marker.marker_length = line.size() - open;
  return marker;
}

}  // namespace lodestone::imap
