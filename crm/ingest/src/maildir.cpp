#include "maildir.hpp"

#include <utility>

namespace lodestone::crm {
namespace fs = std::filesystem;

bool is_maildir(const fs::path& dir) {
  std::error_code ignored;  // unreadable or missing: not a Maildir
  return fs::is_directory(dir / "cur", ignored) && fs::is_directory(dir / "new", ignored);
}

std::vector<fs::directory_entry> list_message_files(const fs::path& maildir,
                                                    const UnreadableDirHandler& on_unreadable) {
  std::vector<fs::directory_entry> files;
  // new/ before cur/: a message a mail client moves from new/ to cur/ while
  // this runs is then listed twice (once vanished) rather than not at all.
  for (const char* subdir : {"new", "cur"}) {
    const fs::path dir = maildir / subdir;
    std::error_code error;
    for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
      std::error_code vanished;  // a file gone since listing is simply not there
      if (!it->path().filename().string().starts_with('.') && it->is_regular_file(vanished)) files.push_back(*it);
    }
    if (error) on_unreadable(dir, error);
  }
  return files;
}

std::vector<std::string> flags_from_file_name(std::string_view name) {
  const std::size_t info = name.find(":2,");
  if (info == std::string_view::npos) return {};
  const std::string_view letters = name.substr(info + 3);
  // In this fixed order and each once, however the name orders or repeats
  // its letters, so equal flag sets compare equal.
  static constexpr std::pair<char, std::string_view> flag_letters[] = {
      {'D', "\\Draft"},    {'F', "\\Flagged"}, {'P', "$Forwarded"},
      {'R', "\\Answered"}, {'S', "\\Seen"},    {'T', "\\Deleted"},
  };
  std::vector<std::string> flags;
  for (const auto& [letter, flag] : flag_letters) {
    if (letters.find(letter) != std::string_view::npos) flags.emplace_back(flag);
  }
  return flags;
}

}  // namespace lodestone::crm
