// The tap's streaming IMAP codec: events for realistic sessions, the same
// events however the stream is cut, and calm in the face of hostile input.

#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "imap_codec.hpp"

namespace {

using namespace std::string_literals;
using lodestone::imap::CodecLimits;
using lodestone::imap::ImapCodec;
namespace tap = lodestone::tap;

// ---------------------------------------------------------------------------
// Building transcripts.

struct Piece {
  bool from_client;
  std::string bytes;
};
using Script = std::vector<Piece>;

Piece client(std::string bytes) { return {true, std::move(bytes)}; }
Piece server(std::string bytes) { return {false, std::move(bytes)}; }

// "{n}" (or another opening such as "~{", closing such as "+}"), CRLF, bytes.
std::string literal(const std::string& body, const std::string& open = "{",
                    const std::string& close = "}") {
  return open + std::to_string(body.size()) + close + "\r\n" + body;
}

std::string read_file(const std::string& relative) {
  std::ifstream in(std::string(LODESTONE_SOURCE_DIR) + "/tests/corpus/imap/" + relative,
                   std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A corpus session: "C: "/"S: " lines, CRLF appended, "#" comments.
Script read_session(const std::string& relative) {
  const std::string text = read_file(relative);
  Script script;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    REQUIRE(line.size() >= 2);
    REQUIRE((line[0] == 'C' || line[0] == 'S'));
    REQUIRE(line[1] == ':');
    const bool from_client = line[0] == 'C';
    const std::string bytes = (line.size() > 2 ? line.substr(3) : "") + "\r\n";
    if (script.empty() || script.back().from_client != from_client) {
      script.push_back({from_client, bytes});
    } else {
      script.back().bytes += bytes;
    }
  }
  return script;
}

// ---------------------------------------------------------------------------
// Recording events in a comparable form.

std::string ref(const tap::MailboxRef& m) { return m.name + "/" + std::to_string(m.uidvalidity); }

std::string flag_list(const std::vector<std::string>& flags) {
  std::string out = "(";
  for (const auto& f : flags) out += (out.size() > 1 ? " " : "") + f;
  return out + ")";
}

// One line per event, without body bytes: what the tests expect.
struct Brief {
  std::string operator()(const tap::MailboxSelected& e) const {
    return "selected " + ref(e.mailbox) + (e.read_only ? " read-only" : "");
  }
  std::string operator()(const tap::MessageFetched& e) const {
    return "fetched " + ref(e.mailbox) + " seq=" + std::to_string(e.seq) + " uid=" + std::to_string(e.uid) +
           " " + (e.has_flags ? flag_list(e.flags) : "noflags") + " " + e.item +
           " size=" + std::to_string(e.body.size());
  }
  std::string operator()(const tap::MessageAppended& e) const {
    return "appended " + ref(e.mailbox) + " uid=" + std::to_string(e.uid) + " " + flag_list(e.flags) +
           " size=" + std::to_string(e.body.size());
  }
  std::string operator()(const tap::FlagsChanged& e) const {
    return "flags " + ref(e.mailbox) + " seq=" + std::to_string(e.seq) + " uid=" + std::to_string(e.uid) +
           " " + flag_list(e.flags);
  }
  std::string operator()(const tap::Expunged& e) const {
    return "expunged " + ref(e.mailbox) + " seq=" + std::to_string(e.seq);
  }
  std::string operator()(const tap::Vanished& e) const {
    return "vanished " + ref(e.mailbox) + " " + e.uids + (e.earlier ? " earlier" : "");
  }
  std::string operator()(const tap::CaptureSkipped& e) const {
    return "skipped " + ref(e.mailbox) + " seq=" + std::to_string(e.seq) + " uid=" + std::to_string(e.uid) +
           " size=" + std::to_string(e.size) + " " + e.reason;
  }
  std::string operator()(const tap::Gap& e) const {
    return "gap " + ref(e.mailbox) + " lost=" + std::to_string(e.events_lost) + " " + e.reason;
  }
};

std::uint64_t fnv1a(const std::string& bytes) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

// The brief line plus the event's name and a hash of any body: two runs
// with equal exact lines emitted the same events.
std::string exact(const tap::Event& event) {
  std::string line = std::visit(Brief{}, event) + " [" + tap::event_name(event) + "]";
  if (const auto* f = std::get_if<tap::MessageFetched>(&event)) line += " #" + std::to_string(fnv1a(f->body));
  if (const auto* a = std::get_if<tap::MessageAppended>(&event)) line += " #" + std::to_string(fnv1a(a->body));
  return line;
}

class Recorder : public tap::EventSink {
 public:
  void emit(tap::Event&& event) override { events.push_back(std::move(event)); }
  std::vector<tap::Event> events;
};

struct Run {
  std::vector<tap::Event> events;
  bool following = true;

  std::vector<std::string> brief() const {
    std::vector<std::string> lines;
    for (const auto& e : events) lines.push_back(std::visit(Brief{}, e));
    return lines;
  }
  std::vector<std::string> exact() const {
    std::vector<std::string> lines;
    for (const auto& e : events) lines.push_back(::exact(e));
    return lines;
  }
};

// Feeds the script, starting a new chunk before every byte at a (global)
// offset for which cut_before says so.
Run play(const Script& script, const CodecLimits& limits,
         const std::function<bool(std::size_t)>& cut_before) {
  Recorder recorder;
  ImapCodec codec(limits, recorder);
  std::size_t base = 0;
  for (const auto& piece : script) {
    const std::string_view bytes = piece.bytes;
    std::size_t start = 0;
    for (std::size_t i = 1; i <= bytes.size(); ++i) {
      if (i < bytes.size() && !cut_before(base + i)) continue;
      const std::string_view chunk = bytes.substr(start, i - start);
      if (piece.from_client) {
        codec.feed_client(chunk);
      } else {
        codec.feed_server(chunk);
      }
      start = i;
    }
    base += bytes.size();
  }
  return {std::move(recorder.events), codec.following()};
}

// Plays the script whole, byte by byte, split in two at every offset (every
// n-th offset for big scripts) and in random chunks; all must agree.
Run check(const Script& script, const CodecLimits& limits = {}) {
  const Run whole = play(script, limits, [](std::size_t) { return false; });
  const auto expected = whole.exact();
  const auto agree = [&](const Run& other, const std::string& how) {
    if (other.exact() == expected && other.following == whole.following) return;
    INFO("fed " << how);
    REQUIRE(other.exact() == expected);
    REQUIRE(other.following == whole.following);
  };

  agree(play(script, limits, [](std::size_t) { return true; }), "byte by byte");

  std::size_t total = 0;
  for (const auto& piece : script) total += piece.bytes.size();
  const std::size_t stride = total <= 20000 ? 1 : total / 400 + 1;
  for (std::size_t split = 1; split < total; split += stride) {
    agree(play(script, limits, [split](std::size_t at) { return at == split; }),
          "in two at " + std::to_string(split));
  }

  std::mt19937 rng(20241112);
  for (int round = 0; round < 12; ++round) {
    std::vector<bool> cuts(total);
    std::uniform_int_distribution<int> one_in(0, 2 + round * round * 4);
    for (std::size_t i = 0; i < total; ++i) cuts[i] = one_in(rng) == 0;
    agree(play(script, limits, [&cuts](std::size_t at) { return cuts[at]; }),
          "in random chunks, round " + std::to_string(round));
  }
  return whole;
}

template <class T>
const T& event(const Run& run, std::size_t index) {
  REQUIRE(index < run.events.size());
  REQUIRE(std::holds_alternative<T>(run.events[index]));
  return std::get<T>(run.events[index]);
}

using Lines = std::vector<std::string>;

// Message bodies; m2 holds NULs, CRLFs and text that looks like responses.
const std::string m1 = "From: Ada <ada@customer.example>\r\nSubject: Quote\r\n\r\nHello Bob,\r\nplease quote.\r\n";
const std::string m2 = "Subject: tricky\r\n\r\nline\r\n\0\0 * 5 EXPUNGE\r\n)\r\na2 OK fake\r\nend {5}\r\n"s;
const std::string m3 = "Subject: short\r\n\r\nhi\r\n";

const std::string select_inbox = "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* 3 EXISTS\r\n"
                                 "* OK [UIDVALIDITY 1700000000] UIDs valid\r\n";

}  // namespace

TEST_CASE("event_name names every kind of event", "[imap_codec]") {
  CHECK(std::string(tap::event_name(tap::MailboxSelected{})) == "mailbox_selected");
  CHECK(std::string(tap::event_name(tap::MessageFetched{})) == "message_fetched");
  CHECK(std::string(tap::event_name(tap::MessageAppended{})) == "message_appended");
  CHECK(std::string(tap::event_name(tap::FlagsChanged{})) == "flags_changed");
  CHECK(std::string(tap::event_name(tap::Expunged{})) == "expunged");
  CHECK(std::string(tap::event_name(tap::Vanished{})) == "vanished");
  CHECK(std::string(tap::event_name(tap::CaptureSkipped{})) == "capture_skipped");
  CHECK(std::string(tap::event_name(tap::Gap{})) == "gap");
}

TEST_CASE("SELECT then FETCH captures full bodies and skips everything else", "[imap_codec]") {
  const std::string header = "From: Ada <ada@customer.example>\r\nSubject: Quote\r\n\r\n";
  const Script script = {
      client("a1 SELECT INBOX\r\n"),
      server(select_inbox + "a1 OK [READ-WRITE] Select completed.\r\n"),
      client("a2 UID FETCH 10:12 (UID FLAGS BODY.PEEK[])\r\n"),
      server("* 1 FETCH (UID 10 FLAGS (\\Seen) BODY[] " + literal(m1) + ")\r\n"
             "* 2 FETCH (FLAGS (\\Seen \\Flagged) BODY[] " + literal(m2) + " UID 11)\r\n"
             "* 3 FETCH (BODY[] " + literal(m3) + " UID 12)\r\n"
             "a2 OK Fetch completed.\r\n"),
      client("a3 FETCH 1 RFC822\r\n"),
      server("* 1 FETCH (RFC822 " + literal(m1) + ")\r\na3 OK done\r\n"),
      client("a4 FETCH 1:3 (ENVELOPE BODYSTRUCTURE FLAGS)\r\n"),
      server("* 1 FETCH (UID 10 ENVELOPE (\"Tue, 12 Nov 2024 08:55:10 +0100\" " +
             literal("Subject (with) \"parens\" BODY[] {3}") +
             " ((\"Ada (x\" NIL \"ada\" \"customer.example\")) NIL NIL NIL NIL NIL NIL \"<1@x>\")"
             " BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 12 1 NIL NIL NIL NIL)"
             "(\"application\" \"pdf\" (\"name\" " + literal("q(u)o.pdf") +
             ") NIL NIL \"base64\" 4000 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"b1\") NIL NIL NIL)"
             " FLAGS (\\Seen))\r\n"
             "* 2 FETCH (UID 11 BODY[]<0> " + literal("0123456789") + ")\r\n"
             "* 3 FETCH (UID 12 BODY[HEADER] " + literal(header) + " FLAGS (\\Flagged))\r\n"
             "* 3 FETCH (UID 12 BODY[1] \"quoted part\" BODY[HEADER.FIELDS (FROM SUBJECT)] " + literal(header) +
             " RFC822.SIZE 120 INTERNALDATE \"12-Nov-2024 08:55:10 +0100\" BINARY[2] ~" + literal("\0x"s) + ")\r\n"
             "a4 OK Fetch completed.\r\n"),
      client("a5 FETCH 3 (BODY[] FLAGS)\r\n"),
      server("* 3 FETCH (BODY[] \"tiny \\\"quoted\\\" \\\\ body\")\r\n"
             "* 3 FETCH (UID 12 BODY[] NIL FLAGS ())\r\n"
             "* 1 FETCH (UID 10 BODY[] {0}\r\n FLAGS (\\Seen))\r\n"
             "* 2 fetch (uid 11 body[] " + literal("lower") + ")\r\n"
             "a5 OK Fetch completed.\r\n"),
  };
  const Run run = check(script);
  const std::string mb = "INBOX/1700000000";
  CHECK(run.brief() == Lines{
      "selected " + mb,
      "fetched " + mb + " seq=1 uid=10 (\\Seen) BODY[] size=" + std::to_string(m1.size()),
      "fetched " + mb + " seq=2 uid=11 (\\Seen \\Flagged) BODY[] size=" + std::to_string(m2.size()),
      "fetched " + mb + " seq=3 uid=12 noflags BODY[] size=" + std::to_string(m3.size()),
      "fetched " + mb + " seq=1 uid=0 noflags RFC822 size=" + std::to_string(m1.size()),
      "flags " + mb + " seq=1 uid=10 (\\Seen)",
      "flags " + mb + " seq=3 uid=12 (\\Flagged)",
      "fetched " + mb + " seq=3 uid=0 noflags BODY[] size=20",
      "flags " + mb + " seq=3 uid=12 ()",
      "fetched " + mb + " seq=1 uid=10 (\\Seen) BODY[] size=0",
      "fetched " + mb + " seq=2 uid=11 noflags BODY[] size=5",
  });
  CHECK(event<tap::MessageFetched>(run, 1).body == m1);
  CHECK(event<tap::MessageFetched>(run, 2).body == m2);
  CHECK(event<tap::MessageFetched>(run, 3).body == m3);
  CHECK(event<tap::MessageFetched>(run, 4).body == m1);
  CHECK(event<tap::MessageFetched>(run, 7).body == "tiny \"quoted\" \\ body");
  CHECK(event<tap::MessageFetched>(run, 10).body == "lower");
  CHECK(run.following);
}

TEST_CASE("BINARY[] with a ~{n} literal keeps NULs and CRLFs byte for byte", "[imap_codec]") {
  const std::string png = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\r\n)\r\n* 1 EXPUNGE\r\n\0\0\0"s;
  const Script script = {
      client("b0 SELECT INBOX\r\n"),
      server(select_inbox + "b0 OK done\r\n"),
      client("b1 UID FETCH 11 (UID BINARY.PEEK[])\r\n"),
      server("* 2 FETCH (UID 11 BINARY[] ~" + literal(png) + ")\r\nb1 OK done\r\n"),
      client("b2 UID FETCH 11 (BINARY.PEEK[1] BINARY.SIZE[])\r\n"),
      server("* 2 FETCH (BINARY[1] ~" + literal(png) + " BINARY.SIZE[] 30 UID 11)\r\nb2 OK done\r\n"),
  };
  const Run run = check(script);
  CHECK(run.brief() == Lines{
      "selected INBOX/1700000000",
      "fetched INBOX/1700000000 seq=2 uid=11 noflags BINARY[] size=" + std::to_string(png.size()),
  });
  CHECK(event<tap::MessageFetched>(run, 1).body == png);
}

