// The header fields at the start of a message or MIME part.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace lodestone::mail {

struct HeaderField {
  std::string_view name;   // as written
  std::string_view value;  // raw, folding line breaks still in it
};

struct HeaderBlock {
  std::vector<HeaderField> fields;
  std::size_t body_start = 0;  // offset of the body in the scanned data
  bool truncated = false;      // the block was larger than allowed; later fields dropped

  // The first field called `name` (any case), or nullptr.
  const HeaderField* find(std::string_view name) const;
};

// Scans fields up to the blank line that ends them.  A line that cannot be a
// field (no colon, a blank-bearing or empty name, a MIME delimiter) ends the
// block too and starts the body, which is how mail lacking the blank line is
// read.  Only LF ends a line; a CR before it is dropped.  Fields beyond `max_bytes` are
// not kept, though the scan still finds where the body starts.
HeaderBlock scan_header_block(std::string_view data, std::size_t max_bytes);

}  // namespace lodestone::mail
