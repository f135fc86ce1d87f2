#include <algorithm>
#include <iterator>
#include <new>
#include <stdexcept>
#include <utility>

#include "address.hpp"
#include "ascii.hpp"
#include "charset.hpp"
#include "content_fields.hpp"
#include "date.hpp"
#include "html_text.hpp"
#include "lexer.hpp"
#include "lodestone/mail.hpp"
#include "message_id.hpp"
#include "mime_tree.hpp"
#include "plain_text.hpp"
#include "rfc2047.hpp"
#include "transfer_encoding.hpp"
#include "vcard.hpp"

namespace lodestone::mail {

std::string_view warning_name(Warning w) {
  switch (w) {
    case Warning::depth_limit: return "depth_limit";
    case Warning::part_limit: return "part_limit";
    case Warning::header_limit: return "header_limit";
    case Warning::text_limit: return "text_limit";
    case Warning::date_missing: return "date_missing";
    case Warning::date_invalid: return "date_invalid";
    case Warning::unterminated_multipart: return "unterminated_multipart";
    case Warning::missing_boundary: return "missing_boundary";
    case Warning::bad_transfer_encoding: return "bad_transfer_encoding";
    case Warning::invalid_charset_bytes: return "invalid_charset_bytes";
    case Warning::unknown_charset: return "unknown_charset";
    case Warning::out_of_memory: return "out_of_memory";
    case Warning::internal_error: return "internal_error";
  }
  return "unknown";
}

std::vector<Warning> Warnings::list() const {
  std::vector<Warning> warnings;
  for (unsigned i = 0; i <= static_cast<unsigned>(Warning::internal_error); ++i) {
    if (bits_ & (std::uint32_t{1} << i)) warnings.push_back(static_cast<Warning>(i));
  }
  return warnings;
}

namespace {

// Unstructured text that is not meant to hold encoded words (URLs in
// List-Unsubscribe may contain "=?").
std::string unencoded_text(std::string_view raw, Warnings* warnings) {
  std::string unfolded;
  unfolded.reserve(raw.size());
  for (char c : raw) {
    if (c != '\r' && c != '\n') unfolded.push_back(c);
  }
  std::string text;
  append_utf8(text, unfolded, "", warnings);
  replace_control_characters(text);
  return std::string(trim(text));
}

// The first word of a keyword field ("Precedence: bulk"), lower-cased.
std::string keyword(std::string_view raw, Warnings* warnings) {
  const std::string text = unencoded_text(strip_comments(raw), warnings);
  const std::string_view word = std::string_view(text).substr(0, text.find(' '));
  return lower_ascii(word);
}

void append_addresses(std::vector<Address>& list, std::string_view raw, Warnings* warnings) {
  std::vector<Address> parsed = parse_address_list(raw, warnings);
  list.insert(list.end(), std::make_move_iterator(parsed.begin()), std::make_move_iterator(parsed.end()));
}

void read_header(const HeaderBlock& header, MessageSummary& summary) {
  Warnings* warnings = &summary.warnings;
  // Single fields: the first occurrence counts.  Recipient fields may repeat
  // (RFC 822 allowed it) and are concatenated.
  bool seen_message_id = false, seen_in_reply_to = false, seen_references = false, seen_date = false,
       seen_from = false, seen_sender = false, seen_reply_to = false, seen_subject = false,
       seen_list_id = false, seen_list_unsubscribe = false, seen_precedence = false,
       seen_auto_submitted = false;
  const auto first = [](bool& seen) { return !std::exchange(seen, true); };
  for (const HeaderField& field : header.fields) {
    const std::string_view name = field.name, value = field.value;
    if (iequals(name, "to")) {
      append_addresses(summary.to, value, warnings);
    } else if (iequals(name, "cc")) {
      append_addresses(summary.cc, value, warnings);
    } else if (iequals(name, "bcc")) {
      append_addresses(summary.bcc, value, warnings);
    } else if (iequals(name, "from") && first(seen_from)) {
      summary.from = parse_address_list(value, warnings);
    } else if (iequals(name, "sender") && first(seen_sender)) {
      summary.sender = parse_address_list(value, warnings);
    } else if (iequals(name, "reply-to") && first(seen_reply_to)) {
      summary.reply_to = parse_address_list(value, warnings);
    } else if (iequals(name, "subject") && first(seen_subject)) {
      summary.subject = decode_header_text(value, warnings);
    } else if (iequals(name, "message-id") && first(seen_message_id)) {
      const std::vector<std::string> ids = parse_message_ids(value);
      if (!ids.empty()) {
        summary.message_id = ids.front();
      } else {
        const std::string words = strip_comments(value);
        const std::string_view trimmed = trim(words);
        summary.message_id = normalise_message_id(trimmed.substr(0, trimmed.find(' ')));
      }
    } else if (iequals(name, "in-reply-to") && first(seen_in_reply_to)) {
      const std::vector<std::string> ids = parse_message_ids(value);
      if (!ids.empty()) summary.in_reply_to = ids.front();
    } else if (iequals(name, "references") && first(seen_references)) {
      summary.references = parse_message_ids(value);
    } else if (iequals(name, "date") && first(seen_date)) {
      if (const auto date = parse_date(value)) {
        summary.date = *date;
      } else {
        summary.warnings.add(Warning::date_invalid);
      }
    } else if (iequals(name, "list-id") && first(seen_list_id)) {
      summary.list_id = decode_header_text(value, warnings);
    } else if (iequals(name, "list-unsubscribe") && first(seen_list_unsubscribe)) {
      summary.list_unsubscribe = unencoded_text(value, warnings);
    } else if (iequals(name, "precedence") && first(seen_precedence)) {
      summary.precedence = keyword(value, warnings);
    } else if (iequals(name, "auto-submitted") && first(seen_auto_submitted)) {
      summary.auto_submitted = keyword(value, warnings);
    }
  }
  if (!seen_date) summary.warnings.add(Warning::date_missing);
}

bool is_vcard(std::string_view media_type, std::string_view file_name) {
  return media_type == "text/vcard" || media_type == "text/x-vcard" || media_type == "text/directory" ||
         media_type == "application/vcard" || media_type == "application/x-vcard" ||
         iends_with(file_name, ".vcf") || iends_with(file_name, ".vcard");
}

// What one entity contributes to the summary.
enum class Role { none, plain_body, html_body, attachment };

class BodyReader {
 public:
  BodyReader(const MimeTree& tree, const ParseLimits& limits, MessageSummary& summary)
      : entities_(tree.entities), limits_(limits), summary_(summary) {}

