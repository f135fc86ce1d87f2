// Streaming IMAP codec for the tap.
//
// Three layers, each ignorant of the one above:
//
//  * Framer (one per direction) cuts the byte stream into the units IMAP is
//    made of: text segments (a line without its line end and without the
//    literal marker at its end) and the literals those markers announce.  A
//    command or response is a run of segments and literals that ends with a
//    line announcing no literal.  The framer never needs to understand a
//    command to stay in step, so nothing the parsers dislike can desynchronise
//    the tap; only a literal size that cannot be read can, and that stops it.
//
//  * CommandParser / ResponseParser follow one command or response at a time
//    as its pieces arrive, keeping small named states across literals, and
//    decide for each literal whether it is captured (a message body, a
//    mailbox name) or only counted.
//
//  * Session ties the directions together: which commands await their
//    tagged completion, which mailbox is selected, which events to emit.
//
// Choices that are not dictated by the RFCs:
//  * Lines end at LF; a CR right before it is dropped.  IMAP requires CRLF,
//    but accepting a bare LF costs nothing on CRLF traffic and keeps the tap
//    in step with a sloppy peer instead of gluing two lines together.
//  * Text of one command or response beyond CodecLimits::max_line is counted
//    and dropped.  What was kept (cut back to the last complete token) is
//    still parsed, so a tagged completion with an absurdly long text is still
//    seen.  A cut response that could have produced an event produces, in its
//    place, a CaptureSkipped (a FETCH that carried a body item, so it can be
//    backfilled by UID) or a Gap with events_lost = 1 (anything else); the tap
//    keeps following either way.
//  * A FETCH with a body item that turns out malformed yields CaptureSkipped,
//    for the same reason; malformed responses without a body are ignored.
//  * A mailbox name the codec could not keep (a literal over max_line, a cut
//    command) is reported as "": the selection still changes.
//
// Memory is bounded by design, whatever the peers send: per direction one
// line buffer (at most max_line, given back above 64 KiB) and one body being
// captured (at most capture_max, reserved once from the literal's size);
// APPEND bodies awaiting their tagged OK share capture_max; commands awaiting
// completion are charged against a fixed budget, past which the tap stops.
// Literal bytes are copied with one append per chunk or only counted, lines
// are found with memchr, and nesting of any depth is a counter.

#include "imap_codec.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <list>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lodestone::imap {

namespace {

using tap::MailboxRef;

// A 64-bit size has at most 20 decimal digits; more is not a size.
constexpr std::size_t kMaxSizeDigits = 20;
// Bytes of each line's end remembered for literal detection, whatever
// max_line is: "~{" + 20 digits + "+}" fits with room to tell a long digit
// run from a marker.
constexpr std::size_t kTailSize = 64;
// Tags longer than this are not tracked (real clients use a few characters).
constexpr std::size_t kMaxTag = 256;
// Commands awaiting their tagged completion, charged by their size: bounds
// what a client that pipelines without end can make us hold.
constexpr std::size_t kPendingBudget = 4 * 1024 * 1024;
// The text buffer keeps its capacity between messages up to this size;
// beyond it, a message's end gives the memory back.
constexpr std::size_t kRetainedCapacity = 1024;

constexpr const char* kTooLarge = "larger than capture limit";
constexpr const char* kOverBudget = "pending APPEND data beyond capture limit";
constexpr const char* kLineTooLong = "response longer than line limit";
constexpr const char* kCommandTooLong = "command longer than line limit";
constexpr const char* kMalformedFetch = "malformed FETCH response";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// What ends an atom: SP, parentheses, a double quote.  (Not strchr: it would
// also match a NUL, which is just another byte inside an atom here.)
bool is_delimiter(char c) { return c == ' ' || c == '(' || c == ')' || c == '"'; }

char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// IMAP keywords are ASCII and case-insensitive; `upper` is given in upper case.
bool iequals(std::string_view text, std::string_view upper) {
  if (text.size() != upper.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (ascii_upper(text[i]) != upper[i]) return false;
  }
  return true;
}

// A run of decimal digits that fits in T; nothing else.
template <class T>
std::optional<T> parse_number(std::string_view digits) {
  if (digits.empty() || digits.size() > kMaxSizeDigits) return std::nullopt;
  T value = 0;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    const T digit = static_cast<T>(c - '0');
    if (value > (std::numeric_limits<T>::max() - digit) / 10) return std::nullopt;
    value = static_cast<T>(value * 10 + digit);
  }
  return value;
}

