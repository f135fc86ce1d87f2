// Mail sources: what discover_sources() makes of paths (kinds, folder labels,
// errors) and what read_messages() reads from Maildirs, mbox and .eml files,
// down to hostile mboxes (tests/corpus/mbox/) and huge generated ones.

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "lodestone/crm/mail_source.hpp"

namespace {

namespace fs = std::filesystem;
using lodestone::crm::discover_sources;
using lodestone::crm::MailSource;
using lodestone::crm::read_messages;
using lodestone::crm::SourceError;
using lodestone::crm::SourceKind;
using lodestone::crm::SourceLimits;
using lodestone::crm::SourceMessage;
using namespace std::string_literals;

// A fresh directory under /tmp for one test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/lodestone-mail-source-XXXXXX";
    if (!mkdtemp(pattern.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;  // a failed clean-up must not fail the test
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const noexcept { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A Maildir with cur/, new/ and tmp/ and nothing in them.
void make_maildir(const fs::path& dir) {
  for (const char* subdir : {"cur", "new", "tmp"}) fs::create_directories(dir / subdir);
}

struct ReadMessage {
  std::string raw;
  std::string location;
  std::vector<std::string> flags;
};

struct Skip {
  std::string location;
  std::string reason;
};

struct ReadResult {
  std::vector<ReadMessage> messages;
  std::vector<Skip> skipped;

  std::vector<std::string> raws() const {
    std::vector<std::string> raws;
    for (const ReadMessage& m : messages) raws.push_back(m.raw);
    return raws;
  }
};

ReadResult read_all(const MailSource& source, const SourceLimits& limits = {}) {
  ReadResult result;
  read_messages(
      source, limits,
      [&](const SourceMessage& m) {
        result.messages.push_back({std::string(m.raw), m.location, m.flags});
      },
      [&](std::string_view location, std::string_view reason) {
        result.skipped.push_back({std::string(location), std::string(reason)});
      });
  return result;
}

MailSource mbox_at(const fs::path& path) { return {SourceKind::mbox, path, "test", 0, 0}; }

ReadResult read_mbox(const TempDir& dir, std::string_view bytes, const SourceLimits& limits = {}) {
  const fs::path path = dir.path() / "test.mbox";
  write_file(path, bytes);
  return read_all(mbox_at(path), limits);
}

// what() of the SourceError discovery throws, after checking it names `path`.
std::string discovery_error(const fs::path& path) {
  try {
    discover_sources({path});
  } catch (const SourceError& e) {
    CHECK(e.path() == path);
    CHECK(std::string_view(e.what()).starts_with(path.string() + ": "));
    return e.what();
  }
  FAIL("no SourceError for " << path);
  return {};
}

// For inputs of megabytes: on failure Catch would print both strings whole,
// so this says only how long they are and where they part.
void check_messages(const ReadResult& result, const std::vector<std::string>& expected) {
  REQUIRE(result.messages.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const std::string& raw = result.messages[i].raw;
    const auto parting = std::ranges::mismatch(raw, expected[i]).in1 - raw.begin();
    INFO("message " << i << ": " << raw.size() << " bytes, expected " << expected[i].size() << ", first difference at "
                    << parting);
    CHECK((raw == expected[i]));
  }
}

std::string at_offset(const fs::path& path, std::size_t offset) { return path.string() + ":" + std::to_string(offset); }

}  // namespace

TEST_CASE("A Maildir: cur/ and new/ sorted by name, flags from the info, no tmp/ or dot files, Maildir++ subfolders") {
  TempDir dir;
  const fs::path root = dir.path() / "Maildir";
  make_maildir(root);
  write_file(root / "cur/1000.A.host:2,S", "Subject: a\n\nA\n");
  write_file(root / "new/1001.B.host", "Subject: b\n\nB\n");
  write_file(root / "cur/1002.C.host,S=9:2,TSRPFD", "Subject: c\n");
  write_file(root / "cur/1003.D.host:2,FFa", "Subject: d\n");
  write_file(root / "cur/.1004.hidden:2,S", "hidden\n");
  write_file(root / "tmp/1005.E.host", "in delivery\n");
  fs::create_directories(root / "cur/not-a-message");
  write_file(root / "dovecot-uidlist", "3 V1 N5\n");
  make_maildir(root / ".Sent");
  write_file(root / ".Sent/maildirfolder", "");
  write_file(root / ".Sent/cur/2000.S.host:2,S", "Subject: sent\n");
  make_maildir(root / ".Lists.Work");
  write_file(root / ".Lists.Work/new/3000.L.host", "Subject: list\n");
  fs::create_directories(root / ".NotAMaildir/cur");

  const std::vector<MailSource> sources = discover_sources({root});
  REQUIRE(sources.size() == 3);
  CHECK(sources[0].kind == SourceKind::maildir);
  CHECK(sources[0].path == root);
  CHECK(sources[0].folder == "INBOX");
  CHECK(sources[0].messages_hint == 4);
  CHECK(sources[0].bytes == 14 + 14 + 11 + 11);
  CHECK(sources[1].path == root / ".Lists.Work");
  CHECK(sources[1].folder == "Lists/Work");
  CHECK(sources[1].messages_hint == 1);
  CHECK(sources[2].path == root / ".Sent");
  CHECK(sources[2].folder == "Sent");

  const ReadResult inbox = read_all(sources[0]);
  CHECK(inbox.skipped.empty());
  REQUIRE(inbox.messages.size() == 4);
  CHECK(inbox.raws() ==
        std::vector<std::string>{"Subject: a\n\nA\n", "Subject: b\n\nB\n", "Subject: c\n", "Subject: d\n"});
  CHECK(inbox.messages[0].location == (root / "cur/1000.A.host:2,S").string());
  CHECK(inbox.messages[1].location == (root / "new/1001.B.host").string());
  CHECK(inbox.messages[0].flags == std::vector<std::string>{"\\Seen"});
  CHECK(inbox.messages[1].flags.empty());
  CHECK(inbox.messages[2].flags ==
        std::vector<std::string>{"\\Draft", "\\Flagged", "$Forwarded", "\\Answered", "\\Seen", "\\Deleted"});
  CHECK(inbox.messages[3].flags == std::vector<std::string>{"\\Flagged"});  // once; keyword letter 'a' ignored

  CHECK(read_all(sources[1]).raws() == std::vector<std::string>{"Subject: list\n"});
}

TEST_CASE("A Maildir++ subfolder given on its own keeps its subfolder label") {
  TempDir dir;
  const fs::path root = dir.path() / "Maildir";
  make_maildir(root);
  make_maildir(root / ".Lists.Work");
  make_maildir(dir.path() / ".not-in-a-maildir");

  const std::vector<MailSource> lists = discover_sources({root / ".Lists.Work"});
  REQUIRE(lists.size() == 1);
  CHECK(lists[0].folder == "Lists/Work");
  const std::vector<MailSource> with_slash = discover_sources({root.string() + "/.Lists.Work/"});
  REQUIRE(with_slash.size() == 1);
  CHECK(with_slash[0].folder == "Lists/Work");
  const std::vector<MailSource> plain = discover_sources({dir.path() / ".not-in-a-maildir"});
  REQUIRE(plain.size() == 1);
  CHECK(plain[0].folder == "INBOX");
}

TEST_CASE("Searching a directory finds Maildirs, mbox and .eml files, labelled by their path from there") {
  TempDir dir;
  const fs::path top = dir.path() / "export";
  make_maildir(top / "alice/Maildir");
  write_file(top / "alice/Maildir/cur/1.x:2,S", "Subject: a\n");
  make_maildir(top / "alice/Maildir/.Sent");
  write_file(top / "alice/Maildir/.Sent/new/2.x", "Subject: s\n");
  write_file(top / "alice/Maildir/cur/inner.mbox", "From inside a Maildir: a message, not a mailbox\n");
  write_file(top / "archive/2019.mbox", "From a\nSubject: 2019\n");
  write_file(top / "archive/empty.MBX", "");
  write_file(top / "Inbox", "From b\nSubject: thunderbird style\n");
  write_file(top / "notes/a.eml", "Subject: note a\n");
  write_file(top / "notes/b.EML", "Subject: note b\n");
  write_file(top / "direct.eml", "Subject: direct\n");
  write_file(top / "readme.txt", "not mail\n");
  write_file(top / "Inbox.msf", "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n");
  write_file(top / ".git/objects/ab", "From a hidden file\n");
  fs::create_directory_symlink(top / "alice", top / "link-to-alice");

  struct Expected {
    SourceKind kind;
    fs::path relative;
    std::string folder;
    std::size_t messages_hint;
  };
  const std::vector<Expected> expected{
      {SourceKind::mbox, "Inbox", "Inbox", 0},
      {SourceKind::maildir, "alice/Maildir", "alice/Maildir", 2},
      {SourceKind::maildir, "alice/Maildir/.Sent", "alice/Maildir/Sent", 1},
      {SourceKind::mbox, "archive/2019.mbox", "archive/2019", 0},
      {SourceKind::mbox, "archive/empty.MBX", "archive/empty", 0},
      {SourceKind::eml, "direct.eml", "export", 1},
      {SourceKind::eml, "notes/a.eml", "notes", 1},
      {SourceKind::eml, "notes/b.EML", "notes", 1},
  };
  // The same labels however the directory is spelled.
  for (const fs::path& spelling : {top, fs::path(top.string() + "/"), top / "alice/.."}) {
    INFO(spelling);
    const std::vector<MailSource> sources = discover_sources({spelling});
    REQUIRE(sources.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      INFO(expected[i].relative);
      CHECK(sources[i].kind == expected[i].kind);
      CHECK(sources[i].path.lexically_relative(spelling) == expected[i].relative);
      CHECK(sources[i].folder == expected[i].folder);
      CHECK(sources[i].messages_hint == expected[i].messages_hint);
    }
  }
  CHECK(discover_sources({top})[3].bytes == std::string_view("From a\nSubject: 2019\n").size());
}

TEST_CASE("Paths in the order given, mbox labels are the file name without .mbox or .mbx") {
  TempDir dir;
  write_file(dir.path() / "Archive.mbox", "From a\n\n");
  write_file(dir.path() / "spool/alice", "From a\n\n");
  write_file(dir.path() / "Old.mbx", "From a\n\n");
  write_file(dir.path() / ".mbox", "From a\n\n");
  const std::vector<MailSource> sources = discover_sources(
      {dir.path() / "Archive.mbox", dir.path() / "spool/alice", dir.path() / "Old.mbx", dir.path() / ".mbox"});
  REQUIRE(sources.size() == 4);
  CHECK(sources[0].folder == "Archive");
  CHECK(sources[1].folder == "alice");
  CHECK(sources[2].folder == "Old");
  CHECK(sources[3].folder == ".mbox");
  for (const MailSource& source : sources) CHECK(source.kind == SourceKind::mbox);
}

TEST_CASE("mbox with LF line ends: From_ lines and separating blank lines dropped, offsets in locations") {
  TempDir dir;
  const std::string mbox =
      "From alice@example.com Mon Jan  1 00:00:00 2024\n"
      "Subject: one\n\nbody one\n\n"
      "From bob@example.com Tue Jan  2 00:00:00 2024\n"
      "Subject: two\n\nbody two\nFrom here on: no blank line before, so no new message\n\n";
  const ReadResult result = read_mbox(dir, mbox);
  CHECK(result.skipped.empty());
  CHECK(result.raws() ==
        std::vector<std::string>{"Subject: one\n\nbody one\n",
                                 "Subject: two\n\nbody two\nFrom here on: no blank line before, so no new message\n"});
  REQUIRE(result.messages.size() == 2);
  const fs::path path = dir.path() / "test.mbox";
  CHECK(result.messages[0].location == at_offset(path, 0));
  CHECK(result.messages[1].location == at_offset(path, mbox.find("From bob")));
  CHECK(result.messages[0].flags.empty());
}

TEST_CASE("mbox with CRLF line ends") {
  TempDir dir;
  const ReadResult result = read_mbox(dir,
                                      "From alice@example.com Mon Jan  1 00:00:00 2024\r\n"
                                      "Subject: one\r\n\r\nbody one\r\n\r\n"
                                      "From bob@example.com Tue Jan  2 00:00:00 2024\r\n"
                                      "Subject: two\r\n\r\nbody two\r\nFrom here\r\n\r\n");
  CHECK(result.skipped.empty());
  CHECK(result.raws() ==
        std::vector<std::string>{"Subject: one\r\n\r\nbody one\r\n", "Subject: two\r\n\r\nbody two\r\nFrom here\r\n"});
}

TEST_CASE("mboxrd: lines of '>'s and \"From \" lose one '>', other lines with '>' stay") {
  TempDir dir;
  const ReadResult result = read_mbox(dir,
                                      "From a\n"
                                      ">From the first line\n"
                                      "Subject: x\n\n"
                                      ">From me\n"
                                      ">>From you\n"
                                      ">>>From them\n"
                                      "a >From mid-line\n"
                                      ">Fromage\n"
                                      ">From\n"
                                      "> From spaced\n"
                                      "\n"
                                      "From b\n"
                                      "Subject: y\n\n"
                                      "quoted\n"
                                      ">From at the end, without a line break");
  CHECK(result.skipped.empty());
  CHECK(result.raws() == std::vector<std::string>{"From the first line\n"
                                                  "Subject: x\n\n"
                                                  "From me\n"
                                                  ">From you\n"
                                                  ">>From them\n"
                                                  "a >From mid-line\n"
                                                  ">Fromage\n"
                                                  ">From\n"
                                                  "> From spaced\n",
                                                  "Subject: y\n\nquoted\nFrom at the end, without a line break"});
}

TEST_CASE("The last message: without a line break, with one, with the blank separator line") {
  TempDir dir;
  CHECK(read_mbox(dir, "From a\nSubject: x\n\nno line break").raws() ==
        std::vector<std::string>{"Subject: x\n\nno line break"});
  CHECK(read_mbox(dir, "From a\nSubject: x\n\nline break\n").raws() ==
        std::vector<std::string>{"Subject: x\n\nline break\n"});
  CHECK(read_mbox(dir, "From a\nSubject: x\n\nblank line\n\n").raws() ==
        std::vector<std::string>{"Subject: x\n\nblank line\n"});
  CHECK(read_mbox(dir, "From a\r\nSubject: x\r\n\r\nblank line\r\n\r\n").raws() ==
        std::vector<std::string>{"Subject: x\r\n\r\nblank line\r\n"});
}

TEST_CASE("An mbox that is only a From_ line holds one empty message, which is skipped") {
  TempDir dir;
  const fs::path path = dir.path() / "test.mbox";
  for (const char* mbox : {"From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n", "From MAILER-DAEMON", "From "}) {
    INFO(mbox);
    const ReadResult result = read_mbox(dir, mbox);
    CHECK(result.messages.empty());
    REQUIRE(result.skipped.size() == 1);
    CHECK(result.skipped[0].location == at_offset(path, 0));
    CHECK(result.skipped[0].reason == "empty message");
  }
}

TEST_CASE("An empty file is an mbox without messages") {
  TempDir dir;
  const fs::path path = dir.path() / "alice";
  write_file(path, "");
  const std::vector<MailSource> sources = discover_sources({path});
  REQUIRE(sources.size() == 1);
  CHECK(sources[0].kind == SourceKind::mbox);
  CHECK(sources[0].folder == "alice");
  CHECK(sources[0].bytes == 0);
  const ReadResult result = read_all(sources[0]);
  CHECK(result.messages.empty());
  CHECK(result.skipped.empty());
}

TEST_CASE("Bytes before the first From_ line are skipped, and a file without one is no mbox") {
  TempDir dir;
  const fs::path path = dir.path() / "test.mbox";
  ReadResult result = read_mbox(dir, "garbage\n\nFrom a\nSubject: x\n");
  CHECK(result.raws() == std::vector<std::string>{"Subject: x\n"});
  REQUIRE(result.skipped.size() == 1);
  CHECK(result.skipped[0].location == at_offset(path, 0));
  CHECK(result.skipped[0].reason == "bytes before the first \"From \" line belong to no message");

  result = read_mbox(dir, "Subject: x\n\nbody\nFrom here\n");
  CHECK(result.messages.empty());
  REQUIRE(result.skipped.size() == 1);
  CHECK(result.skipped[0].reason == "no \"From \" line: not an mbox");
}

TEST_CASE("NUL bytes pass through mbox and .eml files") {
  TempDir dir;
  const fs::path mbox = dir.path() / "nul.mbox";
  write_file(mbox, "From a\0b\nSub\0ject: \0\n\nbody\0\n\nFrom c\n\0\n"s);
  const std::vector<MailSource> sources = discover_sources({mbox});
  REQUIRE(sources.size() == 1);
  CHECK(sources[0].kind == SourceKind::mbox);
  CHECK(read_all(sources[0]).raws() == std::vector<std::string>{"Sub\0ject: \0\n\nbody\0\n"s, "\0\n"s});

  const fs::path eml = dir.path() / "nul.eml";
  write_file(eml, "Subject: \0\n\n\0\0\0"s);
  CHECK(read_all(discover_sources({eml}).at(0)).raws() == std::vector<std::string>{"Subject: \0\n\n\0\0\0"s});
}

TEST_CASE("A single message file is one message in \"Imported\"") {
  TempDir dir;
  const std::string message = "Return-Path: <a@example.com>\nSubject: hello\n\nbody\n";
  write_file(dir.path() / "hello.eml", message);
  write_file(dir.path() / "saved-message", message);
  write_file(dir.path() / "with-from-line.eml", "From a@example.com Mon Jan  1 00:00:00 2024\n" + message);

  for (const char* name : {"hello.eml", "saved-message", "with-from-line.eml"}) {
    INFO(name);
    const fs::path path = dir.path() / name;
    const std::vector<MailSource> sources = discover_sources({path});
    REQUIRE(sources.size() == 1);
    CHECK(sources[0].kind == SourceKind::eml);
    CHECK(sources[0].folder == "Imported");
    CHECK(sources[0].messages_hint == 1);
    CHECK(sources[0].bytes == fs::file_size(path));
    const ReadResult result = read_all(sources[0]);
    CHECK(result.skipped.empty());
    REQUIRE(result.messages.size() == 1);
    CHECK(result.messages[0].raw == read_file(path));  // a From_ line is the mail parser's to skip
    CHECK(result.messages[0].location == path.string());
    CHECK(result.messages[0].flags.empty());
  }
}

TEST_CASE("Not a mail source: missing paths, junk, empty directories, misnamed files") {
  TempDir dir;
  CHECK_THAT(discovery_error(dir.path() / "missing"), Catch::EndsWith(": does not exist"));
  CHECK_THAT(discovery_error(dir.path() / "missing/deeper.mbox"), Catch::EndsWith(": does not exist"));

  write_file(dir.path() / "junk.bin",
             "\x7f"
             "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0"s);
  CHECK_THAT(discovery_error(dir.path() / "junk.bin"), Catch::Contains("is not a mail source"));
  write_file(dir.path() / "junk.eml", "\x89PNG\r\n\x1a\n"s);
  CHECK_THAT(discovery_error(dir.path() / "junk.eml"), Catch::Contains("is not a mail source"));
  write_file(dir.path() / "empty.eml", "");
  CHECK_THAT(discovery_error(dir.path() / "empty.eml"), Catch::EndsWith(": is empty"));
  write_file(dir.path() / "prose.txt", "Dear diary: today\n");  // a colon, but after a blank
  CHECK_THAT(discovery_error(dir.path() / "prose.txt"), Catch::Contains("is not a mail source"));

  fs::create_directories(dir.path() / "empty-dir");
  CHECK_THAT(discovery_error(dir.path() / "empty-dir"), Catch::Contains("no Maildir, mbox or .eml file in it"));
  write_file(dir.path() / "no-mail/readme.txt", "nothing here\n");
  write_file(dir.path() / "no-mail/.hidden.mbox", "From a\n");
  CHECK_THAT(discovery_error(dir.path() / "no-mail"), Catch::Contains("no Maildir, mbox or .eml file in it"));

  write_file(dir.path() / "misnamed/archive.mbox", "Subject: not an mbox\n");
  try {
    discover_sources({dir.path() / "misnamed"});
    FAIL("no SourceError");
  } catch (const SourceError& e) {
    CHECK(e.path() == dir.path() / "misnamed/archive.mbox");
    CHECK_THAT(e.what(), Catch::Contains("does not start with a \"From \" line"));
  }

  CHECK_THAT(discovery_error("/dev/null"), Catch::EndsWith(": is neither a regular file nor a directory"));
}

TEST_CASE("Paths that cannot be read are SourceErrors, links that cannot be followed are passed over in a search") {
  // A link loop fails for root too, where permissions would not.
  TempDir dir;
  fs::create_symlink(dir.path() / "loop-b", dir.path() / "loop-a");
  fs::create_symlink(dir.path() / "loop-a", dir.path() / "loop-b");
  CHECK_THAT(discovery_error(dir.path() / "loop-a"),
             Catch::Contains("cannot be read: Too many levels of symbolic links"));

  write_file(dir.path() / "Inbox.mbox", "From a\n");
  const std::vector<MailSource> sources = discover_sources({dir.path()});
  REQUIRE(sources.size() == 1);
  CHECK(sources[0].folder == "Inbox");
}

TEST_CASE("Messages over the limit are skipped and reading goes on") {
  TempDir dir;
  const SourceLimits limits{.max_message_bytes = 20};
  const std::string big(21, 'x');
  const fs::path path = dir.path() / "test.mbox";
  const std::string mbox = "From a\nsmall one\n\nFrom b\n" + big + "\n\nFrom c\nsmall two\n";
  const ReadResult result = read_mbox(dir, mbox, limits);
  CHECK(result.raws() == std::vector<std::string>{"small one\n", "small two\n"});
  REQUIRE(result.skipped.size() == 1);
  CHECK(result.skipped[0].location == at_offset(path, mbox.find("From b")));
  CHECK(result.skipped[0].reason == "message of 22 bytes is over the limit of 20 bytes");

  const fs::path maildir = dir.path() / "Maildir";
  make_maildir(maildir);
  write_file(maildir / "cur/1:2,S", "small\n");
  write_file(maildir / "cur/2:2,S", big);
  write_file(maildir / "cur/3:2,S", "also small\n");
  const ReadResult maildir_result = read_all(discover_sources({maildir}).at(0), limits);
  CHECK(maildir_result.raws() == std::vector<std::string>{"small\n", "also small\n"});
  REQUIRE(maildir_result.skipped.size() == 1);
  CHECK(maildir_result.skipped[0].location == (maildir / "cur/2:2,S").string());
  CHECK(maildir_result.skipped[0].reason == "message of 21 bytes is over the limit of 20 bytes");
}

TEST_CASE("Files that vanish while a source is read are skipped, and reading goes on") {
  TempDir dir;
  const fs::path maildir = dir.path() / "Maildir";
  make_maildir(maildir);
  write_file(maildir / "new/1", "Subject: one\n");
  write_file(maildir / "new/2", "Subject: two\n");
  write_file(maildir / "new/3", "Subject: three\n");
  write_file(dir.path() / "gone.mbox", "From a\nSubject: x\n");
  const std::vector<MailSource> sources = discover_sources({maildir, dir.path() / "gone.mbox"});
  REQUIRE(sources.size() == 2);

  // A mail client expunges message 2 after the Maildir was listed.
  std::vector<std::string> read;
  std::vector<Skip> skipped;
  read_messages(
      sources[0], {},
      [&](const SourceMessage& m) {
        read.emplace_back(m.raw);
        fs::remove(maildir / "new/2");
      },
      [&](std::string_view location, std::string_view reason) {
        skipped.push_back({std::string(location), std::string(reason)});
      });
  CHECK(read == std::vector<std::string>{"Subject: one\n", "Subject: three\n"});
  REQUIRE(skipped.size() == 1);
  CHECK(skipped[0].location == (maildir / "new/2").string());
  CHECK(skipped[0].reason == "cannot be opened: No such file or directory");

  fs::remove(dir.path() / "gone.mbox");
  const ReadResult mbox_result = read_all(sources[1]);
  CHECK(mbox_result.messages.empty());
  REQUIRE(mbox_result.skipped.size() == 1);
  CHECK(mbox_result.skipped[0].location == (dir.path() / "gone.mbox").string());
  CHECK(mbox_result.skipped[0].reason == "cannot be opened: No such file or directory");

  fs::remove_all(maildir);
  const ReadResult gone_result = read_all(sources[0]);
  CHECK(gone_result.messages.empty());
  REQUIRE(gone_result.skipped.size() == 2);
  CHECK(gone_result.skipped[0].location == (maildir / "new").string());
  CHECK(gone_result.skipped[1].location == (maildir / "cur").string());
  CHECK(gone_result.skipped[0].reason == "cannot be read: No such file or directory");
}

namespace {

struct CorpusExpectation {
  std::size_t messages;
  std::size_t skipped;
};

// What each file in tests/corpus/mbox/ yields; see its README.
CorpusExpectation expected_from(const std::string& name) {
  if (name == "truncated-from-line.mbox") return {0, 1};
  if (name == "from-space-only.mbox") return {0, 1};
  if (name == "empty-messages.mbox") return {0, 10'000};
  if (name == "nul-bytes.mbox") return {3, 0};
  if (name == "invalid-utf8.mbox") return {2, 0};
  if (name == "mixed-line-ends.mbox") return {3, 1};
  if (name == "bare-cr.mbox") return {0, 1};
  if (name == "deep-escapes.mbox") return {1, 0};
  if (name == "no-from-line.mbox") return {0, 1};
  if (name == "preamble.mbox") return {1, 1};
  if (name == "separator-at-end.mbox") return {1, 1};
  if (name == "blank-lines-only.mbox") return {1, 0};
  if (name == "from-lines-without-blank.mbox") return {1, 0};
  FAIL("no expectation for " << name);
  return {};
}

fs::path corpus_dir() { return fs::path(LODESTONE_SOURCE_DIR) / "tests/corpus/mbox"; }

ReadResult read_corpus_file(const std::string& name) { return read_all(mbox_at(corpus_dir() / name)); }

}  // namespace

TEST_CASE("Every file in the hostile mbox corpus reads sanely and is listed in its README") {
  const std::string readme = read_file(corpus_dir() / "README.md");
  std::size_t files = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(corpus_dir())) {
    const std::string name = entry.path().filename().string();
    if (name == "README.md") continue;
    ++files;
    INFO(name);
    CHECK(readme.find("`" + name + "`") != std::string::npos);
    const std::string bytes = read_file(entry.path());
    const ReadResult result = read_all(mbox_at(entry.path()));
    const CorpusExpectation expected = expected_from(name);
    CHECK(result.messages.size() == expected.messages);
    CHECK(result.skipped.size() == expected.skipped);

    // Messages come in file order, from inside the file, none of them empty.
    std::size_t total = 0;
    std::size_t previous_offset = 0;
    for (const ReadMessage& m : result.messages) {
      const std::string prefix = entry.path().string() + ":";
      REQUIRE(m.location.starts_with(prefix));
      const std::size_t offset = std::stoul(m.location.substr(prefix.size()));
      CHECK(offset < bytes.size());
      CHECK((offset >= previous_offset));
      previous_offset = offset;
      CHECK_FALSE(m.raw.empty());
      total += m.raw.size();
    }
    CHECK(total <= bytes.size());
  }
  CHECK(files == 13);
}

TEST_CASE("Hostile corpus: what each mbox holds") {
  ReadResult r = read_corpus_file("empty-messages.mbox");
  for (const Skip& skip : r.skipped) CHECK(skip.reason == "empty message");

  r = read_corpus_file("nul-bytes.mbox");
  CHECK(r.raws() == std::vector<std::string>{"Sub\0ject: \0nul\n\nbody\0with NUL\n\0\n"s, "\0\n"s,
                                             ">\0From not an escape\n>From\0 not one either\n"s});

  r = read_corpus_file("invalid-utf8.mbox");
  REQUIRE(r.messages.size() == 2);
  CHECK(r.messages[1].raw == "From \xff\xff\xff\n\xf8\x88\x80\x80\x80\n");

  r = read_corpus_file("mixed-line-ends.mbox");
  CHECK(r.raws() == std::vector<std::string>{"Subject: crlf\r\n\r\nbody\r\n", "Subject: lf\n\nbody\n",
                                             "Subject: mixed\n\r\nbody\r\n"});

  r = read_corpus_file("deep-escapes.mbox");
  REQUIRE(r.messages.size() == 1);
  std::string lines_of_quotes;
  for (int i = 0; i < 100; ++i) lines_of_quotes += std::string(100, '>') + "From\n";
  CHECK(r.messages[0].raw == "\n" + std::string(9'999, '>') + "From x\n" + lines_of_quotes + "From ");

  CHECK(read_corpus_file("preamble.mbox").raws() == std::vector<std::string>{"Subject: after\n\nbody\n"});
  CHECK(read_corpus_file("separator-at-end.mbox").raws() == std::vector<std::string>{"Subject: x\n\nbody\n"});
  CHECK(read_corpus_file("blank-lines-only.mbox").raws() == std::vector<std::string>{std::string(999, '\n')});

  std::string from_lines;
  for (int i = 0; i < 1000; ++i) from_lines += "From b\n";
  CHECK(read_corpus_file("from-lines-without-blank.mbox").raws() == std::vector<std::string>{from_lines});
}

// No time is asserted: each input is a few MB, so a quadratic scan would
// take hours instead of milliseconds and the test would never finish.
TEST_CASE("Huge generated mboxes read whole, in linear time") {
  TempDir dir;
  constexpr std::size_t huge = 4 * 1024 * 1024;

  const std::string long_line(huge, 'x');
  ReadResult r = read_mbox(dir, "From a\nSubject: big\n\n" + long_line);
  check_messages(r, {"Subject: big\n\n" + long_line});

  r = read_mbox(dir, "From " + long_line + "\nSubject: after a long From_ line\n");
  check_messages(r, {"Subject: after a long From_ line\n"});

  const std::string quotes(huge, '>');
  r = read_mbox(dir, "From a\n\n" + quotes + "From x\n" + quotes + "\n");
  check_messages(r, {"\n" + quotes.substr(1) + "From x\n" + quotes + "\n"});

  r = read_mbox(dir, "From a\n" + std::string(huge, '\n'));
  check_messages(r, {std::string(huge - 1, '\n')});

  std::string many;
  for (std::size_t i = 0; many.size() < huge; ++i) many += "From a\nx\n\n";
  r = read_mbox(dir, many);
  CHECK(r.messages.size() == many.size() / 10);
  CHECK(r.skipped.empty());
}
