#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "file_bytes.hpp"
#include "lodestone/crm/mail_source.hpp"
#include "maildir.hpp"
#include "mbox.hpp"

namespace lodestone::crm {
namespace {

namespace fs = std::filesystem;

// A file that vanished or became unreadable since discovery is skipped, not
// fatal: the rest of the source is still worth importing.
std::optional<MappedFile> map_or_skip(const fs::path& path, const SkipHandler& on_skipped) {
  try {
    return MappedFile(path);
  } catch (const UnreadableFileError& e) {
    on_skipped(path.string(), e.what());
    return std::nullopt;
  }
}

// Why `raw` is not handed on as a message, or nothing when it is.
std::optional<std::string> skip_reason(std::string_view raw, const SourceLimits& limits) {
  if (raw.empty()) return "empty message";
  if (raw.size() > limits.max_message_bytes) {
    return "message of " + std::to_string(raw.size()) + " bytes is over the limit of " +
           std::to_string(limits.max_message_bytes) + " bytes";
  }
  return std::nullopt;
}

// One file, one message: a Maildir file or an .eml file.
void read_message_file(const fs::path& path, std::vector<std::string> flags, const SourceLimits& limits,
                       const MessageHandler& on_message, const SkipHandler& on_skipped) {
  const std::optional<MappedFile> file = map_or_skip(path, on_skipped);
  if (!file) return;
  SourceMessage message{file->bytes(), path.string(), std::move(flags)};
  if (const auto reason = skip_reason(message.raw, limits)) {
    on_skipped(message.location, *reason);
    return;
  }
  on_message(message);
}

void read_maildir(const fs::path& maildir, const SourceLimits& limits, const MessageHandler& on_message,
                  const SkipHandler& on_skipped) {
  const std::vector<fs::directory_entry> files =
      list_message_files(maildir, [&](const fs::path& dir, const std::error_code& error) {
        on_skipped(dir.string(), "cannot be read: " + error.message());
      });
  // Maildir file names start with the delivery time, so name order is
  // roughly arrival order, and the same for every run.
  std::vector<std::pair<std::string, fs::path>> by_name;  // (file name, path)
  by_name.reserve(files.size());
  for (const fs::directory_entry& file : files) by_name.emplace_back(file.path().filename().string(), file.path());
  std::ranges::sort(by_name);
  for (const auto& [name, path] : by_name) {
    read_message_file(path, flags_from_file_name(name), limits, on_message, on_skipped);
  }
}

void read_mbox(const fs::path& path, const SourceLimits& limits, const MessageHandler& on_message,
               const SkipHandler& on_skipped) {
  const std::optional<MappedFile> file = map_or_skip(path, on_skipped);
  if (!file) return;
  const std::string path_text = path.string();
  MboxSplitter mbox(file->bytes());
  if (!mbox.preamble().empty()) {
    on_skipped(path_text + ":0", mbox.preamble().size() == file->bytes().size()
                                     ? "no \"From \" line: not an mbox"
                                     : "bytes before the first \"From \" line belong to no message");
  }
  while (const std::optional<MboxMessage> entry = mbox.next()) {
    std::string location = path_text + ":" + std::to_string(entry->offset);
    // Checked before unescaping, so an oversized message is never copied.
    if (const auto reason = skip_reason(entry->escaped, limits)) {
      on_skipped(location, *reason);
      continue;
    }
    const std::size_t escaped = find_escaped_from_line(entry->escaped);
    if (escaped == std::string_view::npos) {
      on_message(SourceMessage{entry->escaped, std::move(location), {}});
    } else {
      const std::string unescaped = unescape_from_lines(entry->escaped, escaped);
      on_message(SourceMessage{unescaped, std::move(location), {}});
    }
  }
}

}  // namespace

void read_messages(const MailSource& source, const SourceLimits& limits, const MessageHandler& on_message,
                   const SkipHandler& on_skipped) {
  switch (source.kind) {
    case SourceKind::maildir:
      read_maildir(source.path, limits, on_message, on_skipped);
      return;
    case SourceKind::mbox:
      read_mbox(source.path, limits, on_message, on_skipped);
      return;
    case SourceKind::eml:
      read_message_file(source.path, {}, limits, on_message, on_skipped);
      return;
  }
}

}  // namespace lodestone::crm