// RFC 3501 tag: ASTRING-CHARs except "+", i.e. printable ASCII without
// SP ( ) { % * " \ and +.  Only such tags are tracked.
bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTag) return false;
  for (char c : tag) {
    if (c <= ' ' || c >= 0x7f) return false;
    if (std::strchr("(){%*\"\\+", c) != nullptr) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Reading tokens out of one text segment.

class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ == text_.size(); }
  char peek() const { return text_[pos_]; }
  void advance() { ++pos_; }
  bool eat(char c) {
    if (at_end() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void skip_spaces() {
    while (eat(' ')) {
    }
  }

  // An atom, number, tag or flag: everything up to SP, a parenthesis or a
  // double quote.  Empty when the cursor is on one of those.
  std::string_view word() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && !is_delimiter(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // A FETCH item name: an atom that may carry a "[section]", which can hold
  // spaces and parentheses (BODY[HEADER.FIELDS (FROM TO)]), and a "<partial>".
  // nullopt when the section does not close within this segment.
  std::optional<std::string_view> item_name() {
    const std::size_t start = pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '[') {
        const std::size_t close = text_.find(']', pos_);
        if (close == std::string_view::npos) return std::nullopt;
        pos_ = close + 1;
      } else if (c == ' ' || c == '(' || c == ')') {
        break;
      } else {
        ++pos_;
      }
    }
    return text_.substr(start, pos_ - start);
  }

  // A quoted string at the cursor; its unescaped content is appended to
  // `out` when given.  False when it does not end within this segment.
  bool quoted(std::string* out) {
    ++pos_;  // the opening quote
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (pos_ == text_.size()) return false;
        c = text_[pos_++];
      }
      if (out != nullptr) out->push_back(c);
    }
    return false;
  }

  // A "(flag flag ...)" list; flags are appended to `out`.
  bool flag_list(std::vector<std::string>& out) {
    if (!eat('(')) return false;
    for (;;) {
      skip_spaces();
      if (eat(')')) return true;
      const std::string_view flag = word();
      if (flag.empty()) return false;
      out.emplace_back(flag);
    }
  }

  // A response code "[NAME args]" right after the status word; name and args
  // stay empty when there is none (or it does not close).
  void response_code(std::string_view& name, std::string_view& args) {
    name = args = {};
    skip_spaces();
    if (!eat('[')) return;
    const std::string_view rest = text_.substr(pos_);
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return;
    const std::string_view code = rest.substr(0, close);
    const std::size_t space = code.find(' ');
    name = code.substr(0, space);
    if (space != std::string_view::npos) args = code.substr(space + 1);
    pos_ += close + 1;
  }

  // Skips the inside of a parenthesised value, `depth` levels deep, honouring
  // quoted strings.  True when the outermost ")" was reached.  A nesting of
  // any depth is only a counter.
  bool skip_nested(std::uint64_t& depth, bool& malformed) {
    while (pos_ < text_.size()) {
      const std::size_t next = text_.find_first_of("()\"", pos_);
      if (next == std::string_view::npos) break;
      pos_ = next;
      if (text_[pos_] == '"') {
        if (!quoted(nullptr)) {
          malformed = true;
          return false;
        }
        continue;
      }
      if (text_[pos_++] == '(') {
        ++depth;
      } else if (--depth == 0) {
        return true;
      }
    }
    pos_ = text_.size();
    return false;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------------------
// Framing.

struct LiteralMarker {
  enum class Kind { None, Literal, Unparsable };
  Kind kind = Kind::None;
  std::uint64_t size = 0;
  bool synchronizing = false;  // "{n}": the client waits for "+" before sending it
  std::size_t length = 0;      // bytes of "~{n+}" at the end of the line
};

// The literal announced at the end of a line, looking only at its last bytes.
// `tail` ends where the line ends (line end removed); `line_length` is the
// whole line's length, to know whether the tail starts the line.
LiteralMarker find_marker(std::string_view tail, std::uint64_t line_length) {
  LiteralMarker marker;
  if (tail.empty() || tail.back() != '}') return marker;
  const std::size_t close = tail.size() - 1;
  const bool plus = close > 0 && tail[close - 1] == '+';
  const std::size_t digits_end = close - (plus ? 1 : 0);
  std::size_t digits_start = digits_end;
  while (digits_start > 0 && is_digit(tail[digits_start - 1])) --digits_start;
  if (digits_start == 0) {
    // The digits run back past what we remember of a longer line.  Whether a
    // "{" precedes them is unknown; a size that long could not be read
    // anyway, and skipping the wrong byte count would desynchronise us.
    if (digits_end > 0 && line_length > tail.size()) marker.kind = LiteralMarker::Kind::Unparsable;
    return marker;
  }
  if (digits_start == digits_end || tail[digits_start - 1] != '{') return marker;
  const auto size = parse_number<std::uint64_t>(tail.substr(digits_start, digits_end - digits_start));
  if (!size) {
    marker.kind = LiteralMarker::Kind::Unparsable;
    return marker;
  }
  const bool binary = digits_start >= 2 && tail[digits_start - 2] == '~';
  marker.kind = LiteralMarker::Kind::Literal;
  marker.size = *size;
  marker.synchronizing = !plus;
  marker.length = tail.size() - (digits_start - 1) + (binary ? 1 : 0);
  return marker;
}

// Cuts one direction into segments and literals (see the top of the file).
// The handler is called with:
//   bool literals_allowed(char first_byte)   at the start of each message
//   void segment(std::string_view text, bool cut)
//   std::string* literal_begin(std::uint64_t size, bool synchronizing)
//       returns where to capture the literal, or nullptr to only count it
//   void literal_end()
//   void message_end()
//   void unparsable_literal()
//   bool following() const
class Framer {
 public:
  explicit Framer(std::size_t max_line) : max_line_(max_line) {}

  template <class Handler>
  void feed(std::string_view in, Handler& handler) {
    while (!in.empty() && handler.following()) {
      if (literal_left_ > 0) {
        // Literal bytes: copied when captured, otherwise only counted.
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(literal_left_, in.size()));
        if (capture_ != nullptr) capture_->append(in.data(), n);
        literal_left_ -= n;
        in.remove_prefix(n);
        if (literal_left_ == 0) end_literal(handler);
        continue;
      }
      if (at_message_start_) {
        literals_allowed_ = handler.literals_allowed(in.front());
        at_message_start_ = false;
      }
      const auto* lf = static_cast<const char*>(std::memchr(in.data(), '\n', in.size()));
      const std::size_t n = lf != nullptr ? static_cast<std::size_t>(lf - in.data()) : in.size();
      keep(in.substr(0, n));
      if (lf == nullptr) return;
      in.remove_prefix(n + 1);
      end_line(handler);
    }
  }

  // Forgets the message in progress; the next byte starts a new one.
  void abandon() {
    literal_left_ = 0;
    capture_ = nullptr;
    start_line();
    start_message();
  }

 private:
  // Line text: kept up to the message's max_line budget, always remembered
  // in the tail for literal detection.
  void keep(std::string_view text) {
    line_length_ += text.size();
    remember_tail(text);
    const std::size_t take = std::min(max_line_ - kept_, text.size());
    line_.append(text.data(), take);
    kept_ += take;
    dropped_ += text.size() - take;
  }

  void remember_tail(std::string_view text) {
    if (text.size() >= kTailSize) {
      std::memcpy(tail_.data(), text.data() + text.size() - kTailSize, kTailSize);
      tail_length_ = kTailSize;
      return;
    }
    const std::size_t overflow = std::max(tail_length_ + text.size(), kTailSize) - kTailSize;
    if (overflow > 0) {
      std::memmove(tail_.data(), tail_.data() + overflow, tail_length_ - overflow);
      tail_length_ -= overflow;
    }
    std::memcpy(tail_.data() + tail_length_, text.data(), text.size());
    tail_length_ += text.size();
  }

  template <class Handler>
  void end_line(Handler& handler) {
    const bool cr = tail_length_ > 0 && tail_[tail_length_ - 1] == '\r';
    const std::uint64_t length = line_length_ - (cr ? 1 : 0);
    if (cr && dropped_ == 0) --kept_;  // the CR was kept; it is no text
    if (dropped_ > (cr ? 1u : 0u)) cut_ = true;
    if (line_.size() > length) line_.resize(static_cast<std::size_t>(length));

    const std::string_view tail(tail_.data(), tail_length_ - (cr ? 1 : 0));
    const LiteralMarker marker = literals_allowed_ ? find_marker(tail, length) : LiteralMarker{};
    if (marker.kind == LiteralMarker::Kind::Unparsable) {
      handler.unparsable_literal();
      return;
    }
    std::string_view text(line_);
    text = text.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(text.size(), length - marker.length)));
    if (cut_) {
      // The last token may have been cut in two: hand over complete tokens only.
      const std::size_t space = text.rfind(' ');
      text = text.substr(0, space == std::string_view::npos ? 0 : space);
    }
    handler.segment(text, cut_);
    start_line();

    if (marker.kind == LiteralMarker::Kind::Literal) {
      capture_ = handler.literal_begin(marker.size, marker.synchronizing);
      literal_left_ = marker.size;
      if (literal_left_ == 0) end_literal(handler);
      return;
    }
    handler.message_end();
    start_message();
  }

  template <class Handler>
  void end_literal(Handler& handler) {
    capture_ = nullptr;
    handler.literal_end();
  }

  void start_line() {
    line_.clear();
    line_length_ = 0;
    dropped_ = 0;
    tail_length_ = 0;
  }

  void start_message() {
    at_message_start_ = true;
    kept_ = 0;
    cut_ = false;
    if (line_.capacity() > kRetainedCapacity) std::string().swap(line_);
  }

  const std::size_t max_line_;
  // Current line.
  std::string line_;               // kept text of the line
  std::uint64_t line_length_ = 0;  // all its bytes so far, kept or not
  std::uint64_t dropped_ = 0;      // bytes not kept (over max_line)
  std::array<char, kTailSize> tail_{};
  std::size_t tail_length_ = 0;
  // Current message.
  bool at_message_start_ = true;
  bool literals_allowed_ = true;
  std::size_t kept_ = 0;  // text kept for this message, at most max_line
  bool cut_ = false;      // some of this message's text was dropped
  // Current literal.
  std::uint64_t literal_left_ = 0;
  std::string* capture_ = nullptr;
};

