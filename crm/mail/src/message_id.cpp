#include "message_id.hpp"

#include "ascii.hpp"
#include "charset.hpp"
#include "lexer.hpp"

namespace lodestone::mail {

std::string normalise_message_id(std::string_view id) {
  id = trim(id);
  while (!id.empty() && id.front() == '<') id.remove_prefix(1);
  while (!id.empty() && id.back() == '>') id.remove_suffix(1);
  std::string utf8;
  append_utf8(utf8, id, "");
  // Folding whitespace goes; other control characters become U+FFFD, so two
  // different identifiers never collapse into one.
  std::string normalised;
  normalised.reserve(utf8.size());
  for (char c : utf8) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (u < 0x20 || u == 0x7F) {
      normalised.append("\xEF\xBF\xBD");
    } else {
      normalised.push_back(c);
    }
  }
  const auto at = normalised.rfind('@');
  if (at != std::string::npos) {
    for (std::size_t i = at + 1; i < normalised.size(); ++i) normalised[i] = lower_ascii(normalised[i]);
  }
  return normalised;
}

std::vector<std::string> parse_message_ids(std::string_view raw) {
  std::vector<std::string> ids;
  bool bracketed = false;
  std::size_t i = 0;
  while (i < raw.size()) {
    const char c = raw[i];
    if (c == '(' || c == '"') {
      // Skip a comment or a quoted phrase whole.
      Lexer lexer(raw.substr(i), "", false);
      lexer.next();
      i += lexer.position();
      continue;
    }
    if (c == '<') {
      bracketed = true;
      const auto close = raw.find('>', i + 1);
      const std::size_t end = close == std::string_view::npos ? raw.size() : close;
      std::string id = normalise_message_id(raw.substr(i + 1, end - i - 1));
      if (!id.empty()) ids.push_back(std::move(id));
      i = end + 1;
      continue;
    }
    ++i;
  }
  if (bracketed) return ids;
  const std::string words = strip_comments(raw);
  std::size_t start = 0;
  for (std::size_t j = 0; j <= words.size(); ++j) {
    if (j < words.size() && !is_space(words[j]) && words[j] != ',') continue;
    const std::string_view word = std::string_view(words).substr(start, j - start);
    if (word.find('@') != std::string_view::npos) ids.push_back(normalise_message_id(word));
    start = j + 1;
  }
  return ids;
}

}  // namespace lodestone::mail
