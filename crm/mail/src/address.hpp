// RFC 5322 address lists (From, To, Cc, …), obsolete forms included.
#pragma once

#include <string_view>
#include <vector>

#include "lodestone/mail.hpp"

namespace lodestone::mail {

// Mailboxes in order, groups flattened ("Team: a@x, b@y;" gives a@x and
// b@y).  Display names are decoded (RFC 2047 words also inside quotes, as
// mailers write them); without a phrase, a comment names the mailbox
// ("jdoe@x (John Doe)").  Source routes are dropped, domains lower-cased.
// Entries without an address ("Undisclosed recipients", a bare name) are
// skipped.
std::vector<Address> parse_address_list(std::string_view raw, Warnings* warnings = nullptr);

}  // namespace lodestone::mail