// ---------------------------------------------------------------------------
// Client commands.

enum class Verb { Other, Select, Examine, Append, Deselect, Idle, Compress };

// One message of an APPEND; MULTIAPPEND sends several.
struct AppendedMessage {
  enum class Fate { Captured, TooLarge, OverBudget, Catenated };
  Fate fate = Fate::Captured;
  std::vector<std::string> flags;
  std::string body;
  std::uint64_t size = 0;
};

// A command the session keeps until its tagged completion.
struct Command {
  std::string tag;
  Verb verb = Verb::Other;
  bool cut = false;    // its text went past max_line: its arguments are unknown
  MailboxRef mailbox;  // SELECT/EXAMINE/APPEND target; SELECT collects UIDVALIDITY
  bool opened = false; // SELECT/EXAMINE: the server started answering it
  std::vector<AppendedMessage> messages;
  std::size_t cost = 0;  // charged against kPendingBudget while pending

  std::uint64_t captured_bytes() const {
    std::uint64_t total = 0;
    for (const auto& m : messages) {
      if (m.fate == AppendedMessage::Fate::Captured) total += m.size;
    }
    return total;
  }
};

struct Budget {
  std::size_t capture_max;
  std::size_t max_line;
  std::uint64_t append_bytes = 0;  // captured APPEND bodies awaiting the server's verdict
};

// Follows one client command through its segments and literals.
class CommandParser {
 public:
  explicit CommandParser(Budget& budget) : budget_(budget) {}

  const std::string& tag() const { return command_.tag; }

  void segment(std::string_view text, bool cut) {
    Cursor cursor(text);
    if (step_ == Step::Start) parse_start(cursor);
    // Each step parses until the text ends or it hands over to another step.
    bool more = true;
    while (more && !cursor.at_end()) {
      switch (step_) {
        case Step::Mailbox: parse_mailbox(cursor); break;
        case Step::AppendOptions: parse_append_options(cursor); break;
        case Step::Catenate: parse_catenate(cursor); break;
        default: more = false; break;  // nothing more to learn from this text
      }
    }
    // Cut text may look malformed only because it was cut: a command we
    // track still gets its completion, with its arguments unknown.
    if (cut && (step_ != Step::Malformed || command_.verb != Verb::Other)) {
      command_.cut = true;
      command_.mailbox.name.clear();
      step_ = Step::Rest;
    }
  }

  std::string* literal_begin(std::uint64_t size) {
    switch (step_) {
      case Step::Mailbox:
        step_ = Step::MailboxLiteral;
        if (size > budget_.max_line) return nullptr;  // name unknown; events carry ""
        command_.mailbox.name.reserve(static_cast<std::size_t>(size));
        return &command_.mailbox.name;
      case Step::AppendOptions:
        return begin_message(size);
      default:
        // CATENATE TEXT parts, SELECT parameters, other commands: relayed only.
        return nullptr;
    }
  }

  void literal_end() {
    if (step_ == Step::MailboxLiteral) {
      after_mailbox();
    } else if (step_ == Step::AppendData) {
      step_ = Step::AppendOptions;
    }
  }

