// The MIME structure of a message, found in one pass over its bytes.
//
// Mimetic's parser is not used for this: on hostile input it overflows the
// stack (it recurses once per nesting level, without a bound), takes
// quadratic time on long header lines, and misreads quoted parameters (see
// crm/mail/README.md).  This scanner keeps an explicit stack of open
// entities, finds delimiter lines by checking each line that starts with "--"
// against the open boundaries (innermost first), and so touches each byte a
// bounded number of times whatever the nesting.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "content_fields.hpp"
#include "header_block.hpp"
#include "lodestone/mail.hpp"
#include "transfer_encoding.hpp"

namespace lodestone::mail {

struct Entity {
  enum class Kind {
    leaf,       // content: text, attachment, or a container not entered (see warnings)
    multipart,  // children are its parts
    message,    // message/rfc822: its one child is the attached message
  };
  static constexpr std::size_t no_parent = static_cast<std::size_t>(-1);

  Kind kind = Kind::leaf;
  std::size_t parent = no_parent;
  std::size_t depth = 0;        // 0 for the message itself
  std::size_t children = 0;
  HeaderBlock header;
  ContentField content_type;    // defaulted per RFC 2046 when absent
  ContentField disposition;     // value empty when absent
  TransferEncoding encoding = TransferEncoding::identity;
  std::string_view body;        // raw bytes, still transfer-encoded
};

struct MimeTree {
  std::vector<Entity> entities;  // in document order: parents before children
  Warnings warnings;
};

MimeTree scan_mime_tree(std::string_view raw, const ParseLimits& limits);

}  // namespace lodestone::mail