TEST_CASE("APPEND captures {n}, {n+} and ~{n} literals, with APPENDUID", "[imap_codec]") {
  const std::string binary = "\0\x01\x02\r\n\xff"s;
  const Script script = {
      client("c1 APPEND INBOX (\\Seen) {" + std::to_string(m1.size()) + "}\r\n"),
      server("+ Ready for literal data\r\n"),
      client(m1 + "\r\n"),
      server("c1 OK [APPENDUID 1700000000 13] Append completed.\r\n"),
      client("c2 APPEND \"Sent \\\"Items\\\"\" (\\Seen $Label1) \"05-Nov-2024 10:00:00 +0000\" " +
             literal(m2, "{", "+}") + "\r\n"),
      server("c2 OK [APPENDUID 42 7] Append completed.\r\n"),
      client("c3 APPEND INBOX ~{" + std::to_string(binary.size()) + "}\r\n"),
      server("+ go ahead\r\n"),
      client(binary + "\r\n"),
      server("c3 OK Append completed.\r\n"),
      client("c4 APPEND INBOX " + literal(m3, "{", "+}") + "\r\n"),
      server("c4 NO [OVERQUOTA] Quota exceeded\r\n"),
      client("c5 append {6}\r\n"),
      server("+ go ahead\r\n"),
      client("Drafts () " + literal(m3, "{", "+}") + "\r\n"),
      server("c5 OK [APPENDUID 9 1] Append completed.\r\n"),
  };
  const Run run = check(script);
  CHECK(run.brief() == Lines{
      "appended INBOX/1700000000 uid=13 (\\Seen) size=" + std::to_string(m1.size()),
      "appended Sent \"Items\"/42 uid=7 (\\Seen $Label1) size=" + std::to_string(m2.size()),
      "appended INBOX/0 uid=0 () size=6",
      "appended Drafts/9 uid=1 () size=" + std::to_string(m3.size()),
  });
  CHECK(event<tap::MessageAppended>(run, 0).body == m1);
  CHECK(event<tap::MessageAppended>(run, 1).body == m2);
  CHECK(event<tap::MessageAppended>(run, 2).body == binary);
  CHECK(event<tap::MessageAppended>(run, 3).body == m3);
}

