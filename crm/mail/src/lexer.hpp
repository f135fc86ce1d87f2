// The lexical layer shared by RFC 5322 structured fields (addresses, message
// identifiers) and RFC 2045 parameters: atoms, quoted strings, comments,
// domain literals and single special characters, with folding whitespace
// between them.  Unterminated quotes and comments run to the end of input.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace lodestone::mail {

// RFC 5322 specials, except '.', which stays inside atoms so that dotted
// local parts and obsolete phrases ("John Q. Public") read as one word.
inline constexpr std::string_view address_specials = "()<>[]:;@\\,\"";
// RFC 2045 tspecials.
inline constexpr std::string_view mime_specials = "()<>@,;:\\\"/[]?=";

struct Token {
  enum class Kind { atom, quoted_string, comment, domain_literal, special };
  Kind kind;
  std::string_view raw;       // as written, delimiters included
  bool space_before = false;  // folding whitespace separated it from the previous token
};

// A token's content: quoted strings, comments and domain literals without
// their delimiters and with quoted-pairs resolved; atoms and specials as written.
std::string token_text(const Token& token);

class Lexer {
 public:
  // '[' opens a domain literal when `domain_literals` is set, and is a
  // special otherwise.
  Lexer(std::string_view input, std::string_view specials, bool domain_literals);

  std::optional<Token> next();
  std::size_t position() const { return pos_; }  // just past the last token read

 private:
  std::size_t skip_delimited(std::size_t from, char open, char close, bool nests) const;

  std::string_view input_;
  std::string_view specials_;
  bool domain_literals_;
  std::size_t pos_ = 0;
};

// `value` with every comment replaced by one space (quoted strings kept).
std::string strip_comments(std::string_view value);

}  // namespace lodestone::mail
