#include "mbox.hpp"

namespace lodestone::crm {
namespace {

constexpr std::size_t npos = std::string_view::npos;

// Whether the last line of `text` (whose line break has been cut off) is
// empty: nothing, or only the CR of a CRLF, since the previous line break.
bool last_line_is_empty(std::string_view text) {
  if (text.ends_with('\r')) text.remove_suffix(1);
  return text.empty() || text.ends_with('\n');
}

// The first From_ line starting at or after `from`, or mbox.size().
std::size_t find_from_line(std::string_view mbox, std::size_t from) {
  if (from == 0 && starts_with_from_line(mbox)) return 0;
  // Each "\nFrom " is looked at once and the search resumes right after it,
  // so the whole walk through an mbox stays linear.
  for (std::size_t newline = mbox.find("\nFrom ", from == 0 ? 0 : from - 1); newline != npos;
       newline = mbox.find("\nFrom ", newline + 1)) {
    if (last_line_is_empty(mbox.substr(0, newline))) return newline + 1;
  }
  return mbox.size();
}

bool is_escaped_from_line(std::string_view rest) {
  const std::size_t quotes = rest.find_first_not_of('>');
  return quotes != 0 && quotes != npos && rest.substr(quotes).starts_with(from_line_prefix);
}

// The first escaped line starting at or after the line start `from`.
std::size_t find_escaped_from_line_at(std::string_view message, std::size_t from) {
  while (from < message.size()) {
    if (message[from] == '>' && is_escaped_from_line(message.substr(from))) return from;
    const std::size_t newline = message.find('\n', from);
    if (newline == npos) break;
    from = newline + 1;
  }
  return npos;
}

}  // namespace

MboxSplitter::MboxSplitter(std::string_view mbox) : mbox_(mbox), next_(find_from_line(mbox, 0)) {
  preamble_ = mbox_.substr(0, next_);
}

std::optional<MboxMessage> MboxSplitter::next() {
  if (next_ == mbox_.size()) return std::nullopt;
  const std::size_t offset = next_;
  const std::size_t from_line_end = mbox_.find('\n', offset);
  // A From_ line without a line break is the whole rest of the file: an empty message.
  const std::size_t body = from_line_end == npos ? mbox_.size() : from_line_end + 1;
  next_ = find_from_line(mbox_, body);

  // Drop the separating empty line ("\n" or "\r\n") in front of the next
  // From_ line or at the end of the file.  Before a From_ line it is always
  // there and inside [body, next_); at the end only when the writer put it.
  std::size_t end = next_;
  const std::string_view before_end = mbox_.substr(0, end);
  if (end > body && before_end.ends_with("\n\n")) {
    end -= 1;
  } else if (end > body + 1 && before_end.ends_with("\n\r\n")) {
    end -= 2;
  }
  return MboxMessage{offset, mbox_.substr(body, end - body)};
}

std::size_t find_escaped_from_line(std::string_view message) { return find_escaped_from_line_at(message, 0); }

std::string unescape_from_lines(std::string_view message, std::size_t first_escaped) {
  std::string unescaped;
  unescaped.reserve(message.size());
  std::size_t copied = 0;  // message[0, copied) is in `unescaped`, less the dropped '>'s
  for (std::size_t escaped = first_escaped; escaped != npos;) {
    unescaped.append(message.substr(copied, escaped - copied));
    copied = escaped + 1;  // skip one '>'
    const std::size_t newline = message.find('\n', escaped);
    escaped = newline == npos ? npos : find_escaped_from_line_at(message, newline + 1);
  }
  unescaped.append(message.substr(copied));
  return unescaped;
}

}  // namespace lodestone::crm