TEST_CASE("MULTIAPPEND assigns APPENDUID uids in order; CATENATE is relayed only", "[imap_codec]") {
  const auto plus = [](const std::string& body) { return literal(body, "{", "+}"); };
  const Script script = {
      client("d1 APPEND INBOX (\\Seen) {" + std::to_string(m1.size()) + "}\r\n"),
      server("+ go\r\n"),
      client(m1 + " (\\Flagged) {" + std::to_string(m2.size()) + "}\r\n"),
      server("+ go\r\n"),
      client(m2 + " " + plus(m3) + "\r\n"),
      server("d1 OK [APPENDUID 1700000000 14:16] Append completed.\r\n"),
      client("d2 APPEND INBOX " + plus(m1) + " " + plus(m2) + "\r\n"),
      server("d2 OK [APPENDUID 1700000000 25,20] Append completed.\r\n"),
      client("d3 APPEND INBOX " + plus(m1) + " " + plus(m2) + "\r\n"),
      server("d3 OK [APPENDUID 1700000000 30] Append completed.\r\n"),
      client("d4 APPEND INBOX CATENATE (URL \"/INBOX;UIDVALIDITY=1700000000/;UID=13\" TEXT " + plus(m3) + ")\r\n"),
      server("d4 OK [APPENDUID 1700000000 31] Append completed.\r\n"),
      client("d5 APPEND INBOX CATENATE (TEXT {3+}\r\n((() (\\Seen) " + plus(m3) + "\r\n"),
      server("d5 OK [APPENDUID 1700000000 32:33] Append completed.\r\n"),
      client("d6 APPEND INBOX " + plus(m1) + " " + plus(m2) + "\r\n"),
      server("d6 NO [TOOBIG] Too big.\r\n"),
  };
  const Run run = check(script);
  const std::string mb = "INBOX/1700000000";
  CHECK(run.brief() == Lines{
      "appended " + mb + " uid=14 (\\Seen) size=" + std::to_string(m1.size()),
      "appended " + mb + " uid=15 (\\Flagged) size=" + std::to_string(m2.size()),
      "appended " + mb + " uid=16 () size=" + std::to_string(m3.size()),
      "appended " + mb + " uid=25 () size=" + std::to_string(m1.size()),
      "appended " + mb + " uid=20 () size=" + std::to_string(m2.size()),
      "appended " + mb + " uid=0 () size=" + std::to_string(m1.size()),
      "appended " + mb + " uid=0 () size=" + std::to_string(m2.size()),
      "appended " + mb + " uid=33 (\\Seen) size=" + std::to_string(m3.size()),
  });
  CHECK(event<tap::MessageAppended>(run, 1).body == m2);
  CHECK(event<tap::MessageAppended>(run, 2).body == m3);
}

