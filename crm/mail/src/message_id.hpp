// Message identifiers (Message-ID, In-Reply-To, References) in the one form
// the CRM keys and threads by.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lodestone::mail {

// Trimmed, folding whitespace removed, other control characters replaced by
// U+FFFD, surrounding "<>" stripped, the part after the last '@' lower-cased (domains are
// case-insensitive; local parts are not).
std::string normalise_message_id(std::string_view id);

// Every "<…>" in the field, in order and normalised, skipping comments,
// quoted phrases and obsolete text ("In-Reply-To: Your message of …").  A
// field without brackets yields its words that contain '@'.
std::vector<std::string> parse_message_ids(std::string_view raw);

}  // namespace lodestone::mail
