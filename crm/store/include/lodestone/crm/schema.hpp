// The schema version of the CRM store, kept in its `meta` database.
//
// Opening a store goes through open_meta() before any table: a fresh
// environment is stamped with the version this build writes; an existing one
// must carry exactly that version, or VersionMismatchError says which version
// was found, which was expected, and where.
#pragma once

#include <cstdint>
#include <string_view>

#include "lodestone/crm/lmdb.hpp"

namespace lodestone::crm {

// Raise whenever a table, an index or a record layout changes incompatibly.
inline constexpr std::uint32_t current_schema_version = 2;  // 2: threads__email values hold a ThreadEntry

inline constexpr std::string_view meta_database_name = "meta";

// Opens the meta database and checks the schema version. A fresh environment
// (no database in it at all) is stamped with `expected`; one that holds other
// databases but no meta is not a Lodestone store and is refused. Commit `txn`
// to keep the stamp and the handle.
Dbi open_meta(WriteTxn& txn, std::uint32_t expected = current_schema_version);

// The same for read-only use (`lodestone crm stats` on a read-only copy): the
// store must exist already; NotFoundError otherwise. Commit `txn` to keep the
// handle.
Dbi open_meta(ReadTxn& txn, std::uint32_t expected = current_schema_version);

// The schema version stored in the meta database.
std::uint32_t stored_schema_version(const Txn& txn, const Dbi& meta);

}  // namespace lodestone::crm
