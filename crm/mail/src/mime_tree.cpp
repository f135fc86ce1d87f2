#include "mime_tree.hpp"

#include <cstring>
#include <optional>
#include <string>

#include "ascii.hpp"

namespace lodestone::mail {
namespace {

// RFC 2046 allows 70 characters; some mailers write more.  Anything longer is
// not a boundary anyone meant, and would only make each line check dearer.
constexpr std::size_t max_boundary_length = 200;

struct Delimiter {
  std::size_t line_start;  // where the delimiter line begins
  std::size_t next_line;   // just past its line break
  std::size_t level;       // which open entity (index into the open stack) it belongs to
  bool closing;            // "--boundary--"
};

class Scanner {
 public:
  Scanner(std::string_view raw, const ParseLimits& limits) : raw_(raw), limits_(limits) {}

  MimeTree run() {
    // Mail exported from mbox files may still start with its "From " line.
    std::size_t start = 0;
    if (raw_.starts_with("From ")) {
      const void* eol = std::memchr(raw_.data(), '\n', raw_.size());
      start = eol ? static_cast<std::size_t>(static_cast<const char*>(eol) - raw_.data()) + 1 : raw_.size();
    }
    if (!begin_entity(start, Entity::no_parent, 0, false)) return std::move(tree_);
    while (true) {
      const std::optional<Delimiter> delimiter = find_delimiter(scan_from_);
      if (!delimiter) {
        close_from(0, raw_.size(), true);
        break;
      }
      // The line break in front of a delimiter belongs to the delimiter.
      std::size_t content_end = delimiter->line_start;
      if (content_end > 0 && raw_[content_end - 1] == '\n') {
        --content_end;
        if (content_end > 0 && raw_[content_end - 1] == '\r') --content_end;
      }
      close_from(delimiter->level + 1, content_end, true);
      if (delimiter->closing) {
        close_from(delimiter->level, content_end, false);
        scan_from_ = delimiter->next_line;
        continue;
      }
      const std::size_t multipart = open_[delimiter->level].entity;
      const bool digest = tree_.entities[multipart].content_type.value == "multipart/digest";
      if (!begin_entity(delimiter->next_line, multipart, tree_.entities[multipart].depth + 1, digest)) {
        close_from(0, content_end, false);
        break;
      }
    }
    return std::move(tree_);
  }

 private:
  struct Open {
    std::size_t entity;
    std::string delimiter;  // "--boundary" for a multipart, else empty
  };

  // Reads the entity whose header starts at `pos`, and the chain of attached
  // messages directly inside it; scanning resumes at the innermost body.
  // False when the part limit stops the scan.
  bool begin_entity(std::size_t pos, std::size_t parent, std::size_t depth, bool digest_part) {
    while (true) {
      if (tree_.entities.size() >= limits_.max_parts) {
        tree_.warnings.add(Warning::part_limit);
        return false;
      }
      Entity entity;
      entity.parent = parent;
      entity.depth = depth;
      entity.header = scan_header_block(raw_.substr(pos), limits_.max_header_bytes);
      if (entity.header.truncated) tree_.warnings.add(Warning::header_limit);
      const std::size_t body_start = pos + entity.header.body_start;
      entity.body = raw_.substr(body_start);
      read_content_fields(entity, digest_part);
      if (parent != Entity::no_parent) ++tree_.entities[parent].children;

      const std::size_t index = tree_.entities.size();
      tree_.entities.push_back(std::move(entity));
      open_.push_back({index, {}});
      scan_from_ = body_start;

      Entity& e = tree_.entities.back();
      const std::string& type = e.content_type.value;
      if (type.starts_with("multipart/")) {
        if (depth >= limits_.max_depth) {
          tree_.warnings.add(Warning::depth_limit);
          return true;  // a leaf nobody reads
        }
        std::string_view boundary = raw_parameter(e.content_type, "boundary").value_or("");
        while (!boundary.empty() && is_space(boundary.back())) boundary.remove_suffix(1);
        if (boundary.empty() || boundary.size() > max_boundary_length) {
          tree_.warnings.add(Warning::missing_boundary);
          read_as_text(e);
          return true;
        }
        e.kind = Entity::Kind::multipart;
        open_.back().delimiter = "--" + std::string(boundary);
        return true;
      }
      // An encoded message/rfc822 is against RFC 2046; it stays an opaque leaf.
      if ((type == "message/rfc822" || type == "message/global") &&
          e.encoding == TransferEncoding::identity) {
        if (depth >= limits_.max_depth) {
          tree_.warnings.add(Warning::depth_limit);
          return true;
        }
        e.kind = Entity::Kind::message;
        parent = index;
        ++depth;
        pos = body_start;
        digest_part = false;
        continue;
      }
      return true;
    }
  }

