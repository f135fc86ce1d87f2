// What the CRM keeps of a raw RFC 5322 message: identifiers, date,
// participants, subject, bulk-mail markers, body text, attachment metadata and
// attached vCards.  parse_message() reads any bytes at all: it never throws,
// runs in time linear in the input, and every string it returns is valid UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lodestone::mail {

struct Address {
  std::string name;     // display name, decoded; empty when absent
  std::string address;  // addr-spec, domain lower-cased, local part as written
  bool operator==(const Address&) const = default;
};

struct Attachment {
  std::string file_name;   // decoded; empty when the part names none
  std::string media_type;  // lower-case "type/subtype"
  std::uint64_t size = 0;  // bytes after transfer decoding
  bool operator==(const Attachment&) const = default;
};

struct VCard {
  std::string name;  // FN, or assembled from N when there is no FN
  std::vector<std::string> emails;
  std::vector<std::string> phones;
  std::string organisation;  // the first ORG component (the company)
  bool operator==(const VCard&) const = default;
};

// Bounds on the work one message may cause.  Reaching one is not an error:
// the summary records a Warning and keeps what was read up to that point.
struct ParseLimits {
  std::size_t max_depth = 32;                 // nested multiparts and attached messages
  std::size_t max_parts = 1000;               // MIME entities, the message itself included
  std::size_t max_header_bytes = 256 * 1024;  // per header block
  std::size_t max_text_bytes = 1024 * 1024;   // body text kept
};

// Why a summary may be incomplete or approximate.  Stored as bits
// (Warnings::bits), so new enumerators are only ever appended.
enum class Warning : std::uint8_t {
  depth_limit,             // ParseLimits::max_depth reached; deeper parts skipped
  part_limit,              // ParseLimits::max_parts reached; later parts skipped
  header_limit,            // ParseLimits::max_header_bytes reached; later fields dropped
  text_limit,              // ParseLimits::max_text_bytes reached; text cut there
  date_missing,            // no Date field (date is 0)
  date_invalid,            // a Date field that does not parse (date is 0)
  unterminated_multipart,  // a multipart ended without its closing delimiter
  missing_boundary,        // a multipart without a usable boundary parameter
  bad_transfer_encoding,   // base64 or quoted-printable with invalid characters
  invalid_charset_bytes,   // bytes invalid in their charset, replaced by U+FFFD
  unknown_charset,         // a charset iconv does not know, read as Windows-1252
  out_of_memory,           // allocation failed; the summary is partial
  internal_error,          // a defect in the parser stopped it; the summary is partial
};

// "depth_limit", "part_limit", … (the enumerator's name).
std::string_view warning_name(Warning w);

class Warnings {
 public:
  void add(Warning w) { bits_ |= bit(w); }
  bool has(Warning w) const { return (bits_ & bit(w)) != 0; }
  bool empty() const { return bits_ == 0; }
  std::vector<Warning> list() const;  // in enumerator order
  std::uint32_t bits() const { return bits_; }  // bit n = Warning n, for storage

 private:
  static std::uint32_t bit(Warning w) { return std::uint32_t{1} << static_cast<unsigned>(w); }
  std::uint32_t bits_ = 0;
};

struct MessageSummary {
  std::string message_id;                // normalised: no <>, domain part lower-cased
  std::string in_reply_to;               // the first identifier, normalised likewise
  std::vector<std::string> references;   // normalised likewise, in header order
  std::int64_t date = 0;  // UTC seconds since the epoch; 0 when missing or invalid
  std::vector<Address> from, sender, reply_to, to, cc, bcc;  // groups flattened
  std::string subject;
  std::string list_id;           // List-Id as written, decoded
  std::string list_unsubscribe;  // List-Unsubscribe as written
  std::string precedence;        // lower-cased keyword, e.g. "bulk"
  std::string auto_submitted;    // lower-cased keyword, e.g. "auto-replied"
  std::string text;              // body text, "\n" line ends
  bool text_from_html = false;   // some of `text` was reduced from text/html
  std::vector<Attachment> attachments;
  std::vector<VCard> vcards;
  Warnings warnings;
};

MessageSummary parse_message(std::string_view raw, const ParseLimits& limits = {});

}  // namespace lodestone::mail
