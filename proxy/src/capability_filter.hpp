// Hides the capabilities a tapping proxy cannot honour.  After login the
// proxy relays the server's bytes unchanged except here: in untagged
// CAPABILITY responses and in [CAPABILITY ...] response codes (greeting,
// tagged and untagged status responses).  See docs/admin.md for the list.
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lodestone::imap {

// True for a capability the proxy removes: COMPRESS=*, AUTH=*-PLUS (channel
// binding), UNAUTHENTICATE, STARTTLS, LOGINDISABLED.
bool is_hidden_capability(std::string_view capability);

// One response line without its line ending.  Returns the rewritten line when
// it carries capabilities and some were removed; nullopt when unchanged.
std::optional<std::string> filter_capability_line(std::string_view line);

// The streaming form, for the server-to-client relay.  Lines that cannot
// carry capabilities pass through as views of the input; only a line whose
// start could be a capability response is held back until its end (at most
// `max_held` bytes, then it is released unchanged).  Literal data is never
// inspected.
class CapabilityFilter {
 public:
  explicit CapabilityFilter(std::size_t max_held = 64 * 1024);

  // Filters one chunk.  The returned pieces, in order, are what to send; they
  // point into `in` or into the filter and stay valid until the next call.
  const std::vector<std::string_view>& filter(std::string_view in);

  // Gives up the start of a line held back so far, for a caller that stops
  // filtering (the stream is no longer IMAP text).
  std::string take_held();

 private:
  enum class State { line_start, held, text, literal };
  enum class Verdict { undecided, candidate, plain };

  Verdict classify_held() const;
  void finish_line(std::string_view line_without_eol);
  void push_view(std::string_view piece);
  void emit_owned(std::string text);

  std::size_t max_held_;
  State state_ = State::line_start;
  std::uint64_t literal_left_ = 0;
  std::string held_;         // start of a line that may carry capabilities
  bool held_is_candidate_ = false;  // held_ starts like a capability response
  std::string line_tail_;    // last bytes of a passed-through line, for "{n}"
  std::vector<std::string_view> pieces_;
  bool owned_piece_last_ = false;
  // A list, not a vector: earlier strings must not move (pieces point into
  // them), and an empty list allocates nothing in an idle session.
  std::list<std::string> owned_;
};

}  // namespace lodestone::imap