  static void read_content_fields(Entity& entity, bool digest_part) {
    if (const HeaderField* field = entity.header.find("content-type")) {
      entity.content_type = parse_content_field(field->value);
    }
    // RFC 2046 defaults, also for a type that is not "type/subtype".
    if (entity.content_type.value.find('/') == std::string::npos) {
      entity.content_type.value = digest_part ? "message/rfc822" : "text/plain";
    }
    if (const HeaderField* field = entity.header.find("content-transfer-encoding")) {
      entity.encoding = parse_transfer_encoding(field->value);
    }
    if (const HeaderField* field = entity.header.find("content-disposition")) {
      entity.disposition = parse_content_field(field->value);
    }
  }

  // A multipart whose parts cannot be found is shown the way mail clients
  // show it: its body as text.
  static void read_as_text(Entity& entity) {
    entity.kind = Entity::Kind::leaf;
    entity.content_type.value = "text/plain";
  }

  // The first delimiter line of any open multipart at or after `from` (always
  // a line start), preferring the innermost multipart.
  std::optional<Delimiter> find_delimiter(std::size_t from) const {
    std::size_t line = from;
    while (line < raw_.size()) {
      if (raw_.size() - line >= 2 && raw_[line] == '-' && raw_[line + 1] == '-') {
        for (std::size_t level = open_.size(); level-- > 0;) {
          const std::string& delimiter = open_[level].delimiter;
          if (delimiter.empty() || raw_.substr(line, delimiter.size()) != delimiter) continue;
          std::size_t after = line + delimiter.size();
          const bool closing = raw_.substr(after, 2) == "--";
          if (closing) after += 2;
          while (after < raw_.size() && is_blank(raw_[after])) ++after;
          if (after < raw_.size() && raw_[after] == '\r') ++after;
          if (after < raw_.size() && raw_[after] != '\n') continue;  // "--boundary" plus more text
          return Delimiter{line, after < raw_.size() ? after + 1 : raw_.size(), level, closing};
        }
      }
      const void* eol = std::memchr(raw_.data() + line, '\n', raw_.size() - line);
      if (!eol) break;
      line = static_cast<std::size_t>(static_cast<const char*>(eol) - raw_.data()) + 1;
    }
    return std::nullopt;
  }

  // Ends every open entity from stack position `level` up at `end`.
  // `unterminated` says the multiparts among them lacked a closing delimiter.
  void close_from(std::size_t level, std::size_t end, bool unterminated) {
    while (open_.size() > level) {
      Entity& entity = tree_.entities[open_.back().entity];
      const std::size_t start = static_cast<std::size_t>(entity.body.data() - raw_.data());
      entity.body = raw_.substr(start, end > start ? end - start : 0);
      if (entity.kind == Entity::Kind::multipart) {
        if (unterminated) tree_.warnings.add(Warning::unterminated_multipart);
        if (entity.children == 0) read_as_text(entity);
      }
      open_.pop_back();
    }
  }

  std::string_view raw_;
  const ParseLimits& limits_;
  MimeTree tree_;
  std::vector<Open> open_;
  std::size_t scan_from_ = 0;
};

}  // namespace

MimeTree scan_mime_tree(std::string_view raw, const ParseLimits& limits) {
  return Scanner(raw, limits).run();
}

}  // namespace lodestone::mail
