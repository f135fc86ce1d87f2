// Unstructured header text (Subject, display names, List-Id) to UTF-8.
#pragma once

#include <string>
#include <string_view>

#include "lodestone/mail.hpp"

namespace lodestone::mail {

// Unfolds `raw`, decodes RFC 2047 encoded words (B and Q) and reads the
// bytes between them as unlabelled text (see charset.hpp).  Whitespace
// between adjacent encoded words is dropped, and the bytes of adjacent words
// in one charset are converted together, so a character split across two
// words survives.  Line breaks and tabs become spaces, other control
// characters U+FFFD; the result is trimmed.
std::string decode_header_text(std::string_view raw, Warnings* warnings = nullptr);

// Replaces control characters as decode_header_text does, in place.
void replace_control_characters(std::string& text);

}  // namespace lodestone::mail