  void read() {
    const std::size_t count = entities_.size();
    roles_.resize(count, Role::none);
    file_names_.resize(count);
    for (std::size_t i = 0; i < count; ++i) classify(i);
    for (std::size_t i = 0; i < count; ++i) {
      if (roles_[i] == Role::attachment) add_attachment(i);
    }
    // Plain text where there is a choice; but some mailers send an empty
    // plain alternative to their HTML.
    for (const bool prefer_html : {false, true}) {
      choose_shown(prefer_html);
      // The text of the message itself; failing that, of messages attached to it.
      for (const bool nested : {false, true}) {
        for (std::size_t i = 0; i < count && !text_full_; ++i) {
          if (shown_[i] && nested_[i] == nested &&
              (roles_[i] == Role::plain_body || roles_[i] == Role::html_body)) {
            add_text(i);
          }
        }
        if (!summary_.text.empty()) return;
      }
    }
  }

 private:
  void classify(std::size_t i) {
    const Entity& entity = entities_[i];
    const std::string& type = entity.content_type.value;
    if (entity.kind == Entity::Kind::multipart) return;
    if (entity.kind == Entity::Kind::leaf && type.starts_with("multipart/")) return;  // not entered
    std::string name = decoded_parameter(entity.disposition, "filename", &summary_.warnings);
    if (name.empty()) name = decoded_parameter(entity.content_type, "name", &summary_.warnings);
    file_names_[i] = file_name_of(name);
    const bool text = type == "text/plain" || type == "text/html";
    // A named text part is an attached file, unless it is the whole message.
    if (entity.kind == Entity::Kind::leaf && text && entity.disposition.value != "attachment" &&
        (file_names_[i].empty() || i == 0)) {
      roles_[i] = type == "text/plain" ? Role::plain_body : Role::html_body;
    } else {
      roles_[i] = Role::attachment;
    }
  }

