// Streaming IMAP codec for the tap: pure (bytes in, events out, no I/O).
//
// It watches both directions of one post-login IMAP session and emits
// lodestone::tap events.  Chunks may be split at any byte; the events are the
// same however the stream is cut.  It never throws on bad input: whatever it
// cannot follow becomes a tap::Gap and the codec stops emitting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "lodestone/tap_events.hpp"

namespace lodestone::imap {

struct CodecLimits {
  // Bodies (FETCH BODY[]/RFC822/BINARY[], APPEND literals) larger than this
  // are not captured; a CaptureSkipped event is emitted instead.
  std::size_t capture_max = 50 * 1024 * 1024;
  // Non-literal text of one command or response kept for parsing.  Longer
  // text (a huge SEARCH result) is counted and dropped, not buffered.
  std::size_t max_line = 1024 * 1024;
};

class ImapCodec {
 public:
  ImapCodec(CodecLimits limits, tap::EventSink& sink);
  ~ImapCodec();
  ImapCodec(const ImapCodec&) = delete;
  ImapCodec& operator=(const ImapCodec&) = delete;

  // Bytes the client sent towards the server.
  void feed_client(std::string_view bytes);
  // Bytes the server sent towards the client.  The session feeds them before
  // relaying them, so a tagged answer is seen before the client can react.
  void feed_server(std::string_view bytes);

  // False once the codec has lost the stream (it then ignores input).
  bool following() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace lodestone::imap
