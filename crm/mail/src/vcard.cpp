#include "vcard.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "ascii.hpp"
#include "charset.hpp"
#include "rfc2047.hpp"
#include "transfer_encoding.hpp"

namespace lodestone::mail {
namespace {

// Splits at `separator` outside double quotes (vCard 4 quotes parameter values).
std::vector<std::string_view> split_unquoted(std::string_view s, char separator) {
  std::vector<std::string_view> pieces;
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') {
      quoted = !quoted;
    } else if (s[i] == separator && !quoted) {
      pieces.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  pieces.push_back(s.substr(start));
  return pieces;
}

// Splits a structured value (N, ORG) at ';' that is not escaped.
std::vector<std::string_view> split_components(std::string_view value) {
  std::vector<std::string_view> components;
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\') {
      ++i;
    } else if (value[i] == ';') {
      components.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  components.push_back(value.substr(start));
  return components;
}

// Resolves vCard escapes for a one-line field: "\n" becomes a space,
// "\," "\;" "\\" their character; unescaped commas become `comma`.
std::string unescape(std::string_view value, char comma = ',') {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\\' && i + 1 < value.size()) {
      const char next = value[++i];
      out.push_back(next == 'n' || next == 'N' ? ' ' : next);
    } else {
      out.push_back(c == ',' ? comma : c);
    }
  }
  replace_control_characters(out);
  return std::string(trim(out));
}

std::string without_prefix(std::string value, std::string_view prefix) {
  if (istarts_with(value, prefix)) value.erase(0, prefix.size());
  return std::string(trim(value));
}

void add_unique(std::vector<std::string>& list, std::string value) {
  if (!value.empty() && std::find(list.begin(), list.end(), value) == list.end()) {
    list.push_back(std::move(value));
  }
}

struct Property {
  std::string name;  // upper-case, group removed
  std::string value;  // UTF-8, escapes not yet resolved
};

class CardReader {
 public:
  CardReader(std::string_view charset, Warnings* warnings) : charset_(charset), warnings_(warnings) {}

  void line(std::string_view logical) {
    const auto colon = find_unquoted_colon(logical);
    if (colon == std::string_view::npos) return;
    const auto head = split_unquoted(logical.substr(0, colon), ';');
    std::string_view name = head.front();
    if (const auto dot = name.rfind('.'); dot != std::string_view::npos) name = name.substr(dot + 1);
    const std::string_view raw_value = logical.substr(colon + 1);

    if (iequals(name, "BEGIN") && iequals(trim(raw_value), "VCARD")) {
      if (depth_++ == 0) card_ = VCard{};
      return;
    }
    if (iequals(name, "END") && iequals(trim(raw_value), "VCARD")) {
      if (depth_ > 0 && --depth_ == 0) finish_card();
      return;
    }
    if (depth_ != 1) return;  // outside a card, or in one nested in it (2.1 AGENT)

    TransferEncoding encoding = TransferEncoding::identity;
    std::string_view charset = charset_;
    for (std::size_t i = 1; i < head.size(); ++i) {
      const std::string_view parameter = trim(head[i]);
      const auto equals = parameter.find('=');
      const std::string_view key = equals == std::string_view::npos ? "" : parameter.substr(0, equals);
      const std::string_view value = equals == std::string_view::npos ? parameter : parameter.substr(equals + 1);
      if (iequals(key, "CHARSET")) charset = value;
      if (key.empty() || iequals(key, "ENCODING")) {
        if (iequals(value, "QUOTED-PRINTABLE")) encoding = TransferEncoding::quoted_printable;
        if (iequals(value, "BASE64") || iequals(value, "B")) encoding = TransferEncoding::base64;
      }
    }
    const std::string bytes = decode_transfer(raw_value, encoding);
    const std::string value = to_utf8(bytes, charset, warnings_);

    if (iequals(name, "FN")) {
      card_.name = unescape(value);
    } else if (iequals(name, "N")) {
      structured_name_ = value;
    } else if (iequals(name, "EMAIL")) {
      add_unique(card_.emails, without_prefix(unescape(value), "mailto:"));
    } else if (iequals(name, "TEL")) {
      add_unique(card_.phones, without_prefix(unescape(value), "tel:"));
    } else if (iequals(name, "ORG")) {
      card_.organisation = unescape(split_components(value).front());
    }
  }

  std::vector<VCard> finish() {
    if (depth_ > 0) finish_card();  // no END: keep what was read
    return std::move(cards_);
  }

  static bool is_quoted_printable(std::string_view logical) {
    const auto colon = find_unquoted_colon(logical);
    const std::string_view head = logical.substr(0, colon == std::string_view::npos ? logical.size() : colon);
    for (std::size_t i = 0; i + 16 <= head.size(); ++i) {
      if (iequals(head.substr(i, 16), "QUOTED-PRINTABLE")) return true;
    }
    return false;
  }

 private:
  static std::size_t find_unquoted_colon(std::string_view s) {
    bool quoted = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '"') quoted = !quoted;
      if (s[i] == ':' && !quoted) return i;
    }
    return std::string_view::npos;
  }

  void finish_card() {
    depth_ = 0;
    if (card_.name.empty() && !structured_name_.empty()) {
      // N is family;given;additional;prefix;suffix; read it as written in a letter.
      const auto parts = split_components(structured_name_);
      std::string name;
      for (std::size_t index : {3u, 1u, 2u, 0u, 4u}) {
        if (index >= parts.size()) continue;
        const std::string part = unescape(parts[index], ' ');
        if (part.empty()) continue;
        if (!name.empty()) name.push_back(' ');
        name += part;
      }
      card_.name = name;
    }
    structured_name_.clear();
    if (!card_.name.empty() || !card_.emails.empty() || !card_.phones.empty() ||
        !card_.organisation.empty()) {
      cards_.push_back(std::move(card_));
    }
    card_ = VCard{};
  }

  std::string_view charset_;
  Warnings* warnings_;
  std::size_t depth_ = 0;
  VCard card_;
  std::string structured_name_;
  std::vector<VCard> cards_;
};

}  // namespace

std::vector<VCard> parse_vcards(std::string_view data, std::string_view charset, Warnings* warnings) {
  CardReader reader(charset, warnings);
  std::string logical;
  bool have_line = false;
  bool quoted_printable = false;  // the logical line's value is quoted-printable
  std::size_t pos = 0;
  while (pos < data.size()) {
    const void* eol = std::memchr(data.data() + pos, '\n', data.size() - pos);
    const std::size_t end = eol ? static_cast<std::size_t>(static_cast<const char*>(eol) - data.data()) : data.size();
    std::string_view physical = data.substr(pos, end - pos);
    if (!physical.empty() && physical.back() == '\r') physical.remove_suffix(1);
    pos = eol ? end + 1 : data.size();

    if (have_line && quoted_printable && !logical.empty() && logical.back() == '=') {
      logical.push_back('\n');  // keeps the soft line break for the QP decoder
      logical.append(physical);
      continue;
    }
    if (have_line && !physical.empty() && is_blank(physical.front())) {
      logical.append(physical.substr(1));
      continue;
    }
    if (have_line) reader.line(logical);
    logical.assign(physical);
    have_line = true;
    quoted_printable = CardReader::is_quoted_printable(logical);
  }
  if (have_line) reader.line(logical);
  return reader.finish();
}

}  // namespace lodestone::mail
