// Parsing of the commands the proxy answers itself before login.  Pure: the
// session reads lines and literals, this turns them into a command.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lodestone::imap {

// One client command as read off the wire: text lines (CR LF removed) with
// literal payloads between them.  Every line but the last ends with the
// literal marker ("{n}", "{n+}") announcing the payload that follows it.
struct CommandText {
  std::vector<std::string> lines;
  std::vector<std::string> literals;  // literals.size() + 1 == lines.size()
};

struct PreauthCommand {
  std::string tag;
  std::string name;                // upper-cased: "LOGIN", "AUTHENTICATE", ...
  std::vector<std::string> args;   // atoms, decoded quoted strings, literal payloads;
                                   // a parenthesised list is kept as its raw text
};

struct PreauthParse {
  bool ok = false;
  PreauthCommand command;  // tag is set whenever one could be read
  std::string error;       // for a BAD response when !ok
};

PreauthParse parse_preauth_command(const CommandText& text);

// True when `tag` is a valid IMAP tag (astring characters except "+").
bool is_valid_tag(std::string_view tag);

// An IMAP quoted string for `value`, or a literal "{n}\r\n..." when quoting
// cannot carry it (CR, LF, NUL or 8-bit bytes).
std::string quote_or_literal(std::string_view value, bool non_synchronizing);

}  // namespace lodestone::imap
