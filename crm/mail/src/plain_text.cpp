#include "plain_text.hpp"

#include <cstring>

namespace lodestone::mail {
namespace {

bool is_ordinary(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 0x20 && u != 0x7F) || c == '\n' || c == '\t';
}

std::string normalise_lines(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    // Copy runs of ordinary characters whole; they are nearly everything.
    std::size_t run = i;
    while (run < utf8.size() && is_ordinary(utf8[run])) ++run;
    out.append(utf8.substr(i, run - i));
    if (run == utf8.size()) break;
    i = run;
    const char c = utf8[i];
    if (c == '\r') {
      out.push_back('\n');
      if (i + 1 < utf8.size() && utf8[i + 1] == '\n') ++i;
    } else if (c == '\f' || c == '\v') {
      out.push_back('\n');
    } else {
      out.append("\xEF\xBF\xBD");
    }
  }
  return out;
}

// RFC 3676 4.1-4.5: a line ending in a space (other than the signature
// separator "-- ") continues on the next line of the same quote depth.
std::string unflow(std::string_view text, bool delete_space) {
  std::string out;
  out.reserve(text.size());
  bool continuing = false;  // the previous line was flowed
  bool first_line = true;
  std::size_t previous_depth = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const void* eol = std::memchr(text.data() + pos, '\n', text.size() - pos);
    const std::size_t end = eol ? static_cast<std::size_t>(static_cast<const char*>(eol) - text.data()) : text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;

    std::size_t depth = 0;
    while (depth < line.size() && line[depth] == '>') ++depth;
    std::string_view content = line.substr(depth);
    if (!content.empty() && content.front() == ' ') content.remove_prefix(1);  // space-stuffing
    const bool flowed = !content.empty() && content.back() == ' ' && content != "-- ";
    if (flowed && delete_space) content.remove_suffix(1);

    if (!(continuing && depth == previous_depth)) {
      if (!first_line) out.push_back('\n');
      if (depth > 0) {
        out.append(depth, '>');
        out.push_back(' ');
      }
    }
    out.append(content);
    continuing = flowed;
    previous_depth = depth;
    first_line = false;
    if (!eol) break;
  }
  return out;
}

}  // namespace

std::string plain_text(std::string_view utf8, bool flowed, bool delete_space) {
  std::string text = normalise_lines(utf8);
  return flowed ? unflow(text, delete_space) : text;
}

}  // namespace lodestone::mail
