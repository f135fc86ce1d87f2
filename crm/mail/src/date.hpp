// RFC 5322 dates, obsolete forms included, to UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace lodestone::mail {

// Seconds since the epoch, UTC.  Reads "[Day,] DD Mon YYYY HH:MM[:SS] zone"
// with comments anywhere, two- and three-digit years (RFC 5322 4.3: 00-49
// are 20xx, 50-99 19xx, three digits add 1900), numeric zones, the named US
// zones, and the asctime order mailers still emit ("Thu Aug 22 12:36:23
// 2002").  Military letters and unknown zone names count as UTC, as RFC 5322
// says they must; a missing zone too.  nullopt when any part is missing or
// out of range.
std::optional<std::int64_t> parse_date(std::string_view raw);

}  // namespace lodestone::mail