TEST_CASE("A refused synchronizing literal is not expected from the client", "[imap_codec]") {
  const Script script = {
      client("e1 NOOP\r\ne2 APPEND INBOX (\\Seen) {5000}\r\n"),
      server("e1 OK NOOP completed.\r\n"),  // another tag: the literal is still due
      server("e2 NO [TOOBIG] Message too large.\r\n"),
      client("e3 SELECT Archive\r\n"),
      server("* OK [UIDVALIDITY 5] UIDs valid\r\ne3 OK [READ-WRITE] Select completed.\r\n"),
      // MULTIAPPEND: the second message's literal is refused.
      client("e4 APPEND INBOX {" + std::to_string(m1.size()) + "}\r\n"),
      server("+ go\r\n"),
      client(m1 + " ~{4000}\r\n"),
      server("e4 NO [TOOBIG] Message too large.\r\n"),
      client("e5 APPEND INBOX " + literal(m2, "{", "+}") + "\r\n"),
      server("e5 OK [APPENDUID 5 9] Append completed.\r\n"),
      // An empty synchronizing literal, refused.
      client("e6 APPEND INBOX {0}\r\n"),
      server("e6 BAD Empty message.\r\n"),
      client("e7 EXAMINE Archive\r\n"),
      server("e7 OK [READ-ONLY] Examine completed.\r\n"),
      // Accepted, then the APPEND fails: nothing to abandon.
      client("e8 APPEND INBOX {5}\r\n"),
      server("+ go\r\n"),
      client("hello\r\n"),
      server("e8 NO [OVERQUOTA] Quota exceeded.\r\n"),
      client("e9 SELECT INBOX\r\n"),
      server("* OK [UIDVALIDITY 6] UIDs valid\r\ne9 OK Select completed.\r\n"),
  };
  const Run run = check(script);
  CHECK(run.brief() == Lines{
      "selected Archive/5",
      "appended INBOX/5 uid=9 () size=" + std::to_string(m2.size()),
      "selected Archive/0 read-only",
      "selected INBOX/6",
  });
}

