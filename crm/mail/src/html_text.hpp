// text/html reduced to the text a reader would see.
#pragma once

#include <string>
#include <string_view>

namespace lodestone::mail {

// Tags removed; the content of script, style, title, template and Outlook's
// <xml> blocks dropped, as are comments; character references decoded;
// block elements become line breaks (paragraph-like ones a blank line);
// whitespace collapsed as a browser would, except inside <pre>.  `html` must
// be UTF-8, and so is the result.  One pass: an unterminated tag, comment or
// script runs to the end of the input instead of being searched again.
std::string html_to_text(std::string_view html);

// The charset a document declares near its start ("<meta charset=…>" or
// the http-equiv form), or "" when none.
std::string_view declared_html_charset(std::string_view html);

}  // namespace lodestone::mail
