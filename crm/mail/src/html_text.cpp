#include "html_text.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <unordered_map>

#include "ascii.hpp"
#include "charset.hpp"

namespace lodestone::mail {
namespace {

// HTML 4 Latin-1 entity names, U+00A0 (nbsp) to U+00FF (yuml) in order.
constexpr std::array<std::string_view, 96> latin1_entities = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",
    "uml",    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",
    "deg",    "plusmn", "sup2",   "sup3",   "acute",  "micro",  "para",   "middot",
    "cedil",  "sup1",   "ordm",   "raquo",  "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc",  "Atilde", "Auml",   "Aring",  "AElig",  "Ccedil",
    "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave", "Iacute", "Icirc",  "Iuml",
    "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde", "Ouml",   "times",
    "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",  "szlig",
    "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",
    "eth",    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide",
    "oslash", "ugrave", "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml",
};

struct NamedEntity {
  std::string_view name;
  char32_t code_point;
};
// The rest of what mail HTML uses: markup escapes and typography.
constexpr std::array other_entities = {
    NamedEntity{"quot", 0x22},    NamedEntity{"amp", 0x26},     NamedEntity{"apos", 0x27},
    NamedEntity{"lt", 0x3C},      NamedEntity{"gt", 0x3E},      NamedEntity{"OElig", 0x152},
    NamedEntity{"oelig", 0x153},  NamedEntity{"Scaron", 0x160}, NamedEntity{"scaron", 0x161},
    NamedEntity{"Yuml", 0x178},   NamedEntity{"fnof", 0x192},   NamedEntity{"circ", 0x2C6},
    NamedEntity{"tilde", 0x2DC},  NamedEntity{"ensp", 0x2002},  NamedEntity{"emsp", 0x2003},
    NamedEntity{"thinsp", 0x2009}, NamedEntity{"zwnj", 0x200C}, NamedEntity{"zwj", 0x200D},
    NamedEntity{"lrm", 0x200E},   NamedEntity{"rlm", 0x200F},   NamedEntity{"ndash", 0x2013},
    NamedEntity{"mdash", 0x2014}, NamedEntity{"lsquo", 0x2018}, NamedEntity{"rsquo", 0x2019},
    NamedEntity{"sbquo", 0x201A}, NamedEntity{"ldquo", 0x201C}, NamedEntity{"rdquo", 0x201D},
    NamedEntity{"bdquo", 0x201E}, NamedEntity{"dagger", 0x2020}, NamedEntity{"Dagger", 0x2021},
    NamedEntity{"bull", 0x2022},  NamedEntity{"hellip", 0x2026}, NamedEntity{"permil", 0x2030},
    NamedEntity{"prime", 0x2032}, NamedEntity{"Prime", 0x2033}, NamedEntity{"lsaquo", 0x2039},
    NamedEntity{"rsaquo", 0x203A}, NamedEntity{"oline", 0x203E}, NamedEntity{"frasl", 0x2044},
    NamedEntity{"euro", 0x20AC},  NamedEntity{"trade", 0x2122}, NamedEntity{"larr", 0x2190},
    NamedEntity{"uarr", 0x2191},  NamedEntity{"rarr", 0x2192},  NamedEntity{"darr", 0x2193},
    NamedEntity{"harr", 0x2194},  NamedEntity{"spades", 0x2660}, NamedEntity{"clubs", 0x2663},
    NamedEntity{"hearts", 0x2665}, NamedEntity{"diams", 0x2666},
};

const std::unordered_map<std::string_view, char32_t>& entity_table() {
  static const auto table = [] {
    std::unordered_map<std::string_view, char32_t> t;
    for (std::size_t i = 0; i < latin1_entities.size(); ++i) {
      t.emplace(latin1_entities[i], static_cast<char32_t>(0xA0 + i));
    }
    for (const auto& entity : other_entities) t.emplace(entity.name, entity.code_point);
    return t;
  }();
  return table;
}

// What HTML makes of numeric references to C1 controls: Windows-1252.
constexpr std::array<char32_t, 32> windows_1252_c1 = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

// Elements whose content is not read as text.
constexpr std::array<std::string_view, 5> skipped_elements = {"script", "style", "title",
                                                               "template", "xml"};

enum class Break { none, line, paragraph };

struct BreakingElement {
  std::string_view name;
  Break kind;
};
constexpr std::array breaking_elements = {
    BreakingElement{"p", Break::paragraph},          BreakingElement{"h1", Break::paragraph},
    BreakingElement{"h2", Break::paragraph},         BreakingElement{"h3", Break::paragraph},
    BreakingElement{"h4", Break::paragraph},         BreakingElement{"h5", Break::paragraph},
    BreakingElement{"h6", Break::paragraph},         BreakingElement{"blockquote", Break::paragraph},
    BreakingElement{"table", Break::paragraph},      BreakingElement{"ul", Break::paragraph},
    BreakingElement{"ol", Break::paragraph},         BreakingElement{"dl", Break::paragraph},
    BreakingElement{"pre", Break::paragraph},        BreakingElement{"hr", Break::paragraph},
    BreakingElement{"br", Break::line},              BreakingElement{"div", Break::line},
    BreakingElement{"li", Break::line},              BreakingElement{"tr", Break::line},
    BreakingElement{"dt", Break::line},              BreakingElement{"dd", Break::line},
    BreakingElement{"section", Break::line},         BreakingElement{"article", Break::line},
    BreakingElement{"header", Break::line},          BreakingElement{"footer", Break::line},
    BreakingElement{"nav", Break::line},             BreakingElement{"aside", Break::line},
    BreakingElement{"address", Break::line},         BreakingElement{"form", Break::line},
    BreakingElement{"center", Break::line},          BreakingElement{"caption", Break::line},
    BreakingElement{"figure", Break::line},          BreakingElement{"figcaption", Break::line},
    BreakingElement{"main", Break::line},            BreakingElement{"fieldset", Break::line},
    BreakingElement{"option", Break::line},
};

bool is_html_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

// Collects visible text, holding collapsed whitespace and line breaks back
// until more text shows where they fall.
class TextBuilder {
 public:
  void space() { pending_space_ = true; }
  void line_break(Break kind) {
    if (kind > pending_break_) pending_break_ = kind;
  }
  void visible(std::string_view text) {
    if (text.empty()) return;
    flush_pending();
    out_.append(text);
  }
  void visible_code_point(char32_t cp) {
    flush_pending();
    append_code_point(out_, cp);
  }
  // Preformatted text: every character as written, line ends as "\n".
  void preformatted(char c) {
    if (c == '\r') return;
    flush_pending();
    out_.push_back(c == '\f' ? '\n' : c);
  }
  std::string finish() {
    while (!out_.empty() && is_html_space(out_.back())) out_.pop_back();
    return std::move(out_);
  }

