#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "file_bytes.hpp"
#include "lodestone/crm/mail_source.hpp"
#include "maildir.hpp"
#include "mbox.hpp"

namespace lodestone::crm {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view not_mail =
    "is not a mail source: it starts with neither a \"From \" line (mbox) nor a header field (message)";

// RFC 5322 lines are at most 998 bytes, so a header field name shows within
// this much of the start of a message.
constexpr std::size_t message_head_bytes = 1000;

[[noreturn]] void throw_unreadable(const fs::path& path, const std::error_code& error) {
  throw SourceError(path, "cannot be read: " + error.message());
}

std::string read_head(const fs::path& path, std::size_t count) {
  try {
    return read_file_head(path, count);
  } catch (const UnreadableFileError& e) {
    throw SourceError(path, e.what());
  }
}

bool ends_with_ignoring_case(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         std::ranges::equal(text.substr(text.size() - suffix.size()), suffix, [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

bool has_eml_name(std::string_view name) { return ends_with_ignoring_case(name, ".eml"); }

bool has_mbox_name(std::string_view name) {
  return ends_with_ignoring_case(name, ".mbox") || ends_with_ignoring_case(name, ".mbx");
}

// "Archive.mbox" -> "Archive"; a name that is only the suffix stays whole.
std::string without_mbox_suffix(std::string name) {
  if (has_mbox_name(name)) {
    const std::size_t dot = name.rfind('.');
    if (dot > 0) name.erase(dot);
  }
  return name;
}

// A message starts with a header field: a name, then ':'. RFC 5322 allows
// any printable ASCII in names, but real ones are letters, digits and '-';
// the narrower test keeps JSON ({"id": …}) and similar files out of a search.
bool starts_with_header_field(std::string_view head) {
  const auto name_end = std::ranges::find_if_not(head, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
  return name_end != head.begin() && name_end != head.end() && *name_end == ':';
}

// ".Lists.Work" -> "Lists/Work": Maildir++ keeps its folder tree flat in one
// directory, with dots where IMAP shows a hierarchy.
std::string subfolder_label(std::string_view dir_name) {
  std::string label(dir_name.substr(1));
  std::ranges::replace(label, '.', '/');
  return label;
}

// `dir` made absolute and normal and without a trailing '/', so that its
// filename() is the directory's name also for ".", "dir/" or "a/..".
fs::path normalized_absolute(const fs::path& dir) {
  std::error_code ignored;  // failing needs a vanished working directory; then the path stays as given
  fs::path absolute = fs::absolute(dir, ignored).lexically_normal();
  if (!absolute.has_filename() && absolute.has_relative_path()) absolute = absolute.parent_path();
  return absolute;
}

// Sorted, so that sources come in the same order and the same bad file is
// reported first on every run.
std::vector<fs::directory_entry> list_directory(const fs::path& dir) {
  std::vector<fs::directory_entry> entries;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) entries.push_back(*it);
  if (error) throw_unreadable(dir, error);
  std::ranges::sort(entries);
  return entries;
}

MailSource maildir_source(const fs::path& dir, std::string folder) {
  MailSource source{SourceKind::maildir, dir, std::move(folder), 0, 0};
  for (const fs::directory_entry& file : list_message_files(dir, throw_unreadable)) {
    ++source.messages_hint;
    std::error_code vanished;  // a file gone since listing adds nothing; reading lists the Maildir afresh
    const std::uintmax_t size = file.file_size(vanished);
    if (!vanished) source.bytes += size;
  }
  return source;
}

// A Maildir and its Maildir++ subfolders, labelled `label` and
// `subfolder_prefix` + the subfolder's label.
void add_maildir_tree(const fs::path& dir, std::string label, const std::string& subfolder_prefix,
                      std::vector<MailSource>& sources) {
  sources.push_back(maildir_source(dir, std::move(label)));
  for (const fs::directory_entry& entry : list_directory(dir)) {
    const std::string name = entry.path().filename().string();
    std::error_code ignored;  // an entry gone or unreadable since listing is no subfolder
    if (name.starts_with('.') && entry.is_directory(ignored) && is_maildir(entry.path())) {
      sources.push_back(maildir_source(entry.path(), subfolder_prefix + subfolder_label(name)));
    }
  }
}

// A file met while searching a directory; `relative` is its path from there.
void add_found_file(const fs::path& path, const fs::path& relative, const std::string& searched_name,
                    std::vector<MailSource>& sources) {
  const std::string name = path.filename().string();
  std::error_code vanished;  // a size unknown only makes the progress bar less exact
  const std::uintmax_t size = fs::file_size(path, vanished);
  const std::uint64_t bytes = vanished ? 0 : size;
  if (has_eml_name(name)) {
    // Not opened here: a folder of .eml files can hold hundreds of thousands.
    const fs::path dir = relative.parent_path();
    sources.push_back({SourceKind::eml, path, dir.empty() ? searched_name : dir.generic_string(), bytes, 1});
    return;
  }
  const std::string head = read_head(path, message_head_bytes);
  const bool named_mbox = has_mbox_name(name);
  const bool from_line = starts_with_from_line(head);
  if (named_mbox) {
    if (!from_line && !head.empty())
      throw SourceError(path, "is named as an mbox but does not start with a \"From \" line");
    sources.push_back({SourceKind::mbox, path, without_mbox_suffix(relative.generic_string()), bytes, 0});
    return;
  }
  // Mail clients keep mbox files without an extension (Thunderbird's
  // "Inbox", mutt's "sent"). A file with another extension (".txt", ".msg")
  // holding a From_ line or a header is one saved message, as is a file of
  // an MH folder ("1", "2", …): such files are the messages of a folder
  // named after their directory.
  if (from_line && path.extension().empty()) {
    sources.push_back({SourceKind::mbox, path, without_mbox_suffix(relative.generic_string()), bytes, 0});
  } else if (from_line || starts_with_header_field(head)) {
    const fs::path dir = relative.parent_path();
    sources.push_back({SourceKind::eml, path, dir.empty() ? searched_name : dir.generic_string(), bytes, 1});
  }
  // Anything else (indexes, notes, attachments saved next to mail) is not mail.
}

// Every Maildir, mbox and .eml file under `root`, which is no Maildir itself.
std::vector<MailSource> search_directory(const fs::path& root) {
  const std::string searched_name = normalized_absolute(root).filename().string();
  std::vector<MailSource> sources;
  std::vector<std::pair<fs::path, fs::path>> pending{{root, {}}};  // (directory, its path relative to root)
  while (!pending.empty()) {
    const auto [dir, dir_relative] = std::move(pending.back());
    pending.pop_back();
    for (const fs::directory_entry& entry : list_directory(dir)) {
      const std::string name = entry.path().filename().string();
      // Hidden: .git, .DS_Store, caches.  Maildir++ subfolders are hidden
      // too, but they only count inside a Maildir, which is not searched.
      if (name.starts_with('.')) continue;
      const fs::path relative = dir_relative / name;
      std::error_code broken;  // a dangling link or an entry gone since listing: nothing to read
      const fs::file_status status = entry.status(broken);
      if (broken) continue;
      if (fs::is_directory(status)) {
        // Linked directories could lead in circles or out of the tree.
        if (entry.is_symlink(broken)) continue;
        if (is_maildir(entry.path())) {
          add_maildir_tree(entry.path(), relative.generic_string(), relative.generic_string() + "/", sources);
        } else {
          pending.emplace_back(entry.path(), relative);
        }
      } else if (fs::is_regular_file(status)) {
        add_found_file(entry.path(), relative, searched_name, sources);
      }
    }
  }
  if (sources.empty()) throw SourceError(root, "is not a mail source: no Maildir, mbox or .eml file in it");
  // The walk above goes depth first from a stack; the result reads in path
  // order, a Maildir before its subfolders.
  std::ranges::sort(sources, {}, &MailSource::path);
  return sources;
}

// The label of a Maildir given as a path: a Maildir++ subfolder (".Sent" in a
// Maildir) keeps its subfolder label, any other Maildir is the INBOX.
std::string maildir_label(const fs::path& dir) {
  const fs::path absolute = normalized_absolute(dir);
  const std::string name = absolute.filename().string();
  if (name.starts_with('.') && is_maildir(absolute.parent_path())) {
    return subfolder_label(name);
  }
  return "INBOX";
}

MailSource file_source(const fs::path& path, std::uint64_t bytes) {
  const std::string head = read_head(path, message_head_bytes);
  const std::string name = path.filename().string();
  if (has_eml_name(name)) {
    // Some programs save a single message with an mbox From_ line in front;
    // the name says what it is, and the mail parser skips that line.
    if (head.empty()) throw SourceError(path, "is empty");
    if (!starts_with_from_line(head) && !starts_with_header_field(head)) throw SourceError(path, std::string(not_mail));
    return {SourceKind::eml, path, "Imported", bytes, 1};
  }
  // An empty file is an mbox without messages yet, as /var/mail files are.
  if (head.empty() || starts_with_from_line(head)) return {SourceKind::mbox, path, without_mbox_suffix(name), bytes, 0};
  if (starts_with_header_field(head)) return {SourceKind::eml, path, "Imported", bytes, 1};
  throw SourceError(path, std::string(not_mail));
}

std::vector<MailSource> discover_path(const fs::path& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) throw SourceError(path, "does not exist");
  if (error) throw_unreadable(path, error);
  if (fs::is_directory(status)) {
    if (!is_maildir(path)) return search_directory(path);
    std::vector<MailSource> sources;
    add_maildir_tree(path, maildir_label(path), "", sources);
    return sources;
  }
  if (fs::is_regular_file(status)) {
    const std::uintmax_t size = fs::file_size(path, error);
    if (error) throw_unreadable(path, error);
    return {file_source(path, size)};
  }
  throw SourceError(path, "is neither a regular file nor a directory");
}

}  // namespace

std::vector<MailSource> discover_sources(const std::vector<fs::path>& paths) {
  std::vector<MailSource> sources;
  for (const fs::path& path : paths) {
    std::vector<MailSource> found = discover_path(path);
    sources.insert(sources.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
  }
  return sources;
}

}  // namespace lodestone::crm
