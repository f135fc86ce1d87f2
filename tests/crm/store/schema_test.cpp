#include <catch2/catch.hpp>

#include <string>

#include "lodestone/crm/codec.hpp"
#include "lodestone/crm/schema.hpp"
#include "temp_dir.hpp"

using namespace lodestone::crm;
using lodestone::crm::test::TempDir;

namespace {

constexpr EnvOptions small_env{.map_size = 1 << 20};

void open_store(Env& env, std::uint32_t expected) {
  WriteTxn txn(env);
  open_meta(txn, expected);
  txn.commit();
}

}  // namespace

TEST_CASE("a fresh store gets the current schema version and opens again") {
  TempDir dir;
  {
    Env env(dir.path(), small_env);
    open_store(env, current_schema_version);
  }
  Env env(dir.path(), small_env);
  ReadTxn txn(env);
  const Dbi meta = open_meta(txn);
  CHECK(stored_schema_version(txn, meta) == current_schema_version);
}

TEST_CASE("a store of another schema version is refused with both versions and the path") {
  TempDir dir;
  {
    Env env(dir.path(), small_env);
    open_store(env, 1);
  }
  Env env(dir.path(), small_env);
  WriteTxn txn(env);
  try {
    open_meta(txn, 2);
    FAIL("a version 1 store opened as version 2");
  } catch (const VersionMismatchError& error) {
    CHECK(error.found() == 1);
    CHECK(error.expected() == 2);
    CHECK(error.path() == dir.path().string());
    CHECK_THAT(error.what(), Catch::Contains(dir.path().string()) &&
                                 Catch::Contains("the store has schema version 1, this build expects 2"));
  }
  txn.abort();

  ReadTxn read(env);
  CHECK_THROWS_AS(open_meta(read, 2), VersionMismatchError);
}

TEST_CASE("opening read-only needs an existing store") {
  TempDir dir;
  Env env(dir.path(), small_env);
  ReadTxn txn(env);
  CHECK_THROWS_AS(open_meta(txn), NotFoundError);
  CHECK_THROWS_WITH(open_meta(txn), Catch::Contains(dir.path().string()) && Catch::Contains("no 'meta' database"));
}

TEST_CASE("an LMDB environment of something else is not stamped") {
  TempDir dir;
  Env env(dir.path(), small_env);
  {
    WriteTxn txn(env);
    Dbi::create(txn, "someone_elses_table");
    txn.commit();
  }
  WriteTxn txn(env);
  CHECK_THROWS_WITH(open_meta(txn), Catch::Contains("not a Lodestone CRM store"));
}

TEST_CASE("a garbled or missing schema version is reported, not trusted") {
  TempDir dir;
  Env env(dir.path(), small_env);
  Dbi meta = [&] {
    WriteTxn txn(env);
    Dbi opened = open_meta(txn);
    txn.commit();
    return opened;
  }();

  WriteTxn txn(env);
  txn.put(meta, "schema_version", std::string_view("\x01\x00\x01", 3));  // a u32 cut short
  CHECK_THROWS_AS(open_meta(txn), RecordError);
  CHECK_THROWS_WITH(open_meta(txn), Catch::Contains(dir.path().string()) && Catch::Contains("'meta'"));
  txn.erase(meta, "schema_version");
  CHECK_THROWS_AS(open_meta(txn), CorruptionError);
}
