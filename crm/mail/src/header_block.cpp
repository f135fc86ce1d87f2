#include "header_block.hpp"

#include <cstring>

#include "ascii.hpp"

namespace lodestone::mail {
namespace {

bool is_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127) return false;
  }
  return true;
}

}  // namespace

const HeaderField* HeaderBlock::find(std::string_view name) const {
  for (const auto& field : fields) {
    if (iequals(field.name, name)) return &field;
  }
  return nullptr;
}

HeaderBlock scan_header_block(std::string_view data, std::size_t max_bytes) {
  HeaderBlock block;
  std::size_t pos = 0;
  bool in_field = false;  // the last line read belongs to block.fields.back()
  while (pos < data.size()) {
    const void* eol = std::memchr(data.data() + pos, '\n', data.size() - pos);
    const std::size_t line_end =
        eol ? static_cast<std::size_t>(static_cast<const char*>(eol) - data.data()) : data.size();
    const std::size_t next = eol ? line_end + 1 : data.size();
    std::size_t content_end = line_end;
    if (content_end > pos && data[content_end - 1] == '\r') --content_end;
    const std::string_view line = data.substr(pos, content_end - pos);

    if (line.empty()) {
      block.body_start = next;
      return block;
    }
    const bool over_limit = next > max_bytes;
    if (is_blank(line.front())) {
      // A continuation of the field before it.
      if (in_field && over_limit) {
        block.fields.pop_back();  // cut short: better absent than wrong
        in_field = false;
      }
      if (in_field) {
        HeaderField& field = block.fields.back();
        field.value = std::string_view(field.value.data(),
                                       static_cast<std::size_t>(data.data() + content_end - field.value.data()));
      }
    } else {
      const auto colon = line.find(':');
      std::string_view name = colon == std::string_view::npos ? std::string_view{} : line.substr(0, colon);
      while (!name.empty() && is_blank(name.back())) name.remove_suffix(1);
      if (!is_field_name(name) || line.substr(0, 2) == "--") {
        block.body_start = pos;
        return block;
      }
      in_field = !over_limit;
      if (in_field) {
        std::size_t value_start = pos + colon + 1;
        while (value_start < content_end && is_blank(data[value_start])) ++value_start;
        block.fields.push_back({name, data.substr(value_start, content_end - value_start)});
      }
    }
    if (over_limit) block.truncated = true;
    pos = next;
  }
  block.body_start = data.size();
  return block;
}

}  // namespace lodestone::mail
