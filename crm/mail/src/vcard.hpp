// vCards (2.1, 3.0 and 4.0) in a text/vcard or text/x-vcard part.
#pragma once

#include <string_view>
#include <vector>

#include "lodestone/mail.hpp"

namespace lodestone::mail {

// Every card in `data` (raw bytes after transfer decoding): lines unfolded
// (RFC 6350 folding and vCard 2.1 quoted-printable soft breaks), values
// decoded (ENCODING=QUOTED-PRINTABLE or BASE64, then CHARSET, else `charset`,
// the part's), escapes resolved.  A card missing its END is kept; cards with
// nothing of interest are not.
std::vector<VCard> parse_vcards(std::string_view data, std::string_view charset,
                                Warnings* warnings = nullptr);

}  // namespace lodestone::mail
