// From config text to a YAML tree, refusing text no config could be made of.
#pragma once

#include <optional>
#include <string_view>

#include <yaml-cpp/node/node.h>

#include "diagnostics.hpp"

namespace lodestone::config {

// Parses `text` as one YAML document.  Invalid UTF-8, control characters,
// syntax errors, a second document and nesting deeper than a config could
// need are reported to `diagnostics`, and the result is then empty.  An empty
// text gives a null node.
std::optional<YAML::Node> parse_document(std::string_view text, DiagnosticList& diagnostics);

}  // namespace lodestone::config