  // At the command's end: the command to track, if it is one.
  std::optional<Command> finish() {
    const bool complete =
        step_ == Step::Rest ||
        (step_ == Step::AppendOptions && !command_.messages.empty() && !have_flags_);
    if (!complete) {
      reset();
      return std::nullopt;
    }
    Command done = std::move(command_);
    start_over();
    return done;
  }

  // Drops the command in progress and the APPEND data it held.
  void reset() {
    budget_.append_bytes -= command_.captured_bytes();
    start_over();
  }

 private:
  enum class Step {
    Start,           // nothing parsed yet: tag and command name come first
    Mailbox,         // SELECT/EXAMINE/APPEND: the mailbox name comes next
    MailboxLiteral,  // ... and is arriving as a literal
    AppendOptions,   // APPEND: flags, date-time, then a message or the end
    AppendData,      // an APPEND message literal is arriving
    Catenate,        // inside CATENATE ( ... ): relayed, never captured
    Rest,            // a command to track; the rest of it does not matter
    Malformed,       // nothing to track
  };

  void start_over() {
    command_ = Command{};
    flags_.clear();
    have_flags_ = false;
    step_ = Step::Start;
  }

  void parse_start(Cursor& cursor) {
    const std::string_view tag = cursor.word();
    const bool ok = valid_tag(tag) && cursor.eat(' ');
    // The tag is kept even when invalid, to recognise a refusal of this
    // command's synchronizing literal.
    command_.tag.assign(tag);
    const std::string_view name = ok ? cursor.word() : std::string_view{};
    if (name.empty()) {
      step_ = Step::Malformed;
      return;
    }
    step_ = Step::Rest;
    if (iequals(name, "SELECT")) {
      command_.verb = Verb::Select;
      step_ = Step::Mailbox;
    } else if (iequals(name, "EXAMINE")) {
      command_.verb = Verb::Examine;
      step_ = Step::Mailbox;
    } else if (iequals(name, "APPEND")) {
      command_.verb = Verb::Append;
      step_ = Step::Mailbox;
    } else if (iequals(name, "CLOSE") || iequals(name, "UNSELECT")) {
      command_.verb = Verb::Deselect;
    } else if (iequals(name, "IDLE")) {
      command_.verb = Verb::Idle;
    } else if (iequals(name, "COMPRESS")) {
      command_.verb = Verb::Compress;
    }
    // Anything else, UID FETCH/STORE/COPY/... included, is Verb::Other: the
    // client sends nothing worth capturing in it.
  }

  void parse_mailbox(Cursor& cursor) {
    cursor.skip_spaces();
    if (cursor.at_end()) return;  // the name comes as a literal
    if (cursor.peek() == '"') {
      if (!cursor.quoted(&command_.mailbox.name)) {
        step_ = Step::Malformed;
        return;
      }
    } else {
      const std::string_view atom = cursor.word();
      if (atom.empty()) {
        step_ = Step::Malformed;
        return;
      }
      command_.mailbox.name.assign(atom);
    }
    after_mailbox();
  }

  void after_mailbox() { step_ = command_.verb == Verb::Append ? Step::AppendOptions : Step::Rest; }

  // append-opts = [SP flag-list] [SP date-time], then the message data.
  void parse_append_options(Cursor& cursor) {
    while (step_ == Step::AppendOptions) {
      cursor.skip_spaces();
      if (cursor.at_end()) return;  // the message literal follows, or the command ends
      if (cursor.peek() == '(') {
        if (have_flags_ || !cursor.flag_list(flags_)) step_ = Step::Malformed;
        have_flags_ = true;
      } else if (cursor.peek() == '"') {  // date-time
        if (!cursor.quoted(nullptr)) step_ = Step::Malformed;
      } else if (iequals(cursor.word(), "CATENATE")) {
        cursor.skip_spaces();
        catenate_depth_ = 1;
        step_ = cursor.eat('(') ? Step::Catenate : Step::Malformed;
      } else {
        step_ = Step::Malformed;  // UTF8 (RFC 6855) and other append extensions
      }
    }
  }

  // CATENATE (TEXT {n} URL "..." ...): a message assembled by the server.
  // It takes an APPENDUID slot but emits nothing.
  void parse_catenate(Cursor& cursor) {
    bool malformed = false;
    if (cursor.skip_nested(catenate_depth_, malformed)) {
      AppendedMessage message;
      message.fate = AppendedMessage::Fate::Catenated;
      command_.messages.push_back(std::move(message));
      flags_.clear();
      have_flags_ = false;
      step_ = Step::AppendOptions;
    } else if (malformed) {
      step_ = Step::Malformed;
    }
  }

  std::string* begin_message(std::uint64_t size) {
    AppendedMessage message;
    message.flags = std::move(flags_);
    flags_.clear();
    have_flags_ = false;
    message.size = size;
    if (size > budget_.capture_max) {
      message.fate = AppendedMessage::Fate::TooLarge;
    } else if (budget_.append_bytes + size > budget_.capture_max) {
      // Bodies wait for the tagged OK; all of them together stay within
      // capture_max however many APPENDs a client pipelines.
      message.fate = AppendedMessage::Fate::OverBudget;
    } else {
      budget_.append_bytes += size;
      message.body.reserve(static_cast<std::size_t>(size));
    }
    command_.messages.push_back(std::move(message));
    step_ = Step::AppendData;
    auto& added = command_.messages.back();
    return added.fate == AppendedMessage::Fate::Captured ? &added.body : nullptr;
  }

  Budget& budget_;
  Step step_ = Step::Start;
  Command command_;
  std::vector<std::string> flags_;  // flags given for the next APPEND message
  bool have_flags_ = false;
  std::uint64_t catenate_depth_ = 0;
};

// ---------------------------------------------------------------------------
// Server responses.

// What a FETCH response told us, gathered item by item.
struct FetchResult {
  std::uint32_t uid = 0;
  bool has_flags = false;
  std::vector<std::string> flags;
  const char* item = nullptr;  // the first full-body item, if any
  bool captured = false;       // its body is in `body`
  std::uint64_t size = 0;      // its size, captured or not
  std::string body;
};

