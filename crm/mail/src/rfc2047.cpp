#include "rfc2047.hpp"

#include <optional>

#include "ascii.hpp"
#include "charset.hpp"
#include "transfer_encoding.hpp"

namespace lodestone::mail {
namespace {

// Long enough for any registered charset name plus a language tag.
constexpr std::size_t max_charset_length = 64;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string decode_q(std::string_view text) {
  std::string bytes;
  bytes.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '_') {
      bytes.push_back(' ');
    } else if (c == '=' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      bytes.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      bytes.push_back(c);
    }
  }
  return bytes;
}

struct EncodedWord {
  std::string_view charset;
  std::string bytes;  // decoded, still in `charset`
  std::size_t end;    // just past the closing "?="
};

// Reads an encoded word at raw[start] (which holds "=?").  `no_end_before`
// remembers the point up to which an earlier attempt found no "?=": a word
// whose text starts before it cannot end either, which keeps a header full of
// "=?" openers linear.
std::optional<EncodedWord> read_encoded_word(std::string_view raw, std::size_t start,
                                             std::size_t& no_end_before) {
  std::size_t i = start + 2;
  const std::size_t charset_start = i;
  while (i < raw.size() && raw[i] != '?' && !is_space(raw[i]) && i - charset_start <= max_charset_length)
    ++i;
  if (i >= raw.size() || raw[i] != '?' || i == charset_start) return std::nullopt;
  const std::string_view charset = raw.substr(charset_start, i - charset_start);
  if (i + 2 >= raw.size() || raw[i + 2] != '?') return std::nullopt;
  const char encoding = lower_ascii(raw[i + 1]);
  if (encoding != 'b' && encoding != 'q') return std::nullopt;
  const std::size_t text_start = i + 3;
  if (text_start < no_end_before) return std::nullopt;
  std::size_t j = text_start;
  while (j < raw.size() && !is_space(raw[j]) && !(raw[j] == '?' && j + 1 < raw.size() && raw[j + 1] == '='))
    ++j;
  if (j >= raw.size() || is_space(raw[j])) {
    no_end_before = j;
    return std::nullopt;
  }
  const std::string_view text = raw.substr(text_start, j - text_start);
  EncodedWord word{charset, {}, j + 2};
  word.bytes = encoding == 'b' ? decode_transfer(text, TransferEncoding::base64) : decode_q(text);
  return word;
}

}  // namespace

void replace_control_characters(std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n' || c == '\t') {
      out.push_back(' ');
    } else if (u < 0x20 || u == 0x7F) {
      out.append("\xEF\xBF\xBD");
    } else {
      out.push_back(c);
    }
  }
  text = std::move(out);
}

std::string decode_header_text(std::string_view raw, Warnings* warnings) {
  std::string out;
  std::string plain;            // raw bytes not yet converted
  std::string encoded;          // decoded bytes of the current run of encoded words
  std::string encoded_charset;  // canonical, for comparing runs
  std::string_view encoded_label;
  bool in_run = false;          // the last thing read was an encoded word
  std::string held_space;       // whitespace after an encoded word, dropped if another follows
  std::size_t no_end_before = 0;

  const auto flush_plain = [&] {
    append_utf8(out, plain, "", warnings);
    plain.clear();
  };
  const auto flush_encoded = [&] {
    append_utf8(out, encoded, encoded_label, warnings);
    encoded.clear();
    in_run = false;
  };

  std::size_t i = 0;
  while (i < raw.size()) {
    if (is_space(raw[i])) {
      // Unfolding: line breaks go, the blanks after them stay.
      std::string& space = in_run ? held_space : plain;
      if (in_run) held_space.clear();
      for (; i < raw.size() && is_space(raw[i]); ++i) {
        if (is_blank(raw[i])) space.push_back(raw[i]);
      }
      continue;
    }
    if (raw[i] == '=' && i + 1 < raw.size() && raw[i + 1] == '?') {
      if (auto word = read_encoded_word(raw, i, no_end_before)) {
        std::string charset = canonical_charset(word->charset);
        if (!in_run || charset != encoded_charset) {
          if (in_run) flush_encoded();
          flush_plain();
          encoded_charset = std::move(charset);
          encoded_label = word->charset;
          in_run = true;
        }
        encoded.append(word->bytes);
        held_space.clear();
        i = word->end;
        continue;
      }
    }
    // Plain text up to the next blank or the next possible encoded word.
    std::size_t j = i + 1;
    while (j < raw.size() && !is_space(raw[j]) && !(raw[j] == '=' && j + 1 < raw.size() && raw[j + 1] == '?'))
      ++j;
    if (in_run) {
      flush_encoded();
      plain.append(held_space);
      held_space.clear();
    }
    plain.append(raw.substr(i, j - i));
    i = j;
  }
  if (in_run) flush_encoded();
  flush_plain();
  replace_control_characters(out);
  const std::string_view trimmed = trim(out);
  return trimmed.size() == out.size() ? out : std::string(trimmed);
}

}  // namespace lodestone::mail
