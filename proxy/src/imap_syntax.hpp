// Small pieces of IMAP syntax shared by the pre-auth parser and the
// capability filter.  Pure functions over byte views.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace lodestone::imap {

struct LiteralMarker {
  std::uint64_t size = 0;
  bool synchronizing = true;  // {n}: the sender waits for "+" first
  bool binary = false;        // ~{n}
  std::size_t marker_length = 0;  // bytes of "~{n+}" at the end of the line
};

// The literal announced at the end of `line` (CR LF already removed):
// "{n}", "{n+}", "~{n}" or "~{n+}".  nullopt when the line announces none, or
// when the size does not fit in 64 bits.
std::optional<LiteralMarker> trailing_literal(std::string_view line);

// ASCII case-insensitive comparison; IMAP keywords are ASCII.
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view text, std::string_view prefix);

}  // namespace lodestone::imap
