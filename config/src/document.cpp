#include "document.hpp"

#include <cstdio>
#include <sstream>
#include <string>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/node/parse.h>
#include <yaml-cpp/parser.h>

namespace lodestone::config {
namespace {

// A Lodestone config nests three levels (section, list, entry).  yaml-cpp
// recurses once or more per level and only stops at 2000 levels with a
// message ("bad file") that helps nobody; this limit stops far earlier.
constexpr int kMaxNesting = 64;

YAML::Mark mark_at(int line, int column) {
  YAML::Mark mark;
  mark.line = line;
  mark.column = column;
  return mark;
}

std::string hex_byte(unsigned char byte) {
  char text[5];
  std::snprintf(text, sizeof text, "0x%02X", byte);
  return text;
}

// Length of the UTF-8 sequence starting at text[at], or 0 if it is invalid
// (truncated, overlong, a surrogate or beyond U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  unsigned min_second = 0x80, max_second = 0xBF;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) length = 2;
  else if (lead >= 0xE0 && lead <= 0xEF) length = 3;
  else if (lead >= 0xF0 && lead <= 0xF4) length = 4;
  else return 0;
  if (lead == 0xE0) min_second = 0xA0;  // overlong
  if (lead == 0xED) max_second = 0x9F;  // surrogates
  if (lead == 0xF0) min_second = 0x90;  // overlong
  if (lead == 0xF4) max_second = 0x8F;  // beyond U+10FFFF
  if (at + length > text.size()) return 0;
  if (byte(1) < min_second || byte(1) > max_second) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if ((byte(i) & 0xC0) != 0x80) return 0;
  return length;
}

// YAML is Unicode text; yaml-cpp nevertheless passes NUL bytes and broken
// UTF-8 through into scalars.  Reports the first offending byte.
bool check_text(std::string_view text, DiagnosticList& diagnostics) {
  int line = 0, column = 0;
  for (std::size_t at = 0; at < text.size();) {
    const auto byte = static_cast<unsigned char>(text[at]);
    if ((byte < 0x20 && byte != '\t' && byte != '\n' && byte != '\r') || byte == 0x7F) {
      diagnostics.add(mark_at(line, column), "control character " + hex_byte(byte) + " in config text",
                      "remove it; a config file is plain UTF-8 text");
      return false;
    }
    const std::size_t length = utf8_sequence_length(text, at);
    if (length == 0) {
      diagnostics.add(mark_at(line, column), "invalid UTF-8 byte " + hex_byte(byte),
                      "save the file as UTF-8");
      return false;
    }
    if (byte == '\n') {
      ++line;
      column = 0;
    } else {
      ++column;
    }
    at += length;
  }
  return true;
}

// Why the text is refused before a tree is built from it.
struct Refusal {
  YAML::Mark mark;
  std::string message;
  std::string hint;
};

// Walks the parse events before any tree is built, to stop runaway nesting
// while yaml-cpp's recursion is still shallow.  Aliases arrive as single
// events, so "billion laughs" documents cost nothing here.
class StructureCheck : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    // Loading would silently ignore everything after the first document.
    if (++documents_ > 1)
      throw Refusal{mark, "more than one YAML document",
                    "remove the '---' line and what follows, or merge it into the first document"};
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    enter(mark);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    enter(mark);
  }
  void OnMapEnd() override { --depth_; }

 private:
  void enter(const YAML::Mark& mark) {
    if (++depth_ > kMaxNesting)
      throw Refusal{mark, "nesting deeper than " + std::to_string(kMaxNesting) + " levels",
                    "a Lodestone config nests three levels: section, list, entry"};
  }
  int documents_ = 0;
  int depth_ = 0;
};

// Syntax errors surface here as YAML::ParserException.
bool check_structure(const std::string& text, DiagnosticList& diagnostics) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  StructureCheck check;
  try {
    while (parser.HandleNextDocument(check)) {
    }
  } catch (const Refusal& refusal) {
    diagnostics.add(refusal.mark, refusal.message, refusal.hint);
    return false;
  }
  return true;
}

}  // namespace

std::optional<YAML::Node> parse_document(std::string_view text, DiagnosticList& diagnostics) {
  if (!check_text(text, diagnostics)) return std::nullopt;
  const std::string owned(text);
  try {
    if (!check_structure(owned, diagnostics)) return std::nullopt;
    return YAML::Load(owned);
  } catch (const YAML::ParserException& error) {
    diagnostics.add(error.mark, "YAML syntax error: " + error.msg,
                    "check the indentation and quoting here and on the line before");
    return std::nullopt;
  }
}

}  // namespace lodestone::config
