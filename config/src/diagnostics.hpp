// Collecting the problems found in one config file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <lodestone/config.hpp>
#include <yaml-cpp/mark.h>

namespace lodestone::config {

class DiagnosticList {
 public:
  explicit DiagnosticList(std::string file) : file_(std::move(file)) {}

  // `at` is a yaml-cpp mark (0-based); a null mark reports without position.
  void add(const YAML::Mark& at, std::string message, std::string hint);
  // Throws ConfigError with everything reported so far, if anything was.
  void throw_if_any() const;

 private:
  std::string file_;
  std::vector<Diagnostic> diagnostics_;
  std::size_t dropped_ = 0;
};

// `text` in quotes for a message, with control characters escaped and long
// values cut short, so that hostile input cannot flood or garble a terminal.
std::string in_quotes(std::string_view text);

}  // namespace lodestone::config
