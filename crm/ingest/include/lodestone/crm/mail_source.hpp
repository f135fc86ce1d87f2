// Mail sources for `lodestone crm ingest`: finds the Maildir folders, mbox
// files and single messages behind the paths a user names, and reads their
// messages one by one.  Pure file reading: what a message says is the CRM's
// business.
//
// What a path is (discover_sources):
//   - a directory with cur/ and new/ is a Maildir; its Maildir++ subfolders
//     (directories ".Name" in it that are Maildirs themselves) come with it;
//   - any other directory is searched, recursively, for Maildirs, mbox files
//     (a file starting with "From "; an empty *.mbox / *.mbx file too) and
//     *.eml files (not opened until read).  Hidden entries (".git",
//     ".DS_Store") and symbolic links to directories are passed over, other
//     files ignored; a *.mbox / *.mbx file that is no mbox is an error;
//   - a file named *.eml is one message (it may start with a From_ line);
//     any other file is an mbox when it starts with "From " or is empty (a
//     mailbox holding no message yet, as in /var/mail), one message when it
//     starts with a header field.
//   Anything else is a SourceError: a path that does not exist or cannot be
//   read, a directory holding no mail, a file that is neither (binary junk).
//
// Folder labels (MailSource::folder) name the CRM folder a source goes into.
// The CRM deduplicates per folder, so a label depends only on the path as
// given and the layout under it, never on the run:
//   - a Maildir given as a path: "INBOX"; its Maildir++ subfolders by name,
//     leading dot dropped, dots as '/': ".Sent" -> "Sent", ".Lists.Work" ->
//     "Lists/Work".  A Maildir++ subfolder given on its own keeps that label.
//   - an mbox given as a path: its file name without a ".mbox" or ".mbx"
//     suffix ("Archive.mbox" -> "Archive", "/var/mail/alice" -> "alice").
//   - a message file given as a path: "Imported".
//   - found by searching a directory: the path relative to that directory,
//     '/'-joined, so equal names in different places stay apart.  A Maildir
//     "alice/Maildir" -> "alice/Maildir", its subfolders "alice/Maildir/Sent";
//     an mbox "2019/Inbox.mbox" -> "2019/Inbox"; an .eml file -> its directory
//     ("notes/a.eml" -> "notes"), or the searched directory's own name when
//     the file lies directly in it.
//   Names are kept as the file system has them: Maildir++ names in IMAP's
//   modified UTF-7 stay so, as IMAP clients see them through the proxy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lodestone::crm {

enum class SourceKind { maildir, mbox, eml };

// One folder or mailbox to read.
struct MailSource {
  SourceKind kind = SourceKind::eml;
  std::filesystem::path path;     // the Maildir directory (holding cur/, new/), the mbox or the message file
  std::string folder;             // the CRM folder label, see above
  std::uint64_t bytes = 0;        // total size of the messages' files, for a progress bar
  std::size_t messages_hint = 0;  // Maildir: files in cur/ and new/; eml: 1; mbox: 0 (unknown until read)
};

struct SourceMessage {
  std::string_view raw;            // the message; valid only during the callback
  std::string location;            // the file's path; "path:offset" in an mbox (offset of its From_ line)
  std::vector<std::string> flags;  // IMAP flags from a Maildir file name ("…:2,FS" -> \Flagged \Seen); else empty
};

struct SourceLimits {
  std::uint64_t max_message_bytes = std::uint64_t{256} * 1024 * 1024;  // bigger messages are skipped
};

// A path that is not a usable mail source.  what() is "PATH: problem".
class SourceError : public std::runtime_error {
 public:
  SourceError(std::filesystem::path path, const std::string& problem)
      : std::runtime_error(path.string() + ": " + problem), path_(std::move(path)) {}

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// The sources behind the user's PATH arguments, per argument in the order
// given; within a directory sorted by path, a Maildir before its subfolders.
// Throws SourceError for the first path that is no mail source.
std::vector<MailSource> discover_sources(const std::vector<std::filesystem::path>& paths);

using MessageHandler = std::function<void(const SourceMessage& message)>;
using SkipHandler = std::function<void(std::string_view location, std::string_view reason)>;

// Calls on_message for each message of `source`, in file order (a Maildir's
// files sorted by name, which starts with the delivery time).  What cannot be
// read goes to on_skipped and reading goes on: a message over
// limits.max_message_bytes, an empty one, a file that vanished or became
// unreadable since discovery.  Exceptions from the handlers propagate.
//
// Maildir: files in new/ and cur/ (not tmp/, no dot files); the letters after
// ":2," give the flags D \Draft, F \Flagged, P $Forwarded, R \Answered,
// S \Seen, T \Deleted (lower-case keyword letters need Dovecot's keyword file
// and are ignored).
// mbox: a message starts at a line beginning "From " at the start of the file
// or after an empty line; that From_ line and the empty line before the next
// one are dropped, and lines matching ^>+From lose one '>' (mboxrd).  LF and
// CRLF files alike.  The file is mapped, not copied: a message is copied only
// when it has such lines.  Reading an mbox another program truncates at the
// same time is not supported (the mapping raises SIGBUS): copy a live mbox
// first.
void read_messages(const MailSource& source, const SourceLimits& limits, const MessageHandler& on_message,
                   const SkipHandler& on_skipped);

}  // namespace lodestone::crm
