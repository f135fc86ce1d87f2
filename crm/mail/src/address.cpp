#include "address.hpp"

#include <optional>

#include "ascii.hpp"
#include "charset.hpp"
#include "lexer.hpp"
#include "rfc2047.hpp"

namespace lodestone::mail {
namespace {

bool is_word(const Token& token) {
  return token.kind == Token::Kind::atom || token.kind == Token::Kind::quoted_string;
}

// One mailbox being read: the tokens before any '<', what is between '<'
// and '>', and the last comment.
struct Mailbox {
  std::vector<Token> phrase;
  std::vector<Token> angle;
  bool has_angle = false;
  std::optional<Token> comment;

  bool empty() const { return phrase.empty() && !has_angle && !comment; }
};

// An addr-spec from its tokens: words, '@', domain literals, with whitespace
// and comments gone.  Obsolete source routes ("@a,@b:") are dropped.
std::string addr_spec(const std::vector<Token>& tokens) {
  std::size_t from = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].kind == Token::Kind::special && tokens[i].raw == ":") from = i + 1;
  }
  std::string spec;
  for (std::size_t i = from; i < tokens.size(); ++i) {
    const Token& token = tokens[i];
    if (token.kind == Token::Kind::comment) continue;
    if (token.kind == Token::Kind::special && token.raw != "@" && token.raw != ".") continue;
    spec.append(token.raw);  // quoted local parts keep their quotes
  }
  return spec;
}

std::string normalise_address(std::string_view spec) {
  std::string clean;
  append_utf8(clean, spec, "");
  // U+FFFD rather than nothing: "a@exa\0mple.com" must not become a
  // customer's real "a@example.com".
  replace_control_characters(clean);
  const auto at = clean.rfind('@');
  if (at != std::string::npos) {
    for (std::size_t i = at + 1; i < clean.size(); ++i) clean[i] = lower_ascii(clean[i]);
  }
  return clean;
}

// A display name from phrase words: joined as written, then decoded.
std::string display_name(const std::vector<Token>& words, Warnings* warnings) {
  std::string raw;
  for (const Token& word : words) {
    if (!raw.empty() && word.space_before) raw.push_back(' ');
    raw += word.kind == Token::Kind::quoted_string ? token_text(word) : std::string(word.raw);
  }
  std::string name = decode_header_text(raw, warnings);
  // Outlook's 'John Smith' quoting.
  if (name.size() >= 2 && name.front() == '\'' && name.back() == '\'') name = name.substr(1, name.size() - 2);
  return std::string(trim(name));
}

void finish(Mailbox& mailbox, std::vector<Address>& out, Warnings* warnings) {
  Address address;
  if (mailbox.has_angle) {
    address.address = normalise_address(addr_spec(mailbox.angle));
    std::vector<Token> words;
    for (const Token& token : mailbox.phrase) {
      // An unquoted address used as a name ("a@x <a@x>") keeps its '@'.
      if (is_word(token) || (token.kind == Token::Kind::special && token.raw == "@")) words.push_back(token);
    }
    address.name = display_name(words, warnings);
  } else {
    // No angle brackets: the addr-spec is the run of tokens around '@' with
    // no blank inside it; words before it name the mailbox.
    const auto& tokens = mailbox.phrase;
    std::size_t at = tokens.size();
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i].kind == Token::Kind::special && tokens[i].raw == "@") {
        at = i;
        break;
      }
    }
    if (at == tokens.size()) {
      // A lone word may be a local address ("postmaster"); several are a name.
      if (tokens.size() == 1 && tokens[0].kind == Token::Kind::atom) {
        address.address = normalise_address(tokens[0].raw);
      }
    } else {
      std::size_t begin = at;
      while (begin > 0 && !tokens[begin].space_before && tokens[begin - 1].kind != Token::Kind::comment) --begin;
      std::size_t end = at + 1;
      while (end < tokens.size() && !tokens[end].space_before && tokens[end].kind != Token::Kind::comment) ++end;
      const std::vector<Token> spec(tokens.begin() + static_cast<std::ptrdiff_t>(begin),
                                    tokens.begin() + static_cast<std::ptrdiff_t>(end));
      address.address = normalise_address(addr_spec(spec));
      std::vector<Token> words;
      for (std::size_t i = 0; i < begin; ++i) {
        if (is_word(tokens[i])) words.push_back(tokens[i]);
      }
      address.name = display_name(words, warnings);
    }
    if (address.name.empty() && mailbox.comment) {
      address.name = decode_header_text(token_text(*mailbox.comment), warnings);
    }
  }
  if (!address.address.empty()) out.push_back(std::move(address));
  mailbox = Mailbox{};
}

}  // namespace

std::vector<Address> parse_address_list(std::string_view raw, Warnings* warnings) {
  std::vector<Address> out;
  Lexer lexer(raw, address_specials, true);
  Mailbox mailbox;
  while (auto token = lexer.next()) {
    if (token->kind == Token::Kind::comment) {
      mailbox.comment = token;
      continue;
    }
    if (token->kind == Token::Kind::special) {
      const char c = token->raw.front();
      if (c == '<' && !mailbox.has_angle) {
        mailbox.has_angle = true;
        // The address runs to '>'; a ',' outside a source route ends a '<'
        // that was never closed, so one typo does not swallow the list.
        bool in_route = false;
        while (auto inner = lexer.next()) {
          if (inner->kind == Token::Kind::comment) continue;
          if (inner->kind == Token::Kind::special) {
            if (inner->raw == ">") break;
            if (mailbox.angle.empty() && inner->raw == "@") {
              in_route = true;
            } else if (in_route && inner->raw == ":") {
              in_route = false;
            } else if (!in_route && (inner->raw == "," || inner->raw == ";")) {
              finish(mailbox, out, warnings);
              break;
            }
            if (inner->raw != "@" && inner->raw != ":") continue;  // nothing an addr-spec keeps
          }
          mailbox.angle.push_back(*inner);
        }
        continue;
      }
      if (c == ',' || c == ';') {
        finish(mailbox, out, warnings);
        continue;
      }
      if (c == ':' && !mailbox.has_angle) {
        mailbox = Mailbox{};  // the phrase before ':' named a group
        continue;
      }
    }
    if (!mailbox.has_angle) mailbox.phrase.push_back(*token);
  }
  if (!mailbox.empty()) finish(mailbox, out, warnings);
  return out;
}

}  // namespace lodestone::mail
