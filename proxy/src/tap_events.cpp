#include "lodestone/tap_events.hpp"

namespace lodestone::tap {

namespace {

struct EventNamer {
  const char* operator()(const MailboxSelected&) const { return "mailbox_selected"; }
  const char* operator()(const MessageFetched&) const { return "message_fetched"; }
  const char* operator()(const MessageAppended&) const { return "message_appended"; }
  const char* operator()(const FlagsChanged&) const { return "flags_changed"; }
  const char* operator()(const Expunged&) const { return "expunged"; }
  const char* operator()(const Vanished&) const { return "vanished"; }
  const char* operator()(const CaptureSkipped&) const { return "capture_skipped"; }
  const char* operator()(const Gap&) const { return "gap"; }
};

}  // namespace

const char* event_name(const Event& event) { return std::visit(EventNamer{}, event); }

}  // namespace lodestone::tap
