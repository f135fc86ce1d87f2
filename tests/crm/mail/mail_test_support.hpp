// Helpers the mail parser's tests share.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "lodestone/mail.hpp"

namespace lodestone::mail::test {

// Decodes each code point and checks it, independently of the parser's own
// validator, so the "always valid UTF-8" promise is not checked by the code
// that makes it.
inline bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t length;
    std::uint32_t cp;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      cp = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > s.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    const std::uint32_t smallest = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (cp < smallest || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

// Every string in the summary is valid UTF-8.
inline bool is_valid_utf8(const MessageSummary& s) {
  const auto addresses_ok = [](const std::vector<Address>& list) {
    for (const auto& a : list) {
      if (!is_valid_utf8(a.name) || !is_valid_utf8(a.address)) return false;
    }
    return true;
  };
  const auto strings_ok = [](const std::vector<std::string>& list) {
    for (const auto& item : list) {
      if (!is_valid_utf8(item)) return false;
    }
    return true;
  };
  if (!is_valid_utf8(s.message_id) || !is_valid_utf8(s.in_reply_to) || !strings_ok(s.references) ||
      !is_valid_utf8(s.subject) || !is_valid_utf8(s.list_id) || !is_valid_utf8(s.list_unsubscribe) ||
      !is_valid_utf8(s.precedence) || !is_valid_utf8(s.auto_submitted) || !is_valid_utf8(s.text))
    return false;
  for (const auto* list : {&s.from, &s.sender, &s.reply_to, &s.to, &s.cc, &s.bcc}) {
    if (!addresses_ok(*list)) return false;
  }
  for (const auto& a : s.attachments) {
    if (!is_valid_utf8(a.file_name) || !is_valid_utf8(a.media_type)) return false;
  }
  for (const auto& card : s.vcards) {
    if (!is_valid_utf8(card.name) || !is_valid_utf8(card.organisation) || !strings_ok(card.emails) ||
        !strings_ok(card.phones))
      return false;
  }
  return true;
}

inline std::filesystem::path source_path(std::string_view relative) {
  return std::filesystem::path(LODESTONE_SOURCE_DIR) / relative;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace lodestone::mail::test
