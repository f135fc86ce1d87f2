// The Maildir layout, as discovery and reading both need it.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace lodestone::crm {

// A directory holding cur/ and new/ (tmp/ is only for deliveries in progress
// and may be missing from copies).
bool is_maildir(const std::filesystem::path& dir);

using UnreadableDirHandler = std::function<void(const std::filesystem::path& dir, const std::error_code& error)>;

// The message files of a Maildir: regular files in new/, then in cur/, not
// starting with '.'; unsorted.  A subdirectory that cannot be listed goes to
// on_unreadable, and what was listed of it is kept.
std::vector<std::filesystem::directory_entry> list_message_files(const std::filesystem::path& maildir,
                                                                 const UnreadableDirHandler& on_unreadable);

// IMAP flags from the info part of a Maildir file name ("…:2,FRS").
std::vector<std::string> flags_from_file_name(std::string_view name);

}  // namespace lodestone::crm
