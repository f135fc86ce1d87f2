#include "csv.hpp"

namespace lodestone::crm::cli {

std::vector<CsvRow> parse_csv(std::string_view text, const CsvLimits& limits) {
  if (text.starts_with("\xef\xbb\xbf")) text.remove_prefix(3);
  std::vector<CsvRow> rows;
  CsvRow row{1, {}};
  std::string field;
  std::size_t line = 1;
  bool quoted = false;        // inside a quoted field
  bool was_quoted = false;    // the current field had quotes (so it exists even if empty)
  bool after_quote = false;   // just past a closing quote: only , or a line end may follow

  auto end_field = [&] {
    if (row.fields.size() >= limits.max_fields)
      throw CsvError(row.line, "more than " + std::to_string(limits.max_fields) + " fields in a row");
    row.fields.push_back(std::move(field));
    field.clear();
    was_quoted = after_quote = false;
  };
  auto end_row = [&] {
    end_field();
    // A blank line is no row.
    if (!(row.fields.size() == 1 && row.fields[0].empty())) rows.push_back(std::move(row));
    row = CsvRow{line, {}};
  };

  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\0') throw CsvError(line, "a NUL byte");
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
          after_quote = true;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
    } else if (c == ',') {
      end_field();
      continue;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      end_row();
      continue;
    } else if (after_quote) {
      throw CsvError(line, "text after a closing quote (write \"\" for a quote inside a quoted field)");
    } else if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else {
      field.push_back(c);
    }
    if (field.size() > limits.max_field_bytes)
      throw CsvError(line, "a field longer than " + std::to_string(limits.max_field_bytes) + " bytes");
  }
  if (quoted) throw CsvError(row.line, "a quoted field that never ends");
  if (!field.empty() || was_quoted || !row.fields.empty()) end_row();
  return rows;
}

}  // namespace lodestone::crm::cli
