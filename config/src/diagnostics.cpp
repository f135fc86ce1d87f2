#include "diagnostics.hpp"

#include <algorithm>
#include <cstdio>

namespace lodestone::config {
namespace {

// A broken file (a list of a million wrong entries) would otherwise produce a
// message as large as the file; the first problems are the useful ones.
constexpr std::size_t kMaxDiagnostics = 50;
constexpr std::size_t kMaxQuotedBytes = 200;

std::string format(const std::vector<Diagnostic>& diagnostics) {
  std::string text;
  for (const Diagnostic& diagnostic : diagnostics) {
    text += diagnostic.file;
    if (diagnostic.line > 0)
      text += ':' + std::to_string(diagnostic.line) + ':' + std::to_string(diagnostic.column);
    text += ": error: " + diagnostic.message + '\n';
    if (!diagnostic.hint.empty()) text += "  hint: " + diagnostic.hint + '\n';
  }
  return text;
}

}  // namespace

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(format(diagnostics)), diagnostics_(std::move(diagnostics)) {}

void DiagnosticList::add(const YAML::Mark& at, std::string message, std::string hint) {
  if (diagnostics_.size() == kMaxDiagnostics) {
    ++dropped_;
    return;
  }
  const bool placed = !at.is_null();
  diagnostics_.push_back({file_, placed ? at.line + 1 : 0, placed ? at.column + 1 : 0,
                          std::move(message), std::move(hint)});
}

void DiagnosticList::throw_if_any() const {
  if (diagnostics_.empty()) return;
  // Checks run section by section; readers want them in file order, with
  // the ones about the file as a whole first.
  std::vector<Diagnostic> all = diagnostics_;
  std::stable_sort(all.begin(), all.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.line < b.line || (a.line == b.line && a.column < b.column);
  });
  if (dropped_ > 0)
    all.push_back({file_, 0, 0, std::to_string(dropped_) + " more problems not shown",
                   "fix the ones above and check again"});
  throw ConfigError(std::move(all));
}

std::string in_quotes(std::string_view text) {
  std::size_t shown = text.size();
  if (shown > kMaxQuotedBytes) {
    shown = kMaxQuotedBytes;
    // Never cut a UTF-8 sequence in half: back up over continuation bytes.
    while (shown > 0 && (static_cast<unsigned char>(text[shown]) & 0xC0) == 0x80) --shown;
  }
  std::string result = "'";
  for (unsigned char c : text.substr(0, shown)) {
    if (c < 0x20 || c == 0x7F) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", c);
      result += escaped;
    } else {
      result += static_cast<char>(c);
    }
  }
  if (shown < text.size()) result += "...";
  return result + "'";
}

}  // namespace lodestone::config