TEST_CASE("IDLE: untagged responses while idling, DONE is not a command", "[imap_codec]") {
  const Script script = {
      client("f1 SELECT INBOX\r\n"),
      server("* OK [UIDVALIDITY 3] UIDs valid\r\nf1 OK Select completed.\r\n"),
      client("f2 IDLE\r\n"),
      server("+ idling\r\n"),
      server("* 4 EXISTS\r\n* 2 FETCH (FLAGS (\\Seen \\Flagged))\r\n* 3 EXPUNGE\r\n"),
      client("DONE\r\n"),
      server("f2 OK Idle completed.\r\n"),
      client("f3 IDLE\r\n"),
      server("f3 BAD IDLE not now.\r\n"),  // refused: no DONE will come
      client("f4 EXAMINE Archive\r\n"),
      server("f4 OK [READ-ONLY] Examine completed.\r\n"),
      client("f5 IDLE\r\n"),
      server("+ idling\r\n"),
      client("DONE {3}\r\n"),  // a DONE line carries no literal
      server("f5 OK Idle completed.\r\n"),
      client("f6 SELECT INBOX\r\n"),
      server("f6 OK Select completed.\r\n"),
  };
  const Run run = check(script);
  CHECK(run.brief() == Lines{
      "selected INBOX/3",
      "flags INBOX/3 seq=2 uid=0 (\\Seen \\Flagged)",
      "expunged INBOX/3 seq=3",
      "selected Archive/0 read-only",
      "selected INBOX/0",
  });
}

TEST_CASE("EXPUNGE, VANISHED and flag changes carry the selected mailbox", "[imap_codec]") {
  const Script script = {
      client("g1 SELECT INBOX\r\n"),
      server("* OK [UIDVALIDITY 9] UIDs valid\r\ng1 OK Select completed.\r\n"),
      server("* 7 EXPUNGE\r\n* VANISHED (EARLIER) 1:3,7\r\n* VANISHED 5\r\n* vanished (earlier) 8\r\n"
             "* 1 FETCH (FLAGS (\\Deleted) UID 4)\r\n* 2 FETCH (UID 5 MODSEQ (77))\r\n"
             "* 3 FETCH (FLAGS (\\Seen) FLAGS (\\Answered))\r\n"),
  };
  const Run run = check(script);
  CHECK(run.brief() == Lines{
      "selected INBOX/9",
      "expunged INBOX/9 seq=7",
      "vanished INBOX/9 1:3,7 earlier",
      "vanished INBOX/9 5",
      "vanished INBOX/9 8 earlier",
      "flags INBOX/9 seq=1 uid=4 (\\Deleted)",
      "flags INBOX/9 seq=3 uid=0 (\\Answered)",
  });
}

TEST_CASE("SELECT variants: EXAMINE, READ-ONLY, failure, names, CLOSE, pipelining", "[imap_codec]") {
  const Script script = {
      client("h1 EXAMINE Archive\r\n"),
      server("* OK [UIDVALIDITY 5] UIDs valid\r\nh1 OK [READ-ONLY] Examine completed.\r\n"),
      client("h2 SELECT INBOX\r\n"),
      server("* OK [UIDVALIDITY 6] UIDs valid\r\nh2 OK [READ-ONLY] Select completed.\r\n"),
      client("h3 SELECT Nope\r\n"),
      server("h3 NO [NONEXISTENT] Mailbox doesn't exist.\r\n* 1 EXPUNGE\r\n"),
      client("h4 select \"Quoted \\\"name\\\" \\\\ here\"\r\n"),
      server("* OK [UIDVALIDITY 7] UIDs valid\r\nh4 ok Select completed.\r\n"),
      client("h5 SELECT {8}\r\n"),
      server("+ go\r\n"),
      client("Mail/Sub (CONDSTORE)\r\n"),
      server("* OK [UIDVALIDITY 8] UIDs valid\r\nh5 OK Select completed.\r\n"),
      client("h6 CLOSE\r\n"),
      server("h6 OK Close completed.\r\n* 2 EXPUNGE\r\n"),
      client("h7 SELECT INBOX\r\n"),
      server("* OK [UIDVALIDITY 6] UIDs valid\r\nh7 OK Select completed.\r\n"),
      client("h8 UNSELECT\r\n"),
      server("h8 OK Unselect completed.\r\n* 3 EXPUNGE\r\n"),
      client("h9 SELECT INBOX\r\n"),
      server("* OK [UIDVALIDITY 6] UIDs valid\r\nh9 OK Select completed.\r\n"),
      client("h10 SELECT Other (\r\n"),
      server("h10 BAD Error in arguments.\r\n* 4 EXPUNGE\r\n"),  // not even parsed: INBOX stays
      // A FETCH pipelined before a SELECT is answered for the old mailbox.
      client("h11 FETCH 1 (FLAGS)\r\nh12 SELECT Archive\r\n"),
      server("* 1 FETCH (FLAGS (\\Seen))\r\nh11 OK Fetch completed.\r\n"
             "* OK [UIDVALIDITY 5] UIDs valid\r\n* 2 EXPUNGE\r\nh12 OK Select completed.\r\n"),
  };
  const Run run = check(script);
  CHECK(run.brief() == Lines{
      "selected Archive/5 read-only",
      "selected INBOX/6 read-only",
      "expunged /0 seq=1",
      "selected Quoted \"name\" \\ here/7",
      "selected Mail/Sub/8",
      "expunged /0 seq=2",
      "selected INBOX/6",
      "expunged /0 seq=3",
      "selected INBOX/6",
      "expunged INBOX/6 seq=4",
      "flags INBOX/6 seq=1 uid=0 (\\Seen)",
      "expunged Archive/5 seq=2",
      "selected Archive/5",
  });
}

