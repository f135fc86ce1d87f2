#include "preauth_parser.hpp"

#include "imap_syntax.hpp"

namespace lodestone::imap {

namespace {

bool is_atom_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;  // CTL, SP and 8-bit
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
      return false;
    default:
      return true;
  }
}

// Walks the command text token by token, stepping over literal payloads.
class Tokenizer {
 public:
  explicit Tokenizer(const CommandText& text) : text_(text) {}

  bool at_end() const { return line_ == text_.lines.size() - 1 && pos_ >= current().size(); }

  // Consumes one SP; false when none is there.
  bool space() {
    if (pos_ < current().size() && current()[pos_] == ' ') {
      ++pos_;
      return true;
    }
    return false;
  }

  // Reads an atom, quoted string, literal or parenthesised list.
  bool token(std::string& out, std::string& error) {
    out.clear();
    if (at_literal_marker()) {
      out = text_.literals[line_];
      ++line_;
      pos_ = 0;
      return true;
    }
    if (pos_ >= current().size()) {
      error = "Missing argument";
      return false;
    }
    const char c = current()[pos_];
    if (c == '"') return quoted(out, error);
    if (c == '(') return list(out, error);
    const std::size_t begin = pos_;
    while (pos_ < current().size() && (is_atom_char(current()[pos_]) || current()[pos_] == ']')) ++pos_;
    if (pos_ == begin) {
      error = "Invalid characters in argument";
      return false;
    }
    out.assign(current().substr(begin, pos_ - begin));
    return true;
  }

 private:
  std::string_view current() const { return text_.lines[line_]; }

  bool at_literal_marker() const {
    if (line_ + 1 >= text_.lines.size()) return false;
    const auto marker = trailing_literal(current());
    return marker && pos_ == current().size() - marker->marker_length;
  }

  bool quoted(std::string& out, std::string& error) {
    ++pos_;  // opening quote
    out.reserve(current().size() - pos_);  // no reallocation leaves copies of a password behind
    while (pos_ < current().size()) {
      char c = current()[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (pos_ >= current().size()) break;
        c = current()[pos_++];
        if (c != '"' && c != '\\') {
          error = "Invalid escape in quoted string";
          return false;
        }
      }
      out += c;
    }
    error = "Unterminated quoted string";
    return false;
  }

  // Kept raw: the proxy only needs to step over lists (ID parameters).
  bool list(std::string& out, std::string& error) {
    int depth = 0;
    bool in_quote = false;
    while (pos_ < current().size() || at_literal_marker()) {
      if (at_literal_marker()) {
        out += "{literal}";
        ++line_;
        pos_ = 0;
        continue;
      }
      const char c = current()[pos_++];
      out += c;
      if (in_quote) {
        if (c == '\\' && pos_ < current().size()) out += current()[pos_++];
        else if (c == '"') in_quote = false;
      } else if (c == '"') {
        in_quote = true;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')' && --depth == 0) {
        return true;
      }
    }
    error = "Unterminated list";
    return false;
  }

  const CommandText& text_;
  std::size_t line_ = 0;
  std::size_t pos_ = 0;
};

}  // namespace

bool is_valid_tag(std::string_view tag) {
  if (tag.empty()) return false;
  for (char c : tag) {
    if (c == '+' || !(is_atom_char(c) || c == ']')) return false;
  }
  return true;
}

PreauthParse parse_preauth_command(const CommandText& text) {
  PreauthParse result;
  if (text.lines.empty() || text.lines.size() != text.literals.size() + 1) {
    result.error = "Empty command";
    return result;
  }
  const std::string_view first = text.lines.front();
  const std::size_t tag_end = first.find(' ');
  const std::string_view tag = first.substr(0, tag_end);
  if (!is_valid_tag(tag)) {
    result.error = "Invalid tag";
    return result;
  }
  result.command.tag = tag;
  if (tag_end == std::string_view::npos) {
    result.error = "Missing command";
    return result;
  }
  Tokenizer tokens(text);
  std::string scratch;
  // Skip the tag we already read.
  tokens.token(scratch, result.error);
  tokens.space();
  std::string name;
  if (!tokens.token(name, result.error)) {
    result.error = "Missing command";
    return result;
  }
  for (char& c : name) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  result.command.name = std::move(name);
  while (!tokens.at_end()) {
    if (!tokens.space()) {
      result.error = "Expected a space between arguments";
      return result;
    }
    std::string arg;
    if (!tokens.token(arg, result.error)) return result;
    result.command.args.push_back(std::move(arg));
  }
  result.ok = true;
  return result;
}

std::string quote_or_literal(std::string_view value, bool non_synchronizing) {
  bool quotable = true;
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0 || u == '\r' || u == '\n' || u >= 0x80) quotable = false;
  }
  if (!quotable) {
    return "{" + std::to_string(value.size()) + (non_synchronizing ? "+" : "") + "}\r\n" + std::string(value);
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace lodestone::imap
