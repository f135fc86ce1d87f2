#include "lodestone/crm/schema.hpp"

#include <optional>
#include <string>

#include "lodestone/crm/codec.hpp"

namespace lodestone::crm {
namespace {

constexpr std::string_view schema_version_key = "schema_version";
constexpr std::uint8_t meta_record_version = 1;

std::optional<Dbi> open_existing_meta(Txn& txn) {
  try {
    return Dbi::open(txn, meta_database_name);
  } catch (const NotFoundError&) {
    return std::nullopt;
  }
}

// Named databases are the keys of LMDB's unnamed main database.
std::size_t count_databases(const Txn& txn) {
  MDB_dbi main_db = 0;
  if (const int rc = mdb_dbi_open(txn.handle(), nullptr, 0, &main_db); rc != 0)
    throw_lmdb_error(rc, "open the main database", txn.env().path());
  MDB_stat stat{};
  if (const int rc = mdb_stat(txn.handle(), main_db, &stat); rc != 0)
    throw_lmdb_error(rc, "count the databases", txn.env().path());
  return stat.ms_entries;
}

void check_schema_version(const Txn& txn, const Dbi& meta, std::uint32_t expected) {
  const std::uint32_t found = stored_schema_version(txn, meta);
  if (found == expected) return;
  throw VersionMismatchError(0, "check the schema version", txn.env().path(),
                             "the store has schema version " + std::to_string(found) + ", this build expects " +
                                 std::to_string(expected) +
                                 (found > expected ? " (the store was written by a newer Lodestone)"
                                                   : " (the store was written by an older Lodestone)"),
                             found, expected);
}

}  // namespace

Dbi open_meta(WriteTxn& txn, std::uint32_t expected) {
  if (auto meta = open_existing_meta(txn)) {
    check_schema_version(txn, *meta, expected);
    return *meta;
  }
  if (const std::size_t databases = count_databases(txn); databases > 0)
    throw StoreError(0, "open the store", txn.env().path(),
                     "this LMDB environment holds " + std::to_string(databases) +
                         " entries but no 'meta' database: it is not a Lodestone CRM store");
  Dbi meta = Dbi::create(txn, meta_database_name);
  txn.put(meta, schema_version_key, RecordWriter(meta_record_version).u32(expected).view());
  return meta;
}

Dbi open_meta(ReadTxn& txn, std::uint32_t expected) {
  auto meta = open_existing_meta(txn);
  if (!meta)
    throw NotFoundError(0, "open the store", txn.env().path(),
                        "no 'meta' database: this is not a Lodestone CRM store, or it was never opened for writing");
  check_schema_version(txn, *meta, expected);
  return *meta;
}

std::uint32_t stored_schema_version(const Txn& txn, const Dbi& meta) {
  const auto value = txn.get(meta, schema_version_key);
  if (!value)
    throw CorruptionError(0, "read the schema version", txn.env().path(),
                          "the 'meta' database has no schema_version entry");
  RecordReader record(*value, meta_record_version, {txn.env().path(), meta_database_name});
  const std::uint32_t version = record.u32();
  record.expect_end();
  return version;
}

}  // namespace lodestone::crm