TEST_CASE("capture_max: one byte over is skipped, exactly at the limit is captured", "[imap_codec]") {
  CodecLimits limits;
  limits.capture_max = 16;
  const std::string at_limit = "0123456789abcdef";
  const std::string over = at_limit + "g";
  const Script script = {
      client("j1 SELECT INBOX\r\n"),
      server("* OK [UIDVALIDITY 1] UIDs valid\r\nj1 OK Select completed.\r\n"),
      server("* 1 FETCH (UID 1 BODY[] " + literal(at_limit) + ")\r\n"
             "* 2 FETCH (UID 2 FLAGS (\\Seen) BODY[] " + literal(over) + ")\r\n"
             "* 3 FETCH (BODY[] \"" + over + "\" UID 3)\r\n"
             "* 4 FETCH (UID 4 BODY[] {99999999999}\r\n"),
  };
  const Run run = check(script, limits);
  CHECK(run.brief() == Lines{
      "selected INBOX/1",
      "fetched INBOX/1 seq=1 uid=1 noflags BODY[] size=16",
      "skipped INBOX/1 seq=2 uid=2 size=17 larger than capture limit",
      "flags INBOX/1 seq=2 uid=2 (\\Seen)",
      "skipped INBOX/1 seq=3 uid=3 size=17 larger than capture limit",
  });
  CHECK(event<tap::MessageFetched>(run, 1).body == at_limit);
  CHECK(run.following);

  const Script appends = {
      client("k1 APPEND INBOX " + literal(over, "{", "+}") + "\r\n"),
      server("k1 OK [APPENDUID 1 4] Append completed.\r\n"),
      client("k2 APPEND INBOX " + literal(at_limit, "{", "+}") + "\r\n"),
      server("k2 OK [APPENDUID 1 5] Append completed.\r\n"),
      // Bodies waiting for their OK share capture_max.
      client("k3 APPEND INBOX {10+}\r\n0123456789\r\nk4 APPEND INBOX {10+}\r\n0123456789\r\n"),
      server("k3 OK [APPENDUID 1 6] Append completed.\r\nk4 OK [APPENDUID 1 7] Append completed.\r\n"),
      client("k5 APPEND INBOX {10+}\r\n0123456789\r\n"),
      server("k5 NO [OVERQUOTA] Quota exceeded.\r\n"),
      client("k6 APPEND INBOX {10+}\r\n0123456789\r\n"),
      server("k6 OK [APPENDUID 1 8] Append completed.\r\n"),
  };
  CHECK(check(appends, limits).brief() == Lines{
      "skipped INBOX/1 seq=0 uid=0 size=17 larger than capture limit",
      "appended INBOX/1 uid=5 () size=16",
      "appended INBOX/1 uid=6 () size=10",
      "skipped INBOX/1 seq=0 uid=0 size=10 pending APPEND data beyond capture limit",
      "appended INBOX/1 uid=8 () size=10",
  });
}

TEST_CASE("COMPRESS stops the tap with a gap", "[imap_codec]") {
  const Script script = {
      client("l0 SELECT INBOX\r\n"),
      server("* OK [UIDVALIDITY 2] UIDs valid\r\nl0 OK Select completed.\r\n"),
      client("l1 COMPRESS DEFLATE\r\n"),
      server("l1 NO [COMPRESSIONACTIVE] Not now.\r\n"),
      client("l2 COMPRESS DEFLATE\r\n"),
      server("l2 OK DEFLATE active\r\n\x78\x9c\xff\x00 * 1 EXPUNGE\r\n* 2 FETCH (BODY[] {99999999999999999999999}\r\n"s),
      client("\x78\x9c\x01\x02\r\nl3 SELECT Archive\r\n"s),
      server("* 3 EXPUNGE\r\nl3 OK Select completed.\r\n"),
  };
  const Run run = check(script);
  CHECK(run.brief() == Lines{"selected INBOX/2", "gap INBOX/2 lost=0 compression"});
  CHECK_FALSE(run.following);
}

TEST_CASE("Literal sizes: unreadable ones stop the tap, huge ones are only counted", "[imap_codec]") {
  SECTION("more than 20 digits") {
    const Run run = check({server("* 1 FETCH (BODY[] {000000000000000000001}\r\nx)\r\n* 2 EXPUNGE\r\n")});
    CHECK(run.brief() == Lines{"gap /0 lost=0 unparsable literal"});
    CHECK_FALSE(run.following);
  }
  SECTION("20 digits that overflow 64 bits") {
    const Run run = check({client("a APPEND INBOX {18446744073709551616}\r\n")});
    CHECK(run.brief() == Lines{"gap /0 lost=0 unparsable literal"});
    CHECK_FALSE(run.following);
  }
  SECTION("a wall of digits longer than the line tail") {
    const Run run = check({server("* 1 FETCH (X {" + std::string(200, '7') + "}\r\n")});
    CHECK(run.brief() == Lines{"gap /0 lost=0 unparsable literal"});
  }
  SECTION("the largest size, and digits that are no literal") {
    const Run run = check({
        server("* 1 OK 12345}\r\n* 2 OK {}\r\n* 3 OK {+}\r\n* 4 OK x{12a}\r\n* 5 EXPUNGE\r\n"),
        server("* 6 FETCH (BODY[] {18446744073709551615}\r\n" + std::string(1000, 'x')),
    });
    CHECK(run.brief() == Lines{"expunged /0 seq=5"});
    CHECK(run.following);
  }
}