// Follows one server response through its segments and literals.
class ResponseParser {
 public:
  enum class Kind {
    Start,         // nothing parsed yet
    Ignored,       // nothing to learn from it
    Continuation,  // "+ ..."
    Fetch,         // "* n FETCH (...)"
    Expunge,       // "* n EXPUNGE"
    Vanished,      // "* VANISHED [(EARLIER)] uid-set"
    UntaggedOk,    // "* OK [code] ..."
    Tagged,        // "tag OK|NO|BAD [code] ..."
  };
  enum class Status { Ok, No, Bad };

  explicit ResponseParser(const Budget& budget) : budget_(budget) {}

  Kind kind() const { return kind_; }
  bool cut() const { return cut_; }
  bool fetch_complete() const { return step_ == FetchStep::Done; }
  FetchResult& fetch() { return fetch_; }
  std::uint32_t seq() const { return seq_; }  // of a FETCH or EXPUNGE
  const std::string& vanished() const { return text_; }
  bool earlier() const { return earlier_; }
  std::uint32_t uidvalidity() const { return uidvalidity_; }
  bool closed() const { return closed_; }
  const std::string& tag() const { return tag_; }
  Status status() const { return status_; }
  bool read_only() const { return read_only_; }
  std::string_view append_uids() const { return text_; }  // empty without APPENDUID

  void segment(std::string_view text, bool cut) {
    if (cut_) return;  // nothing after a cut is parsed
    cut_ = cut;
    Cursor cursor(text);
    if (kind_ == Kind::Start) parse_start(cursor);
    if (kind_ == Kind::Fetch) parse_fetch(cursor);
  }

  std::string* literal_begin(std::uint64_t size) {
    switch (kind_) {
      case Kind::Fetch: return cut_ ? nullptr : fetch_literal(size);
      case Kind::Expunge:
      case Kind::Vanished:
      case Kind::UntaggedOk: kind_ = Kind::Ignored; return nullptr;  // these carry no literal
      default: return nullptr;  // a tagged completion stays one, whatever its text
    }
  }

  void literal_end() {
    if (kind_ == Kind::Fetch && step_ == FetchStep::LiteralValue) step_ = FetchStep::Item;
  }

  // Ready for the next response; a body that was not moved out is released.
  void reset() {
    kind_ = Kind::Start;
    cut_ = false;
    step_ = FetchStep::Item;
    fetch_ = FetchResult{};
    earlier_ = closed_ = read_only_ = false;
    seq_ = uidvalidity_ = 0;
    text_.clear();
  }

 private:
  enum class FetchStep {
    Item,          // next: an item name, or the ")" that ends the list
    Value,         // next: the value of item_ (atom, string, list or literal)
    Nested,        // inside a parenthesised value (ENVELOPE, BODYSTRUCTURE...)
    LiteralValue,  // item_'s value is a literal in flight
    Done,          // the list is closed
    Bad,           // not a FETCH we understand
  };
  enum class Item { Uid, Flags, Body, Other };

  void parse_start(Cursor& cursor) {
    kind_ = Kind::Ignored;
    if (cursor.eat('+')) {
      kind_ = Kind::Continuation;
      return;
    }
    if (cursor.eat('*')) {
      if (cursor.eat(' ')) parse_untagged(cursor);
      return;
    }
    const std::string_view tag = cursor.word();
    if (tag.empty() || tag.size() > kMaxTag || !cursor.eat(' ')) return;
    const std::string_view status = cursor.word();
    if (iequals(status, "OK")) {
      status_ = Status::Ok;
    } else if (iequals(status, "NO")) {
      status_ = Status::No;
    } else if (iequals(status, "BAD")) {
      status_ = Status::Bad;
    } else {
      return;
    }
    kind_ = Kind::Tagged;
    tag_.assign(tag);
    std::string_view code, args;
    cursor.response_code(code, args);
    if (iequals(code, "READ-ONLY")) {
      read_only_ = true;
    } else if (iequals(code, "APPENDUID")) {
      // "uidvalidity uid-set"
      const std::size_t space = args.find(' ');
      const auto validity = parse_number<std::uint32_t>(args.substr(0, space));
      if (validity && space != std::string_view::npos) {
        uidvalidity_ = *validity;
        text_.assign(args.substr(space + 1));
      }
    }
  }

  void parse_untagged(Cursor& cursor) {
    const std::string_view first = cursor.word();
    if (iequals(first, "OK")) {
      kind_ = Kind::UntaggedOk;
      std::string_view code, args;
      cursor.response_code(code, args);
      if (iequals(code, "UIDVALIDITY")) {
        uidvalidity_ = parse_number<std::uint32_t>(args).value_or(0);
      } else if (iequals(code, "CLOSED")) {
        closed_ = true;
      }
      return;
    }
    if (iequals(first, "VANISHED")) {
      parse_vanished(cursor);
      return;
    }
    const auto number = parse_number<std::uint32_t>(first);
    if (!number || *number == 0 || !cursor.eat(' ')) return;
    const std::string_view what = cursor.word();
    if (iequals(what, "FETCH")) {
      cursor.skip_spaces();
      if (!cursor.eat('(')) return;
      kind_ = Kind::Fetch;
      seq_ = *number;
      step_ = FetchStep::Item;
    } else if (iequals(what, "EXPUNGE")) {
      cursor.skip_spaces();
      if (!cursor.at_end()) return;
      kind_ = Kind::Expunge;
      seq_ = *number;
    }
  }

  void parse_vanished(Cursor& cursor) {
    if (cut_) {  // the uid set was cut: reported as lost events
      kind_ = Kind::Vanished;
      return;
    }
    cursor.skip_spaces();
    if (cursor.eat('(')) {
      if (!iequals(cursor.word(), "EARLIER") || !cursor.eat(')')) return;
      earlier_ = true;
      cursor.skip_spaces();
    }
    const std::string_view set = cursor.word();
    cursor.skip_spaces();
    if (set.empty() || !cursor.at_end()) return;
    if (set.find_first_not_of("0123456789:,") != std::string_view::npos) return;
    kind_ = Kind::Vanished;
    text_.assign(set);
  }