  // Marks which body parts a reader would see: every one, except that a
  // multipart/alternative shows one child only, the first holding plain text
  // or, without one (or when `prefer_html`), the first holding HTML.
  void choose_shown(bool prefer_html) {
    const std::size_t count = entities_.size();
    std::vector<char> has_plain(count, 0), has_html(count, 0);
    for (std::size_t i = count; i-- > 0;) {
      has_plain[i] |= roles_[i] == Role::plain_body;
      has_html[i] |= roles_[i] == Role::html_body;
      const std::size_t parent = entities_[i].parent;
      if (parent != Entity::no_parent) {
        has_plain[parent] |= has_plain[i];
        has_html[parent] |= has_html[i];
      }
    }
    std::vector<std::size_t> first_plain(count, Entity::no_parent), first_html(count, Entity::no_parent);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t parent = entities_[i].parent;
      if (parent == Entity::no_parent) continue;
      if (has_plain[i] && first_plain[parent] == Entity::no_parent) first_plain[parent] = i;
      if (has_html[i] && first_html[parent] == Entity::no_parent) first_html[parent] = i;
    }
    shown_.assign(count, 0);
    nested_.assign(count, 0);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t parent = entities_[i].parent;
      if (parent == Entity::no_parent) {
        shown_[i] = 1;
        continue;
      }
      const Entity& p = entities_[parent];
      nested_[i] = nested_[parent] || p.kind == Entity::Kind::message;
      bool chosen = true;
      if (p.content_type.value == "multipart/alternative") {
        const std::size_t preferred = prefer_html ? first_html[parent] : first_plain[parent];
        const std::size_t other = prefer_html ? first_plain[parent] : first_html[parent];
        const std::size_t pick = preferred != Entity::no_parent ? preferred : other;
        chosen = i == pick;
      }
      shown_[i] = shown_[parent] && chosen;
    }
  }

  void add_attachment(std::size_t i) {
    const Entity& entity = entities_[i];
    Warnings* warnings = &summary_.warnings;
    Attachment attachment;
    attachment.file_name = file_names_[i];
    attachment.media_type = entity.content_type.value;
    attachment.size = entity.kind == Entity::Kind::message
                          ? entity.body.size()
                          : decoded_size(entity.body, entity.encoding, warnings);
    if (entity.kind == Entity::Kind::leaf && is_vcard(attachment.media_type, attachment.file_name)) {
      const std::string bytes = decode_transfer(entity.body, entity.encoding, warnings);
      const std::string_view charset = raw_parameter(entity.content_type, "charset").value_or("");
      for (VCard& card : parse_vcards(bytes, charset, warnings)) summary_.vcards.push_back(std::move(card));
    }
    summary_.attachments.push_back(std::move(attachment));
  }

  void add_text(std::size_t i) {
    if (summary_.text.size() >= limits_.max_text_bytes) {
      summary_.warnings.add(Warning::text_limit);
      text_full_ = true;
      return;
    }
    const Entity& entity = entities_[i];
    Warnings* warnings = &summary_.warnings;
    const bool html = roles_[i] == Role::html_body;
    const std::string bytes = decode_transfer(entity.body, entity.encoding, warnings);
    std::string_view charset = raw_parameter(entity.content_type, "charset").value_or("");
    if (html && charset.empty()) charset = declared_html_charset(bytes);
    const std::string utf8 = to_utf8(bytes, charset, warnings);
    std::string text;
    if (html) {
      text = plain_text(html_to_text(utf8), false, false);
    } else {
      const bool flowed = iequals(raw_parameter(entity.content_type, "format").value_or(""), "flowed");
      const bool delete_space = iequals(raw_parameter(entity.content_type, "delsp").value_or(""), "yes");
      text = plain_text(utf8, flowed, delete_space);
    }
    const std::string_view piece = trim(text);
    if (piece.empty()) return;
    std::string& out = summary_.text;
    if (!out.empty()) out.append("\n\n");
    out.append(piece);
    summary_.text_from_html |= html;
    if (out.size() > limits_.max_text_bytes) {
      summary_.warnings.add(Warning::text_limit);
      truncate_utf8(out, limits_.max_text_bytes);
      text_full_ = true;
    }
  }

  const std::vector<Entity>& entities_;
  const ParseLimits& limits_;
  MessageSummary& summary_;
  std::vector<Role> roles_;
  std::vector<std::string> file_names_;
  std::vector<char> shown_, nested_;
  bool text_full_ = false;
};

}  // namespace

MessageSummary parse_message(std::string_view raw, const ParseLimits& limits) {
  MessageSummary summary;
  try {
    // Mail with classic Mac line ends (CR only) is read as if they were LF.
    std::string lf_lines;
    if (raw.find('\n') == std::string_view::npos && raw.find('\r') != std::string_view::npos) {
      lf_lines.assign(raw);
      std::replace(lf_lines.begin(), lf_lines.end(), '\r', '\n');
      raw = lf_lines;
    }
    const MimeTree tree = scan_mime_tree(raw, limits);
    summary.warnings = tree.warnings;
    if (tree.entities.empty()) return summary;  // max_parts == 0
    read_header(tree.entities.front().header, summary);
    BodyReader(tree, limits, summary).read();
  } catch (const std::bad_alloc&) {
    summary.warnings.add(Warning::out_of_memory);
  } catch (const std::length_error&) {
    summary.warnings.add(Warning::out_of_memory);
  } catch (const std::exception&) {
    summary.warnings.add(Warning::internal_error);
  }
  return summary;
}

}  // namespace lodestone::mail
