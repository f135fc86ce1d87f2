// text/plain bodies as the CRM keeps them.
#pragma once

#include <string>
#include <string_view>

namespace lodestone::mail {

// `utf8` with line ends as "\n" (CRLF and lone CR alike), form feeds and
// vertical tabs as line breaks, other control characters but tab as U+FFFD,
// and, when `flowed` (RFC 3676 format=flowed), soft line breaks joined and
// space-stuffing removed (`delete_space`: DelSp=yes).
std::string plain_text(std::string_view utf8, bool flowed, bool delete_space);

}  // namespace lodestone::mail
