// The mbox format: splitting a mailbox into messages and undoing the ">From "
// escapes.  Pure functions over bytes, linear in their input.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace lodestone::crm {

inline constexpr std::string_view from_line_prefix = "From ";

inline bool starts_with_from_line(std::string_view bytes) { return bytes.starts_with(from_line_prefix); }

struct MboxMessage {
  std::size_t offset;        // where its From_ line starts in the mbox
  std::string_view escaped;  // the message without its From_ line, ">From " escapes still in
};

// Walks an mbox message by message.  A message starts at a From_ line: one
// beginning "From " at the start of the mbox or after an empty line (a "From "
// line elsewhere is message text an mboxo writer failed to escape).  The empty
// line before the next From_ line, or at the end, separates and is dropped.
class MboxSplitter {
 public:
  explicit MboxSplitter(std::string_view mbox);

  // What precedes the first From_ line: part of no message.  Empty for an mbox.
  std::string_view preamble() const noexcept { return preamble_; }

  // The next message, or nothing after the last.
  std::optional<MboxMessage> next();

 private:
  std::string_view mbox_;
  std::string_view preamble_;
  std::size_t next_;  // where the next From_ line starts; mbox_.size() after the last
};

// Where the first line of `message` beginning with one or more '>' and then
// "From " starts (an mboxrd escape), or npos.
std::size_t find_escaped_from_line(std::string_view message);

// `message` with one '>' removed from each escaped line; `first_escaped` is
// find_escaped_from_line(message), which the caller has already paid for.
std::string unescape_from_lines(std::string_view message, std::size_t first_escaped);

}  // namespace lodestone::crm
