// From a YAML tree to a Config: every key, type, default and cross-check.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <lodestone/config.hpp>
#include <yaml-cpp/node/node.h>

#include "diagnostics.hpp"

namespace lodestone::config {

// Builds a Config from `document`, reporting every problem to `diagnostics`
// (the result is meaningless if any was reported).  Relative paths are
// resolved against `base_dir`; files the proxy will read (certificates, keys,
// CA files) must be readable now.
Config read_config(const YAML::Node& document, const std::filesystem::path& base_dir,
                   DiagnosticList& diagnostics);

// ASCII lower case: how route matches are stored and logins compared.
std::string lower_ascii(std::string_view text);

}  // namespace lodestone::config
