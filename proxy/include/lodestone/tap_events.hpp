// What the IMAP tap reports about a session: the typed events the codec emits
// while it watches the relayed bytes.  Bodies are copies; the relay never
// waits for whoever consumes these.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace lodestone::tap {

// The mailbox a session has selected (empty name when none).
struct MailboxRef {
  std::string name;             // as the client named it (modified UTF-7)
  std::uint32_t uidvalidity = 0;  // 0 until the server reported one
};

struct MailboxSelected {
  MailboxRef mailbox;
  bool read_only = false;  // EXAMINE or [READ-ONLY]
};

// A full message body seen in a FETCH response: BODY[], RFC822 or BINARY[].
struct MessageFetched {
  MailboxRef mailbox;
  std::uint32_t seq = 0;
  std::uint32_t uid = 0;  // 0 when the response carried no UID
  bool has_flags = false;
  std::vector<std::string> flags;
  std::string item;  // "BODY[]", "RFC822" or "BINARY[]"
  std::string body;
};

// A message the client appended and the server accepted (tagged OK).
struct MessageAppended {
  MailboxRef mailbox;  // target mailbox; uidvalidity from APPENDUID if given
  std::uint32_t uid = 0;  // from APPENDUID, 0 when absent
  std::vector<std::string> flags;
  std::string body;
};

// An untagged FETCH that carried FLAGS but no body.
struct FlagsChanged {
  MailboxRef mailbox;
  std::uint32_t seq = 0;
  std::uint32_t uid = 0;
  std::vector<std::string> flags;
};

struct Expunged {
  MailboxRef mailbox;
  std::uint32_t seq = 0;
};

struct Vanished {
  MailboxRef mailbox;
  std::string uids;  // the sequence set as sent, e.g. "1:3,7"
  bool earlier = false;
};

// A body that was relayed but not captured (larger than the capture limit).
struct CaptureSkipped {
  MailboxRef mailbox;
  std::uint32_t seq = 0;
  std::uint32_t uid = 0;  // 0 for an APPEND or when unknown
  std::uint64_t size = 0;
  std::string reason;
};

// Events were lost: the queue was full, or the tap stopped following the
// stream (COMPRESS, an impossible literal).  Reconciliation starts here.
struct Gap {
  MailboxRef mailbox;
  std::uint64_t events_lost = 0;
  std::string reason;
};

using Event = std::variant<MailboxSelected, MessageFetched, MessageAppended, FlagsChanged,
                           Expunged, Vanished, CaptureSkipped, Gap>;

// Receives events as the codec produces them, in stream order.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void emit(Event&& event) = 0;
};

const char* event_name(const Event& event);

}  // namespace lodestone::tap
