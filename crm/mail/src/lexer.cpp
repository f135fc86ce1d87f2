#include "lexer.hpp"

#include "ascii.hpp"

namespace lodestone::mail {

Lexer::Lexer(std::string_view input, std::string_view specials, bool domain_literals)
    : input_(input), specials_(specials), domain_literals_(domain_literals) {}

// The end of a delimited run that starts at `from` (on `open`): just past its
// `close`, or the end of input.  Comments nest; backslash escapes anything.
std::size_t Lexer::skip_delimited(std::size_t from, char open, char close, bool nests) const {
  std::size_t depth = 0;
  for (std::size_t i = from; i < input_.size(); ++i) {
    const char c = input_[i];
    if (c == '\\') {
      ++i;
    } else if (c == open && (nests || i == from)) {
      ++depth;
    } else if (c == close) {
      if (--depth == 0) return i + 1;
    }
  }
  return input_.size();
}

std::optional<Token> Lexer::next() {
  const std::size_t before = pos_;
  while (pos_ < input_.size() && is_space(input_[pos_])) ++pos_;
  if (pos_ >= input_.size()) return std::nullopt;
  const bool space_before = pos_ > before;
  const std::size_t start = pos_;
  const char c = input_[pos_];
  Token::Kind kind;
  if (c == '"') {
    kind = Token::Kind::quoted_string;
    pos_ = skip_delimited(start, '"', '"', false);
  } else if (c == '(') {
    kind = Token::Kind::comment;
    pos_ = skip_delimited(start, '(', ')', true);
  } else if (c == '[' && domain_literals_) {
    kind = Token::Kind::domain_literal;
    pos_ = skip_delimited(start, '[', ']', false);
  } else if (specials_.find(c) != std::string_view::npos) {
    kind = Token::Kind::special;
    ++pos_;
  } else {
    kind = Token::Kind::atom;
    while (pos_ < input_.size()) {
      const char a = input_[pos_];
      if (is_space(a) || a == '"' || a == '(' || specials_.find(a) != std::string_view::npos) break;
      ++pos_;
    }
  }
  return Token{kind, input_.substr(start, pos_ - start), space_before};
}

std::string token_text(const Token& token) {
  if (token.kind == Token::Kind::atom || token.kind == Token::Kind::special) {
    return std::string(token.raw);
  }
  // Drop the opening delimiter and, when present, the closing one.
  std::string_view inner = token.raw.substr(1);
  const char close = token.kind == Token::Kind::quoted_string ? '"'
                     : token.kind == Token::Kind::comment    ? ')'
                                                              : ']';
  std::string text;
  text.reserve(inner.size());
  for (std::size_t i = 0; i < inner.size(); ++i) {
    const char c = inner[i];
    if (c == '\\' && i + 1 < inner.size()) {
      text.push_back(inner[++i]);
    } else if (c == close && i + 1 == inner.size()) {
      break;
    } else if (c == '\r' || c == '\n') {
      continue;  // folding inside a quoted string keeps only its blank
    } else {
      text.push_back(c);
    }
  }
  return text;
}

std::string strip_comments(std::string_view value) {
  Lexer lexer(value, "", false);
  std::string out;
  out.reserve(value.size());
  while (auto token = lexer.next()) {
    if (token->space_before && !out.empty()) out.push_back(' ');
    if (token->kind == Token::Kind::comment) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
      continue;
    }
    out.append(token->raw);
  }
  return out;
}

}  // namespace lodestone::mail