  void parse_fetch(Cursor& cursor) {
    for (;;) {
      switch (step_) {
        case FetchStep::Item: {
          cursor.skip_spaces();
          if (cursor.at_end()) return;
          if (cursor.eat(')')) {
            step_ = FetchStep::Done;
            break;
          }
          const auto name = cursor.item_name();
          if (!name || name->empty()) {
            step_ = FetchStep::Bad;
            return;
          }
          classify(*name);
          step_ = FetchStep::Value;
          break;
        }
        case FetchStep::Value:
          cursor.skip_spaces();
          if (cursor.at_end()) return;  // the value is a literal
          parse_value(cursor);
          break;
        case FetchStep::Nested: {
          bool malformed = false;
          if (cursor.skip_nested(depth_, malformed)) {
            step_ = FetchStep::Item;
          } else {
            if (malformed) step_ = FetchStep::Bad;
            return;
          }
          break;
        }
        case FetchStep::Done:
          cursor.skip_spaces();
          if (!cursor.at_end()) step_ = FetchStep::Bad;
          return;
        case FetchStep::LiteralValue:
        case FetchStep::Bad:
          return;
      }
    }
  }

  // Which item the name is; body items carry the name the events use.
  void classify(std::string_view name) {
    // BODY[]<0>, BODY[HEADER], BODY[1], RFC822.SIZE, ENVELOPE, MODSEQ...
    item_ = Item::Other;
    body_name_ = nullptr;
    if (iequals(name, "UID")) {
      item_ = Item::Uid;
    } else if (iequals(name, "FLAGS")) {
      item_ = Item::Flags;
    } else {
      for (const char* body : {"BODY[]", "RFC822", "BINARY[]"}) {
        if (iequals(name, body)) {
          item_ = Item::Body;
          body_name_ = body;
        }
      }
    }
  }

  void parse_value(Cursor& cursor) {
    step_ = FetchStep::Item;
    const char c = cursor.peek();
    switch (item_) {
      case Item::Uid: {
        const auto uid = parse_number<std::uint32_t>(cursor.word());
        if (!uid) step_ = FetchStep::Bad;
        fetch_.uid = uid.value_or(0);
        return;
      }
      case Item::Flags:
        fetch_.flags.clear();
        if (!cursor.flag_list(fetch_.flags)) step_ = FetchStep::Bad;
        fetch_.has_flags = true;
        return;
      case Item::Body:
        if (c == '"') {
          quoted_body(cursor);
        } else if (!iequals(cursor.word(), "NIL")) {
          step_ = FetchStep::Bad;
        }
        return;
      case Item::Other:
        if (c == '(') {
          cursor.advance();
          depth_ = 1;
          step_ = FetchStep::Nested;
        } else if (c == '"') {
          if (!cursor.quoted(nullptr)) step_ = FetchStep::Bad;
        } else if (cursor.word().empty()) {
          step_ = FetchStep::Bad;
        }
        return;
    }
  }

  // A body sent as a quoted string: rare, but a valid nstring.
  void quoted_body(Cursor& cursor) {
    std::string* into = fetch_.item == nullptr ? &fetch_.body : nullptr;
    if (!cursor.quoted(into)) {
      step_ = FetchStep::Bad;
      return;
    }
    if (into == nullptr) return;  // a second body item: the first one wins
    fetch_.item = body_name_;
    fetch_.size = fetch_.body.size();
    fetch_.captured = fetch_.size <= budget_.capture_max;
    if (!fetch_.captured) std::string().swap(fetch_.body);
  }

  std::string* fetch_literal(std::uint64_t size) {
    if (step_ == FetchStep::Nested) return nullptr;  // a string inside ENVELOPE, BODYSTRUCTURE...
    if (step_ != FetchStep::Value || item_ == Item::Uid || item_ == Item::Flags) {
      step_ = FetchStep::Bad;
      return nullptr;
    }
    step_ = FetchStep::LiteralValue;
    if (item_ != Item::Body || fetch_.item != nullptr) return nullptr;
    fetch_.item = body_name_;
    fetch_.size = size;
    if (size > budget_.capture_max) return nullptr;
    fetch_.captured = true;
    fetch_.body.reserve(static_cast<std::size_t>(size));
    return &fetch_.body;
  }

  const Budget& budget_;
  Kind kind_ = Kind::Start;
  bool cut_ = false;
  // FETCH
  FetchStep step_ = FetchStep::Item;
  Item item_ = Item::Other;
  const char* body_name_ = nullptr;
  std::uint64_t depth_ = 0;
  FetchResult fetch_;
  // Other responses
  std::uint32_t seq_ = 0;
  bool earlier_ = false;
  bool closed_ = false;
  bool read_only_ = false;
  std::uint32_t uidvalidity_ = 0;  // [UIDVALIDITY n] or APPENDUID's first number
  std::string text_;               // VANISHED uid-set, or APPENDUID's uid-set
  std::string tag_;
  Status status_ = Status::Ok;
};

// The uids of an APPENDUID uid-set, one per appended message, or nullopt
// when the set does not name exactly `count` of them (then all get uid 0).
std::optional<std::vector<std::uint32_t>> expand_uid_set(std::string_view set, std::size_t count) {
  std::vector<std::uint32_t> uids;
  while (count > 0) {
    const std::size_t comma = set.find(',');
    const std::string_view part = set.substr(0, comma);
    const std::size_t colon = part.find(':');
    auto low = parse_number<std::uint32_t>(part.substr(0, colon));
    auto high = colon == std::string_view::npos ? low : parse_number<std::uint32_t>(part.substr(colon + 1));
    if (!low || !high || *low == 0 || *high == 0) return std::nullopt;
    if (*low > *high) std::swap(low, high);
    if (*high - *low >= count - uids.size()) return std::nullopt;  // more uids than messages
    for (std::uint64_t uid = *low; uid <= *high; ++uid) uids.push_back(static_cast<std::uint32_t>(uid));
    if (comma == std::string_view::npos) break;
    set.remove_prefix(comma + 1);
  }
  if (count == 0 || uids.size() != count) return std::nullopt;
  return uids;
}

