#include "charset.hpp"

#include <iconv.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <vector>

#include "ascii.hpp"

namespace lodestone::mail {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

constexpr std::string_view windows_1252 = "WINDOWS-1252";

// Labels whose meaning differs from what iconv would make of them: text that
// may be anything (handled without iconv), and names mailers use for
// supersets of what they declare.
struct Alias {
  std::string_view label;
  std::string_view target;  // "" = unlabelled, "utf-8" = UTF-8, else an iconv name
};
constexpr std::array aliases = {
    Alias{"us-ascii", ""},          Alias{"ascii", ""},
    Alias{"ansi_x3.4-1968", ""},    Alias{"iso646-us", ""},
    Alias{"us", ""},                Alias{"default", ""},
    Alias{"default_charset", ""},   Alias{"unknown-8bit", ""},
    Alias{"x-unknown", ""},         Alias{"unknown", ""},
    Alias{"7bit", ""},              Alias{"8bit", ""},
    Alias{"utf-8", "utf-8"},        Alias{"utf8", "utf-8"},
    Alias{"unicode-1-1-utf-8", "utf-8"},
    Alias{"iso-8859-1", windows_1252}, Alias{"iso8859-1", windows_1252},
    Alias{"iso_8859-1", windows_1252}, Alias{"latin1", windows_1252},
    Alias{"latin-1", windows_1252},    Alias{"l1", windows_1252},
    Alias{"cp819", windows_1252},      Alias{"x-cp1252", windows_1252},
    Alias{"iso-8859-9", "WINDOWS-1254"}, Alias{"latin5", "WINDOWS-1254"},
    Alias{"tis-620", "WINDOWS-874"},   Alias{"iso-8859-11", "WINDOWS-874"},
    Alias{"iso-8859-8-i", "ISO-8859-8"},
    Alias{"gb2312", "GB18030"},        Alias{"gbk", "GB18030"},
    Alias{"x-gbk", "GB18030"},         Alias{"cp936", "GB18030"},
    Alias{"chinese", "GB18030"},       Alias{"csgb2312", "GB18030"},
    Alias{"big5", "BIG5-HKSCS"},       Alias{"x-x-big5", "BIG5-HKSCS"},
    Alias{"cn-big5", "BIG5-HKSCS"},    Alias{"chinesebig5", "BIG5-HKSCS"},
    Alias{"ks_c_5601-1987", "CP949"},  Alias{"ks_c_5601", "CP949"},
    Alias{"ksc5601", "CP949"},         Alias{"korean", "CP949"},
    Alias{"euc-kr", "CP949"},
    Alias{"shift_jis", "CP932"},       Alias{"shift-jis", "CP932"},
    Alias{"sjis", "CP932"},            Alias{"x-sjis", "CP932"},
    Alias{"ms_kanji", "CP932"},        Alias{"windows-31j", "CP932"},
    Alias{"x-mac-roman", "MACINTOSH"}, Alias{"mac", "MACINTOSH"},
};

char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// Only these characters reach iconv_open: glibc reads "//" suffixes as
// conversion options, and a label from a message must not choose those.
bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
         c == ':' || c == '+' || c == '(' || c == ')';
}

// Open conversion descriptors, kept per thread: iconv_open costs far more
// than converting a header, and one descriptor must not be shared by threads.
class IconvCache {
 public:
  IconvCache() = default;
  IconvCache(const IconvCache&) = delete;
  IconvCache& operator=(const IconvCache&) = delete;
  ~IconvCache() {
    for (auto& entry : entries_) {
      if (entry.cd != invalid()) iconv_close(entry.cd);
    }
  }

  static iconv_t invalid() { return reinterpret_cast<iconv_t>(-1); }

  // A descriptor converting `name` to UTF-8, or invalid() when iconv does not
  // know the name.  `owned` is set when the caller must close it (the cache is
  // full: a hostile message naming thousands of charsets must not grow it).
  iconv_t open(const std::string& name, bool& owned) {
    owned = false;
    for (auto& entry : entries_) {
      if (entry.name == name) return entry.cd;
    }
    iconv_t cd = iconv_open("UTF-8", name.c_str());
    if (entries_.size() < max_entries) {
      entries_.push_back({name, cd});
    } else {
      owned = cd != invalid();
    }
    return cd;
  }

 private:
  static constexpr std::size_t max_entries = 32;
  struct Entry {
    std::string name;
    iconv_t cd;
  };
  std::vector<Entry> entries_;
};

IconvCache& iconv_cache() {
  thread_local IconvCache cache;
  return cache;
}

// Byte length of the valid UTF-8 sequence at s[i]; 0 when it is invalid, with
// `consumed` set to how many bytes form the invalid maximal subpart (at least
// 1), so each broken sequence becomes exactly one U+FFFD.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::size_t& consumed) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  consumed = 1;
  if (lead < 0x80) return 1;
  std::size_t length;
  unsigned char low = 0x80, high = 0xBF;  // range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;       // no overlong forms
    if (lead == 0xED) high = 0x9F;      // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;       // no overlong forms
    if (lead == 0xF4) high = 0x8F;      // nothing above U+10FFFF
  } else {
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    if (i + k >= s.size()) return 0;
    const unsigned char c = byte(i + k);
    const unsigned char lo = k == 1 ? low : 0x80, hi = k == 1 ? high : 0xBF;
    if (c < lo || c > hi) return 0;
    consumed = k + 1;
  }
  return length;
}