TEST_CASE("Realistic sessions from the corpus", "[imap_codec][corpus]") {
  SECTION("Thunderbird against Dovecot") {
    const Run run = check(read_session("session_thunderbird.txt"));
    const std::string mb = "INBOX/1699999999";
    CHECK(run.brief() == Lines{
        "selected " + mb,
        "flags " + mb + " seq=1 uid=101 (\\Seen)",
        "flags " + mb + " seq=2 uid=102 (\\Seen $Forwarded)",
        "flags " + mb + " seq=3 uid=103 ()",
        "flags " + mb + " seq=3 uid=103 ()",
        "fetched " + mb + " seq=3 uid=103 noflags BODY[] size=390",
        "flags " + mb + " seq=3 uid=103 (\\Seen)",
        "appended Sent/1700000123 uid=42 (\\Seen) size=269",
        "expunged " + mb + " seq=2",
        "fetched " + mb + " seq=3 uid=104 (\\Recent) BODY[] size=162",
    });
    const std::string& body = event<tap::MessageFetched>(run, 5).body;
    CHECK(body.rfind("From: Ada Customer", 0) == 0);
    CHECK(body.find("* 9 EXPUNGE\r\n") != std::string::npos);
    CHECK(body.substr(body.size() - 5) == "Ada\r\n");
    CHECK(event<tap::MessageAppended>(run, 7).body.find("In-Reply-To: <c0ffee.103") != std::string::npos);
  }
  SECTION("QRESYNC re-synchronisation") {
    const Run run = check(read_session("session_qresync.txt"));
    const std::string mb = "INBOX/1699999999";
    CHECK(run.brief() == Lines{
        "selected Archive/77",
        "vanished " + mb + " 102,105:107 earlier",
        "flags " + mb + " seq=1 uid=101 (\\Seen \\Answered)",
        "flags " + mb + " seq=5 uid=110 ()",
        "selected " + mb,
        "fetched " + mb + " seq=5 uid=110 (\\Seen) RFC822 size=162",
        "vanished " + mb + " 101",
        "selected Sent/1700000123 read-only",
    });
  }
}

TEST_CASE("Hostile corpus files", "[imap_codec][corpus][hostile]") {
  struct Case {
    std::string file;
    std::string after_server;  // fed after the file, to see the tap is still in step
    Lines expected;
    bool following;
  };
  const std::vector<Case> cases = {
      {"unterminated_literal.server", "", {}, true},
      {"huge_literal.server", "", {}, true},
      {"overflow_literal.server", "", {"expunged /0 seq=1", "gap /0 lost=0 unparsable literal"}, false},
      {"overflow_uint64_literal.client", "", {"gap /0 lost=0 unparsable literal"}, false},
      {"largest_literal.client", "", {}, true},
      {"invalid_utf8.server", "",
       {"fetched /0 seq=1 uid=3 (\\Seen \xe2\x82) BODY[] size=4", "expunged /0 seq=2"}, true},
      {"nul_bytes.server", "", {"fetched /0 seq=2 uid=2 (\\Seen\0) BODY[] size=6"s, "expunged /0 seq=3"}, true},
      {"bare_lf.server", "",
       {"expunged /0 seq=4", "fetched /0 seq=1 uid=3 noflags BODY[] size=5", "flags /0 seq=2 uid=9 (\\Seen)"},
       true},
      {"continuation_brace.server", "", {"expunged /0 seq=5"}, true},
      {"unbalanced_fetch.server", "",
       {"skipped /0 seq=1 uid=5 size=5 malformed FETCH response", "expunged /0 seq=7"}, true},
      {"missing_tags.server", "", {"expunged /0 seq=8"}, true},
      {"garbage_commands.client", "* OK [UIDVALIDITY 4] UIDs valid\r\nb1 OK Select completed.\r\n",
       {"selected Trash/4"}, true},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    const bool from_client = c.file.substr(c.file.size() - 7) == ".client";
    Script script = {{from_client, read_file("hostile/" + c.file)}};
    if (!c.after_server.empty()) script.push_back(server(c.after_server));
    const Run run = check(script);
    CHECK(run.brief() == c.expected);
    CHECK(run.following == c.following);
  }
}

TEST_CASE("Text beyond max_line is dropped; the tap stays in step", "[imap_codec][hostile]") {
  CodecLimits limits;
  limits.max_line = 64;
  const std::string long_text(500, 't');
  std::string many_uids;
  for (int i = 1; i < 100; i += 2) many_uids += std::to_string(i) + ",";
  many_uids += "101";
  // Exactly max_line bytes of text, then one more.
  const std::string at_limit = "* 3 FETCH (UID 7 FLAGS (\\Seen) X-PAD \"" + std::string(24, 'p') + "\")";
  REQUIRE(at_limit.size() == 64);
  const std::string over = "* 3 FETCH (UID 7 FLAGS (\\Seen) X-PAD \"" + std::string(25, 'p') + "\")";
  const Script script = {
      client("m1 SELECT INBOX\r\n"),
      server("* OK [UIDVALIDITY 2] " + long_text + "\r\nm1 OK [READ-ONLY] " + long_text + "\r\n"),
      server("* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29\r\n"),
      server("* 1 FETCH (UID 5 FLAGS (\\Seen) BODY[] {5}\r\nhello ENVELOPE (\"" + long_text + "\"))\r\n"),
      server("* 2 FETCH (UID 6 X-LONG \"" + long_text + "\" FLAGS (\\Seen))\r\n"),
      server("* VANISHED (EARLIER) " + many_uids + "\r\n"),
      server(at_limit + "\r\n" + over + "\r\n"),
      server("* 4 EXPUNGE\r\n"),
      client("m2 APPEND INBOX (" + std::string(80, 'f') + ") {5+}\r\nhello\r\n"),
      server("m2 OK [APPENDUID 2 9] Append completed.\r\n"),
      client("m3 SELECT " + long_text + "\r\n"),
      server("m3 OK Select completed.\r\n* 5 EXPUNGE\r\n"),
  };
  const Run run = check(script, limits);
  CHECK(run.brief() == Lines{
      "selected INBOX/2 read-only",
      "skipped INBOX/2 seq=1 uid=5 size=5 response longer than line limit",
      "gap INBOX/2 lost=1 response longer than line limit",
      "gap INBOX/2 lost=1 response longer than line limit",
      "flags INBOX/2 seq=3 uid=7 (\\Seen)",
      "gap INBOX/2 lost=1 response longer than line limit",
      "expunged INBOX/2 seq=4",
      "gap INBOX/2 lost=1 command longer than line limit",
      "selected /0",
      "expunged /0 seq=5",
  });
  CHECK(run.following);
}

