#include "content_fields.hpp"

#include <algorithm>

#include "ascii.hpp"
#include "charset.hpp"
#include "lexer.hpp"
#include "rfc2047.hpp"

namespace lodestone::mail {
namespace {

// RFC 2231 sections beyond this are ignored: a bound on the work hostile
// parameter lists can cause, far above anything a mailer writes.
constexpr std::size_t max_sections = 1000;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Splits "charset'language'text" (RFC 2231 extended value); without both
// quotes the whole value is text in no declared charset.
void split_extended(std::string_view value, std::string& charset, std::string_view& text) {
  const auto first = value.find('\'');
  const auto second = first == std::string_view::npos ? first : value.find('\'', first + 1);
  if (second == std::string_view::npos) {
    charset.clear();
    text = value;
    return;
  }
  charset = std::string(value.substr(0, first));
  text = value.substr(second + 1);
}

// Reads a section number: "0", "12"; nullopt for anything else.
std::optional<std::size_t> section_number(std::string_view digits) {
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  std::size_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

}  // namespace

ContentField parse_content_field(std::string_view raw) {
  const std::string text = strip_comments(raw);
  const std::string_view s = text;
  ContentField field;

  // Splits at ';' outside quoted strings.
  std::vector<std::string_view> pieces;
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (quoted && s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      quoted = !quoted;
    } else if (s[i] == ';' && !quoted) {
      pieces.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  pieces.push_back(s.substr(start));

  // "type / subtype" is allowed; a blank anywhere else ends the value, and
  // what follows is read as a parameter whose ';' was forgotten
  // ("text/plain charset=us-ascii").
  const std::string_view head = trim(pieces.front());
  std::size_t i = 0;
  while (i < head.size()) {
    if (!is_space(head[i])) {
      field.value.push_back(lower_ascii(head[i++]));
      continue;
    }
    std::size_t j = i;
    while (j < head.size() && is_space(head[j])) ++j;
    if (head[j] != '/' && (field.value.empty() || field.value.back() != '/')) {
      pieces.push_back(head.substr(j));
      break;
    }
    i = j;
  }
  // RFC 2045: a value that is not a token (or type/subtype) is no value; the
  // caller's default applies.
  const bool valid = std::all_of(field.value.begin(), field.value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7F && (c == '/' || mime_specials.find(c) == std::string_view::npos);
  });
  if (!valid) field.value.clear();
  for (std::size_t p = 1; p < pieces.size(); ++p) {
    const std::string_view piece = trim(pieces[p]);
    const auto equals = piece.find('=');
    if (equals == std::string_view::npos) continue;
    std::string name = lower_ascii(trim(piece.substr(0, equals)));
    if (name.empty()) continue;
    std::string_view value = trim(piece.substr(equals + 1));
    std::string unquoted;
    if (!value.empty() && value.front() == '"') {
      unquoted = token_text(Token{Token::Kind::quoted_string, value, false});
    } else {
      unquoted = std::string(value);
    }
    field.parameters.push_back({std::move(name), std::move(unquoted)});
  }
  return field;
}

std::optional<std::string_view> raw_parameter(const ContentField& field, std::string_view name) {
  for (const auto& parameter : field.parameters) {
    if (parameter.name == name) return std::string_view(parameter.value);
  }
  return std::nullopt;
}

std::string decoded_parameter(const ContentField& field, std::string_view name,
                              Warnings* warnings) {
  // RFC 2231 sections: name*0, name*1*, … in any order; read up to the first gap.
  struct Section {
    const std::string* value = nullptr;
    bool extended = false;
  };
  std::vector<Section> sections;
  const std::string* extended_single = nullptr;
  const std::string* plain = nullptr;
  for (const auto& parameter : field.parameters) {
    const std::string_view pname = parameter.name;
    if (pname == name) {
      if (!plain) plain = &parameter.value;
      continue;
    }
    if (pname.size() <= name.size() || pname.substr(0, name.size()) != name || pname[name.size()] != '*')
      continue;
    std::string_view suffix = pname.substr(name.size() + 1);
    if (suffix.empty()) {
      if (!extended_single) extended_single = &parameter.value;
      continue;
    }
    const bool extended = suffix.back() == '*';
    if (extended) suffix.remove_suffix(1);
    const auto index = section_number(suffix);
    if (!index || *index >= max_sections) continue;
    if (sections.size() <= *index) sections.resize(*index + 1);
    if (!sections[*index].value) sections[*index] = {&parameter.value, extended};
  }

  if (!sections.empty() && sections.front().value) {
    std::string charset;
    std::string bytes;
    for (std::size_t i = 0; i < sections.size() && sections[i].value; ++i) {
      std::string_view text = *sections[i].value;
      if (sections[i].extended) {
        if (i == 0) split_extended(text, charset, text);
        bytes += percent_decode(text);
      } else {
        bytes += text;
      }
    }
    std::string decoded = to_utf8(bytes, charset, warnings);
    replace_control_characters(decoded);
    return decoded;
  }
  if (extended_single) {
    std::string charset;
    std::string_view text;
    split_extended(*extended_single, charset, text);
    std::string decoded = to_utf8(percent_decode(text), charset, warnings);
    replace_control_characters(decoded);
    return decoded;
  }
  if (plain) return decode_header_text(*plain, warnings);
  return {};
}

std::string file_name_of(std::string_view path) {
  const auto slash = path.find_last_of("/\\");
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return std::string(trim(name));
}

}  // namespace lodestone::mail