// ---------------------------------------------------------------------------
// The session: both directions and what links them.

class Session {
 public:
  Session(CodecLimits limits, tap::EventSink& sink)
      : sink_(sink),
        budget_{limits.capture_max, limits.max_line, 0},
        client_framer_(budget_.max_line),
        server_framer_(budget_.max_line),
        command_(budget_),
        response_(budget_) {}

  void feed_client(std::string_view bytes) {
    ClientSide side{*this};
    guarded([&] { client_framer_.feed(bytes, side); });
  }

  void feed_server(std::string_view bytes) {
    ServerSide side{*this};
    guarded([&] { server_framer_.feed(bytes, side); });
  }

  bool following() const { return following_; }

  // The parsers hold references into the session.
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

 private:
  // Framer handlers: one per direction, forwarding to the parsers.
  struct ClientSide {
    Session& s;
    bool following() const { return s.following_; }
    bool literals_allowed(char) {
      // After IDLE the client's next line is "DONE": no command, no literal.
      s.in_done_line_ = s.expect_done_;
      return !s.in_done_line_;
    }
    void segment(std::string_view text, bool cut) {
      if (!s.in_done_line_) s.command_.segment(text, cut);
    }
    std::string* literal_begin(std::uint64_t size, bool synchronizing) {
      if (synchronizing) s.sync_wait_ = true;
      return s.command_.literal_begin(size);
    }
    void literal_end() { s.command_.literal_end(); }
    void message_end() { s.client_message_end(); }
    void unparsable_literal() { s.stop("unparsable literal"); }
  };

  struct ServerSide {
    Session& s;
    bool following() const { return s.following_; }
    bool literals_allowed(char first) { return first != '+'; }  // continue-req carries none
    void segment(std::string_view text, bool cut) { s.response_.segment(text, cut); }
    std::string* literal_begin(std::uint64_t size, bool) { return s.response_.literal_begin(size); }
    void literal_end() { s.response_.literal_end(); }
    void message_end() { s.server_message_end(); }
    void unparsable_literal() { s.stop("unparsable literal"); }
  };

  void client_message_end() {
    if (in_done_line_) {
      in_done_line_ = expect_done_ = false;
      return;
    }
    sync_wait_ = false;
    std::optional<Command> command = command_.finish();
    if (!command) return;
    const Verb verb = command->verb;
    if (verb == Verb::Other) return;  // its completion changes nothing we track
    command->cost = sizeof(Command) + command->tag.size() + command->mailbox.name.size();
    for (const auto& m : command->messages) {
      command->cost += sizeof(AppendedMessage);
      for (const auto& f : m.flags) command->cost += sizeof(std::string) + f.size();
    }
    if (pending_bytes_ + command->cost > kPendingBudget) {
      budget_.append_bytes -= command->captured_bytes();
      stop("too many commands awaiting completion");
      return;
    }
    pending_bytes_ += command->cost;
    pending_.push_back(std::move(*command));
    if (verb == Verb::Idle) expect_done_ = true;
  }

  void server_message_end() {
    switch (response_.kind()) {
      case ResponseParser::Kind::Continuation:
        sync_wait_ = false;  // the client may now send its literal
        break;
      case ResponseParser::Kind::Fetch:
        fetch_done();
        break;
      case ResponseParser::Kind::Expunge:
        if (response_.cut()) {
          lost(kLineTooLong);
        } else {
          tap::Expunged event;
          event.mailbox = selected_;
          event.seq = response_.seq();
          sink_.emit(std::move(event));
        }
        break;
      case ResponseParser::Kind::Vanished:
        if (response_.cut()) {
          lost(kLineTooLong);
        } else {
          tap::Vanished event;
          event.mailbox = selected_;
          event.uids = response_.vanished();
          event.earlier = response_.earlier();
          sink_.emit(std::move(event));
        }
        break;
      case ResponseParser::Kind::UntaggedOk:
        untagged_ok();
        break;
      case ResponseParser::Kind::Tagged:
        completed();
        break;
      case ResponseParser::Kind::Start:
      case ResponseParser::Kind::Ignored:
        break;
    }
    response_.reset();
  }

  void fetch_done() {
    FetchResult& f = response_.fetch();
    if (response_.cut() || !response_.fetch_complete()) {
      if (f.item != nullptr) {
        skipped(f.uid, f.size, response_.cut() ? kLineTooLong : kMalformedFetch);
      } else if (response_.cut()) {
        lost(kLineTooLong);
      }
      return;
    }
    if (f.item != nullptr && f.captured) {
      tap::MessageFetched event;
      event.mailbox = selected_;
      event.seq = response_.seq();
      event.uid = f.uid;
      event.has_flags = f.has_flags;
      event.flags = std::move(f.flags);
      event.item = f.item;
      event.body = std::move(f.body);
      sink_.emit(std::move(event));
      return;
    }
    // Flags still matter when the body could not be kept.
    if (f.item != nullptr) skipped(f.uid, f.size, kTooLarge);
    if (f.has_flags) {
      tap::FlagsChanged event;
      event.mailbox = selected_;
      event.seq = response_.seq();
      event.uid = f.uid;
      event.flags = std::move(f.flags);
      sink_.emit(std::move(event));
    }
  }

  // "* OK [UIDVALIDITY n]" and QRESYNC's "* OK [CLOSED]" only come from a
  // SELECT/EXAMINE being answered: from here on, untagged responses belong
  // to the new mailbox (with QRESYNC the server sends VANISHED and FETCH
  // before the tagged OK).  Responses to commands pipelined before the SELECT
  // came earlier, still attributed to the old mailbox.
  void untagged_ok() {
    if (response_.uidvalidity() == 0 && !response_.closed()) return;
    const auto opening = std::find_if(pending_.begin(), pending_.end(), [](const Command& c) {
      return c.verb == Verb::Select || c.verb == Verb::Examine;
    });
    if (opening == pending_.end()) return;
    if (response_.uidvalidity() != 0) opening->mailbox.uidvalidity = response_.uidvalidity();
    opening->opened = true;
    selected_ = opening->mailbox;
  }

