// Turning bytes in any declared charset into valid UTF-8.
//
// Choices (see crm/mail/README.md):
// - Text that declares no charset, or us-ascii (which 8-bit mail routinely
//   violates), is kept as it is when it is valid UTF-8 and otherwise read as
//   Windows-1252, the charset such mail almost always turns out to be in.
// - ISO-8859-1 is read as its superset Windows-1252, as browsers do, and a few
//   other labels map to the supersets mailers really meant (gb2312 → GB18030,
//   ks_c_5601-1987 → CP949, shift_jis → CP932, …).
// - A charset iconv does not know is read as Windows-1252 and reported.
// - Invalid bytes become U+FFFD; conversion never fails.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "lodestone/mail.hpp"

namespace lodestone::mail {

// Appends `bytes`, read in `charset` (a MIME label, any case, possibly
// quoted or carrying an RFC 2231 "*language" suffix), to `out` as UTF-8.
void append_utf8(std::string& out, std::string_view bytes, std::string_view charset,
                 Warnings* warnings = nullptr);

inline std::string to_utf8(std::string_view bytes, std::string_view charset,
                           Warnings* warnings = nullptr) {
  std::string out;
  append_utf8(out, bytes, charset, warnings);
  return out;
}

// The label two spellings of one charset share ("UTF8" and "utf-8" both give
// "utf-8"), so runs of RFC 2047 words can be joined when their charsets agree.
std::string canonical_charset(std::string_view label);

void append_code_point(std::string& out, char32_t code_point);

// Length of the longest prefix of `s` that is valid UTF-8.
std::size_t valid_utf8_prefix(std::string_view s);

// Shortens `s` to at most `max_bytes` without splitting a UTF-8 sequence.
void truncate_utf8(std::string& s, std::size_t max_bytes);

}  // namespace lodestone::mail