TEST_CASE("A 1 MiB line without CRLF, then more", "[imap_codec][hostile]") {
  const std::string mib(1024 * 1024, 'x');
  SECTION("server, stream ends inside the line") {
    const Run run = check({server("* 1 FETCH (" + mib)});
    CHECK(run.events.empty());
    CHECK(run.following);
  }
  SECTION("server, the line ends after 1 MiB") {
    const Run run = check({server(mib + "\r\n* 3 EXPUNGE\r\n")});
    CHECK(run.brief() == Lines{"expunged /0 seq=3"});
  }
  SECTION("client") {
    const Run run = check({client(mib + "\r\nz1 SELECT INBOX\r\n"), server("z1 OK Select completed.\r\n")});
    CHECK(run.brief() == Lines{"selected INBOX/0"});
  }
}

TEST_CASE("Random garbage lines leave the tap in step", "[imap_codec][hostile]") {
  std::mt19937 rng(424242);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 200);
  const auto garbage = [&](bool with_literals) {
    std::string out;
    for (int line = 0; line < 1000; ++line) {
      const int n = length(rng);
      for (int i = 0; i < n; ++i) {
        char c = static_cast<char>(byte(rng));
        out += c == '\n' ? ' ' : c;
      }
      if (!out.empty() && out.back() == '}') out.back() = '.';
      // A "+" line is a continuation request, which announces no literal.
      if (with_literals && n > 0 && out[out.size() - n] == '+') out[out.size() - n] = '-';
      if (with_literals && line % 3 == 0) {
        std::string body;
        for (int i = length(rng); i > 0; --i) body += static_cast<char>(byte(rng));
        out += " " + literal(body, line % 2 ? "~{" : "{", line % 5 ? "}" : "+}");
      }
      out += "\r\n";
    }
    return out;
  };
  for (const bool with_literals : {false, true}) {
    INFO("with literals: " << with_literals);
    const Run from_server = check({server(garbage(with_literals) + "* 1 EXPUNGE\r\n")});
    CHECK(from_server.brief() == Lines{"expunged /0 seq=1"});
    const Run from_client = check({client(garbage(with_literals) + "y1 SELECT INBOX\r\n"),
                                   server("y1 OK Select completed.\r\n")});
    CHECK(from_client.brief() == Lines{"selected INBOX/0"});
  }
}

TEST_CASE("100,000 nested parentheses are only a counter", "[imap_codec][hostile]") {
  const std::string open(100000, '(');
  const std::string close(100000, ')');
  const Run run = check({
      client("n1 SELECT " + open + "\r\nn2 APPEND INBOX CATENATE " + open + "\r\n"),
      server("* 1 FETCH (UID 5 BODYSTRUCTURE " + open + " FLAGS (\\Seen))\r\n"
             "* 2 FETCH (UID 6 BODYSTRUCTURE " + open + close + " FLAGS (\\Seen))\r\n"
             "* 3 FETCH (UID 7 BODYSTRUCTURE " + open + "{3}\r\n)))" + close + " BODY[] {2}\r\nhi)\r\n"),
  });
  CHECK(run.brief() == Lines{
      "flags /0 seq=2 uid=6 (\\Seen)",
      "fetched /0 seq=3 uid=7 noflags BODY[] size=2",
  });
}

TEST_CASE("A client that pipelines without end stops the tap, not the memory", "[imap_codec][hostile]") {
  std::string commands;
  for (int i = 0; i < 60000; ++i) commands += "t" + std::to_string(i) + " SELECT INBOX\r\n";
  const Run run = play({client(commands)}, CodecLimits{}, [](std::size_t) { return false; });
  CHECK(run.brief() == Lines{"gap /0 lost=0 too many commands awaiting completion"});
  CHECK_FALSE(run.following);
}

TEST_CASE("A sink that throws ends the tapping, never the caller", "[imap_codec]") {
  struct Throwing : tap::EventSink {
    int calls = 0;
    void emit(tap::Event&&) override {
      ++calls;
      throw std::runtime_error("queue broke");
    }
  } sink;
  ImapCodec codec(CodecLimits{}, sink);
  REQUIRE_NOTHROW(codec.feed_client("a1 SELECT INBOX\r\n"));
  REQUIRE_NOTHROW(codec.feed_server("a1 OK Select completed.\r\n* 1 EXPUNGE\r\n"));
  CHECK_FALSE(codec.following());
  CHECK(sink.calls == 2);  // the event, then the gap that reports the failure
  REQUIRE_NOTHROW(codec.feed_server("* 2 EXPUNGE\r\n"));
  CHECK(sink.calls == 2);
}