  void completed() {
    const std::string& tag = response_.tag();
    // A synchronizing literal the server refused: the client never sends it
    // and goes on with its next command.
    if (sync_wait_ && command_.tag() == tag) {
      client_framer_.abandon();
      command_.reset();
      sync_wait_ = false;
    }
    const auto it = std::find_if(pending_.begin(), pending_.end(),
                                 [&](const Command& c) { return c.tag == tag; });
    if (it == pending_.end()) return;
    Command command = std::move(*it);
    pending_.erase(it);
    pending_bytes_ -= command.cost;
    const bool ok = response_.status() == ResponseParser::Status::Ok;

    switch (command.verb) {
      case Verb::Select:
      case Verb::Examine:
        if (ok) {
          selected_ = command.mailbox;
          tap::MailboxSelected event;
          event.mailbox = selected_;
          event.read_only = command.verb == Verb::Examine || response_.read_only();
          sink_.emit(std::move(event));
        } else if (response_.status() == ResponseParser::Status::No || command.opened) {
          // A failed SELECT leaves no mailbox selected; a BAD one (not even
          // parsed) changes nothing unless the server had started on it.
          selected_ = MailboxRef{};
        }
        break;
      case Verb::Append:
        budget_.append_bytes -= command.captured_bytes();
        if (ok) appended(command);
        break;
      case Verb::Deselect:
        if (ok) selected_ = MailboxRef{};
        break;
      case Verb::Idle:
        expect_done_ = false;  // refused before DONE: the next line is a command
        break;
      case Verb::Compress:
        if (ok) stop("compression");
        break;
      case Verb::Other:
        break;
    }
  }

  void appended(Command& command) {
    if (command.cut) {
      lost(kCommandTooLong, std::max<std::size_t>(command.messages.size(), 1));
      return;
    }
    MailboxRef mailbox{command.mailbox.name, 0};
    std::optional<std::vector<std::uint32_t>> uids;
    if (!response_.append_uids().empty()) {
      mailbox.uidvalidity = response_.uidvalidity();
      uids = expand_uid_set(response_.append_uids(), command.messages.size());
    }
    for (std::size_t i = 0; i < command.messages.size(); ++i) {
      AppendedMessage& m = command.messages[i];
      switch (m.fate) {
        case AppendedMessage::Fate::Captured: {
          tap::MessageAppended event;
          event.mailbox = mailbox;
          event.uid = uids ? (*uids)[i] : 0;
          event.flags = std::move(m.flags);
          event.body = std::move(m.body);
          sink_.emit(std::move(event));
          break;
        }
        case AppendedMessage::Fate::TooLarge:
        case AppendedMessage::Fate::OverBudget: {
          tap::CaptureSkipped event;
          event.mailbox = mailbox;
          event.size = m.size;
          event.reason = m.fate == AppendedMessage::Fate::TooLarge ? kTooLarge : kOverBudget;
          sink_.emit(std::move(event));
          break;
        }
        case AppendedMessage::Fate::Catenated:
          break;  // assembled by the server from parts: relayed only
      }
    }
  }

  void skipped(std::uint32_t uid, std::uint64_t size, const char* reason) {
    tap::CaptureSkipped event;
    event.mailbox = selected_;
    event.seq = response_.seq();
    event.uid = uid;
    event.size = size;
    event.reason = reason;
    sink_.emit(std::move(event));
  }

  // Events were lost but the tap still follows the stream.
  void lost(const char* reason, std::uint64_t events = 1) {
    tap::Gap event;
    event.mailbox = selected_;
    event.events_lost = events;
    event.reason = reason;
    sink_.emit(std::move(event));
  }

  // The tap cannot follow the stream any more: say so once, then ignore
  // everything, holding nothing.  Called from inside a framer's feed, which
  // returns as soon as it sees following() false.
  void stop(const char* reason) {
    tap::Gap event;
    event.mailbox = selected_;
    event.reason = reason;
    following_ = false;
    release();
    sink_.emit(std::move(event));
  }

  // The relay must never see an exception from its tap: a failed
  // allocation or a throwing sink ends the tapping, not the session.
  template <class Work>
  void guarded(Work work) {
    try {
      work();
    } catch (...) {
      following_ = false;
      release();
      try {
        tap::Gap event;
        event.mailbox = selected_;
        event.reason = "internal error";
        sink_.emit(std::move(event));
      } catch (...) {
        // Nothing more can be said; following() tells the rest.
      }
    }
  }

  void release() {
    pending_.clear();
    command_.reset();
    response_.reset();
    client_framer_.abandon();
    server_framer_.abandon();
  }

  tap::EventSink& sink_;
  Budget budget_;
  bool following_ = true;
  MailboxRef selected_;          // where untagged responses belong
  // Tracked commands awaiting completion, in send order.  A list: an empty
  // std::deque already allocates a block, and most sessions have none pending.
  std::list<Command> pending_;
  std::size_t pending_bytes_ = 0;
  bool sync_wait_ = false;     // the client announced a synchronizing literal; no "+" yet
  bool expect_done_ = false;   // an IDLE is running: the next client line is DONE
  bool in_done_line_ = false;  // the client line in progress is that DONE
  Framer client_framer_;
  Framer server_framer_;
  CommandParser command_;
  ResponseParser response_;
};

}  // namespace

struct ImapCodec::State {
  State(CodecLimits limits, tap::EventSink& sink) : session(limits, sink) {}
  Session session;
};

ImapCodec::ImapCodec(CodecLimits limits, tap::EventSink& sink)
    : state_(std::make_unique<State>(limits, sink)) {}

ImapCodec::~ImapCodec() = default;

void ImapCodec::feed_client(std::string_view bytes) {
  if (state_->session.following()) state_->session.feed_client(bytes);
}

void ImapCodec::feed_server(std::string_view bytes) {
  if (state_->session.following()) state_->session.feed_server(bytes);
}

bool ImapCodec::following() const { return state_->session.following(); }

}  // namespace lodestone::imap