 private:
  void flush_pending() {
    if (!out_.empty()) {
      if (pending_break_ != Break::none) {
        std::size_t newlines = 0;
        while (!out_.empty() && (out_.back() == ' ' || out_.back() == '\n')) {
          if (out_.back() == '\n') ++newlines;
          out_.pop_back();
        }
        const std::size_t wanted = std::max<std::size_t>(newlines, pending_break_ == Break::paragraph ? 2 : 1);
        out_.append(std::min<std::size_t>(wanted, 2), '\n');
      } else if (pending_space_ && out_.back() != ' ' && out_.back() != '\n') {
        out_.push_back(' ');
      }
    }
    pending_space_ = false;
    pending_break_ = Break::none;
  }

  std::string out_;
  bool pending_space_ = false;
  Break pending_break_ = Break::none;
};

std::size_t find_ci(std::string_view haystack, std::string_view needle, std::size_t from) {
  if (needle.empty() || haystack.size() < needle.size()) return std::string_view::npos;
  for (std::size_t i = from; i + needle.size() <= haystack.size(); ++i) {
    if (lower_ascii(haystack[i]) == lower_ascii(needle[0]) && iequals(haystack.substr(i, needle.size()), needle))
      return i;
  }
  return std::string_view::npos;
}

// Decodes the character reference at html[i] ('&'); returns the position
// after it, or i when there is none (the '&' is then literal text).
std::size_t read_reference(std::string_view html, std::size_t i, char32_t& cp) {
  std::size_t j = i + 1;
  if (j < html.size() && html[j] == '#') {
    ++j;
    const bool hex = j < html.size() && (html[j] == 'x' || html[j] == 'X');
    if (hex) ++j;
    const std::size_t digits_start = j;
    std::uint32_t value = 0;
    while (j < html.size()) {
      const char c = html[j];
      int digit;
      if (c >= '0' && c <= '9') digit = c - '0';
      else if (hex && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      else if (hex && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
      else break;
      value = std::min<std::uint32_t>(value * (hex ? 16 : 10) + static_cast<std::uint32_t>(digit), 0x110000);
      ++j;
    }
    if (j == digits_start) return i;
    if (j < html.size() && html[j] == ';') ++j;
    if (value >= 0x80 && value <= 0x9F) {
      cp = windows_1252_c1[value - 0x80];
    } else if (value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
      cp = 0xFFFD;
    } else {
      cp = value;
    }
    return j;
  }
  while (j < html.size() && j - i <= 32 && is_alnum(html[j])) ++j;
  const std::string_view name = html.substr(i + 1, j - i - 1);
  const auto& table = entity_table();
  const auto found = table.find(name);
  if (found == table.end()) return i;
  const bool terminated = j < html.size() && html[j] == ';';
  // Without ';' only the old Latin-1 and markup names count, as in browsers.
  if (!terminated && found->second > 0xFF) return i;
  cp = found->second;
  return terminated ? j + 1 : j;
}

// The end of the tag starting at html[i] ('<'): just past its '>', honouring
// quoted attribute values; the end of input when it never closes.
std::size_t tag_end(std::string_view html, std::size_t i) {
  std::size_t j = i + 1;
  while (j < html.size()) {
    const char c = html[j];
    if (c == '>') return j + 1;
    if (c == '=') {
      ++j;
      while (j < html.size() && is_html_space(html[j])) ++j;
      if (j < html.size() && (html[j] == '"' || html[j] == '\'')) {
        const auto close = html.find(html[j], j + 1);
        if (close == std::string_view::npos) return html.size();
        j = close + 1;
      }
      continue;
    }
    ++j;
  }
  return html.size();
}

}  // namespace

std::string html_to_text(std::string_view html) {
  TextBuilder text;
  std::size_t pre_depth = 0;
  std::size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c == '<') {
      if (html.substr(i, 4) == "<!--") {
        const auto end = html.find("-->", i + 4);
        i = end == std::string_view::npos ? html.size() : end + 3;
        continue;
      }
      const bool closing = i + 1 < html.size() && html[i + 1] == '/';
      const std::size_t name_start = i + (closing ? 2 : 1);
      if (name_start < html.size() && (html[name_start] == '!' || html[name_start] == '?')) {
        i = tag_end(html, i);  // doctype, processing instruction, CDATA
        continue;
      }
      if (name_start >= html.size() || !is_alpha(html[name_start])) {
        text.visible("<");  // a lone '<' is text
        ++i;
        continue;
      }
      std::size_t name_end = name_start;
      while (name_end < html.size() && (is_alnum(html[name_end]) || html[name_end] == ':' ||
                                        html[name_end] == '-'))
        ++name_end;
      const std::string name = lower_ascii(html.substr(name_start, name_end - name_start));
      i = tag_end(html, i);
      if (!closing && std::find(skipped_elements.begin(), skipped_elements.end(), name) != skipped_elements.end()) {
        const auto end = find_ci(html, "</" + name, i);
        i = end == std::string_view::npos ? html.size() : tag_end(html, end);
        continue;
      }
      if (name == "pre") {
        if (closing) {
          pre_depth = pre_depth > 0 ? pre_depth - 1 : 0;
        } else {
          ++pre_depth;
        }
      }
      if (name == "td" || name == "th") text.space();
      for (const auto& element : breaking_elements) {
        if (element.name == name) {
          text.line_break(element.kind);
          break;
        }
      }
      continue;
    }
    if (c == '&') {
      char32_t cp = 0;
      const std::size_t next = read_reference(html, i, cp);
      if (next == i) {
        text.visible("&");
        ++i;
      } else {
        if (cp == 0xA0) {
          text.visible(" ");  // a space that is kept, not collapsed
        } else if (pre_depth == 0 && cp < 0x80 && is_html_space(static_cast<char>(cp))) {
          text.space();
        } else {
          text.visible_code_point(cp);
        }
        i = next;
      }
      continue;
    }
    if (pre_depth > 0) {
      text.preformatted(c);
      ++i;
      continue;
    }
    if (is_html_space(c)) {
      text.space();
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    while (j < html.size() && html[j] != '<' && html[j] != '&' && !is_html_space(html[j])) ++j;
    text.visible(html.substr(i, j - i));
    i = j;
  }
  return text.finish();
}

std::string_view declared_html_charset(std::string_view html) {
  const std::string_view head = html.substr(0, 4096);
  std::size_t at = 0;
  while ((at = find_ci(head, "charset", at)) != std::string_view::npos) {
    std::size_t j = at + 7;
    at = j;
    while (j < head.size() && is_html_space(head[j])) ++j;
    if (j >= head.size() || head[j] != '=') continue;
    ++j;
    while (j < head.size() && (is_html_space(head[j]) || head[j] == '"' || head[j] == '\'')) ++j;
    const std::size_t start = j;
    while (j < head.size() && (is_alnum(head[j]) || head[j] == '-' || head[j] == '_' || head[j] == '.' ||
                               head[j] == ':'))
      ++j;
    if (j > start) return head.substr(start, j - start);
  }
  return {};
}

}  // namespace lodestone::mail
