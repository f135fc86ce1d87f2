// Subject normalisation for the threading fallback, and names of link kinds.
#include <array>
#include <string>
#include <string_view>

#include "lodestone/crm/crm.hpp"

namespace lodestone::crm {
namespace {

// Reply and forward markers clients put in front of a subject, across the
// languages our users' correspondents write in (lower case; the subject is
// compared case-insensitively).
// Longer markers come before their prefixes ("fwd" before "fw", "res"
// before "re"), so the longest one is tried first.
constexpr std::array<std::string_view, 22> reply_markers{
    "fwd", "fw",  "res", "ref", "re",  "aw",  "wg",  "sv",   "vs",   "antw", "tr",
    "rv",  "rif", "r",   "odp", "ynt", "bls", "vb",  "enc",  "回复", "转发", "答复"};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with_marker(std::string_view text, std::string_view marker) {
  if (text.size() < marker.size()) return false;
  for (std::size_t i = 0; i < marker.size(); ++i)
    if (lower(text[i]) != marker[i]) return false;
  return true;
}

// The length of a "Re:", "Fwd[2]:", "AW (3) :" or "回复：" at the start of
// `text`, or 0 when there is none.
std::size_t marker_length(std::string_view text) {
  static constexpr std::string_view fullwidth_colon = "\xef\xbc\x9a";  // U+FF1A
  for (std::string_view marker : reply_markers) {
    if (!starts_with_marker(text, marker)) continue;
    std::size_t i = marker.size();
    while (i < text.size() && text[i] == ' ') ++i;
    // An optional count: "Re[2]:" or "Re (2):".
    if (i < text.size() && (text[i] == '[' || text[i] == '(')) {
      const char close = text[i] == '[' ? ']' : ')';
      std::size_t j = i + 1;
      while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
      if (j > i + 1 && j < text.size() && text[j] == close) i = j + 1;
    }
    while (i < text.size() && text[i] == ' ') ++i;
    if (i < text.size() && text[i] == ':') return i + 1;
    if (text.substr(i).starts_with(fullwidth_colon)) return i + fullwidth_colon.size();
  }
  return 0;
}

}  // namespace

std::string normalise_subject(std::string_view subject, bool* stripped) {
  if (stripped) *stripped = false;
  for (;;) {
    while (!subject.empty() && is_space(subject.front())) subject.remove_prefix(1);
    const std::size_t marker = marker_length(subject);
    if (marker == 0) break;
    subject.remove_prefix(marker);
    if (stripped) *stripped = true;
  }
  std::string out;
  out.reserve(subject.size());
  bool pending_space = false;
  for (char c : subject) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(lower(c));
  }
  return out;
}

std::string_view to_string(LinkTarget target) {
  switch (target) {
    case LinkTarget::contact: return "contact";
    case LinkTarget::lead: return "lead";
    case LinkTarget::account: return "account";
    case LinkTarget::deal: return "deal";
  }
  return "unknown";
}

std::string_view to_string(LinkHow how) {
  switch (how) {
    case LinkHow::address_match: return "address match";
    case LinkHow::manual: return "manual";
    case LinkHow::dropbox: return "dropbox";
  }
  return "unknown";
}

}  // namespace lodestone::crm