void append_sanitised_utf8(std::string& out, std::string_view bytes, Warnings* warnings) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::size_t start = i;
    std::size_t consumed = 0, length = 0;
    while (i < bytes.size()) {
      if (static_cast<unsigned char>(bytes[i]) < 0x80) {
        ++i;
        continue;
      }
      if ((length = utf8_sequence(bytes, i, consumed)) == 0) break;
      i += length;
    }
    out.append(bytes.substr(start, i - start));
    if (i < bytes.size()) {
      out.append(replacement);
      if (warnings) warnings->add(Warning::invalid_charset_bytes);
      i += consumed;
    }
  }
}

// Converts with iconv; false when iconv does not know `name`.
bool append_with_iconv(std::string& out, std::string_view bytes, const std::string& name,
                       Warnings* warnings) {
  bool owned = false;
  iconv_t cd = iconv_cache().open(name, owned);
  if (cd == IconvCache::invalid()) return false;
  iconv(cd, nullptr, nullptr, nullptr, nullptr);  // a fresh shift state

  char* in = const_cast<char*>(bytes.data());  // iconv's signature, not a write
  std::size_t in_left = bytes.size();
  std::size_t used = out.size();
  // Most charsets take at most 3 UTF-8 bytes per input byte; E2BIG grows it.
  out.resize(used + in_left * 3 + 16);
  const auto grow = [&] { out.resize(out.size() + out.size() / 2 + 64); };
  while (in_left > 0) {
    char* dest = out.data() + used;
    std::size_t dest_left = out.size() - used;
    const std::size_t rc = iconv(cd, &in, &in_left, &dest, &dest_left);
    const int error = errno;
    used = out.size() - dest_left;
    if (rc != static_cast<std::size_t>(-1)) break;
    if (error == E2BIG) {
      grow();
      continue;
    }
    // EILSEQ (an invalid sequence) or EINVAL (one cut off at the end): one
    // U+FFFD for its first byte, then go on with the next.
    if (warnings) warnings->add(Warning::invalid_charset_bytes);
    out.replace(used, replacement.size(), replacement);
    used += replacement.size();
    ++in;
    --in_left;
  }
  // Stateful charsets (ISO-2022-JP, UTF-7) may owe a final reset sequence.
  while (true) {
    char* dest = out.data() + used;
    std::size_t dest_left = out.size() - used;
    const std::size_t rc = iconv(cd, nullptr, nullptr, &dest, &dest_left);
    const int error = errno;
    used = out.size() - dest_left;
    if (rc != static_cast<std::size_t>(-1) || error != E2BIG) break;
    grow();
  }
  out.resize(used);
  if (owned) iconv_close(cd);
  return true;
}

}  // namespace

std::string canonical_charset(std::string_view label) {
  // Trim blanks and quotes, drop an RFC 2231 "*language" suffix.
  const auto is_padding = [](char c) { return is_space(c) || c == '"' || c == '\''; };
  while (!label.empty() && is_padding(label.front())) label.remove_prefix(1);
  while (!label.empty() && is_padding(label.back())) label.remove_suffix(1);
  label = label.substr(0, label.find('*'));
  const std::string canonical = lower_ascii(label);
  for (const auto& alias : aliases) {
    if (alias.label == canonical) return std::string(alias.target);
  }
  return canonical;
}

void append_utf8(std::string& out, std::string_view bytes, std::string_view charset,
                 Warnings* warnings) {
  if (bytes.empty()) return;
  const std::string name = canonical_charset(charset);
  const bool unlabelled = name.empty();
  if (name == "utf-8" || (unlabelled && valid_utf8_prefix(bytes) == bytes.size())) {
    append_sanitised_utf8(out, bytes, warnings);
    return;
  }
  const bool plain_label =
      name.size() <= 40 && std::all_of(name.begin(), name.end(), [](char c) {
        return is_label_char(lower_ascii(c));
      });
  if (!unlabelled && plain_label) {
    std::string iconv_name;
    iconv_name.reserve(name.size());
    for (char c : name) iconv_name.push_back(ascii_upper(c));
    if (append_with_iconv(out, bytes, iconv_name, warnings)) return;
  }
  if (!unlabelled && warnings) warnings->add(Warning::unknown_charset);
  if (!append_with_iconv(out, bytes, std::string(windows_1252), warnings)) {
    append_sanitised_utf8(out, bytes, warnings);  // no gconv modules at all
  }
}

void append_code_point(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::size_t valid_utf8_prefix(std::string_view s) {
  std::size_t i = 0, consumed = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t length = utf8_sequence(s, i, consumed);
    if (length == 0) break;
    i += length;
  }
  return i;
}

void truncate_utf8(std::string& s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return;
  std::size_t cut = max_bytes;
  // Step back over continuation bytes to the start of the cut sequence.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
}

}  // namespace lodestone::mail
