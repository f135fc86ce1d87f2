#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lodestone/crm/codec.hpp"
#include "lodestone/crm/lmdb.hpp"
#include "temp_dir.hpp"

using namespace lodestone::crm;
using lodestone::crm::test::TempDir;
using namespace std::chrono_literals;

namespace {

constexpr EnvOptions small_env{.map_size = 1 << 20};

Dbi create_database(Env& env, std::string_view name) {
  WriteTxn txn(env);
  Dbi dbi = Dbi::create(txn, name);
  txn.commit();
  return dbi;
}

std::vector<std::string> keys_of(Scan scan) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : scan) keys.emplace_back(key);
  return keys;
}

}  // namespace

TEST_CASE("put, get, at, insert, erase and count") {
  TempDir dir;
  Env env(dir.path(), small_env);
  const Dbi contacts = create_database(env, "contacts");

  {
    WriteTxn txn(env);
    txn.put(contacts, "ada", "Ada Lovelace");
    txn.put(contacts, "alan", "Alan Turing");
    txn.put(contacts, "ada", "Augusta Ada King");  // replaces
    txn.insert(contacts, "grace", "Grace Hopper");
    CHECK_THROWS_AS(txn.insert(contacts, "grace", "someone else"), KeyExistsError);
    CHECK(txn.get(contacts, "grace") == "Grace Hopper");  // visible inside the write txn
    txn.commit();
  }

  ReadTxn read(env);
  CHECK(read.get(contacts, "ada") == "Augusta Ada King");
  CHECK(read.at(contacts, "alan") == "Alan Turing");
  CHECK_FALSE(read.get(contacts, "nobody"));
  CHECK_THROWS_AS(read.at(contacts, "nobody"), NotFoundError);
  CHECK_THROWS_WITH(read.at(contacts, "nobody"), Catch::Contains(dir.path().string()) &&
                                                     Catch::Contains("'contacts'") &&
                                                     Catch::Contains("no entry with this key"));
  CHECK(read.count(contacts) == 3);
  read.abort();

  WriteTxn erase(env);
  CHECK(erase.erase(contacts, "alan"));
  CHECK_FALSE(erase.erase(contacts, "alan"));
  erase.commit();
  CHECK(ReadTxn(env).count(contacts) == 2);
}

TEST_CASE("a write transaction aborts when it goes out of scope, also through an exception") {
  TempDir dir;
  Env env(dir.path(), small_env);
  const Dbi dbi = create_database(env, "data");

  CHECK_THROWS_AS(
      [&] {
        WriteTxn txn(env);
        txn.put(dbi, "key", "value");
        throw std::runtime_error("request failed half-way");
      }(),
      std::runtime_error);
  {
    WriteTxn dropped(env);
    dropped.put(dbi, "key", "value");
  }
  WriteTxn aborted(env);
  aborted.put(dbi, "key", "value");
  aborted.abort();
  CHECK_FALSE(aborted.is_open());
  CHECK_THROWS_WITH(aborted.put(dbi, "key", "value"), Catch::Contains("the transaction has already ended"));

  CHECK(ReadTxn(env).count(dbi) == 0);
}

TEST_CASE("a nested transaction's abort keeps its parent's writes") {
  TempDir dir;
  Env env(dir.path(), small_env);
  const Dbi dbi = create_database(env, "data");

  WriteTxn parent(env);
  parent.put(dbi, "parent", "1");
  {
    WriteTxn child = parent.begin_nested();
    child.put(dbi, "aborted child", "2");
  }
  {
    WriteTxn child = parent.begin_nested();
    child.put(dbi, "committed child", "3");
    child.commit();
  }
  // LMDB ends an open child with its parent; the child must not end it again.
  WriteTxn open_child = parent.begin_nested();
  open_child.put(dbi, "open child", "4");
  parent.commit();
  CHECK_FALSE(open_child.is_open());

  ReadTxn read(env);
  CHECK(read.get(dbi, "parent"));
  CHECK_FALSE(read.get(dbi, "aborted child"));
  CHECK(read.get(dbi, "committed child"));
  CHECK(read.get(dbi, "open child"));  // committed along with the parent
}

TEST_CASE("transactions move, and read transactions may end on another thread") {
  TempDir dir;
  Env env(dir.path(), small_env);
  const Dbi dbi = create_database(env, "data");
  {
    WriteTxn txn(env);
    txn.put(dbi, "key", "value");
    WriteTxn moved = std::move(txn);
    CHECK_FALSE(txn.is_open());
    moved.commit();
  }

  ReadTxn read(env);
  std::string seen;
  std::thread other([&seen, &dbi, txn = std::move(read)]() mutable {
    seen = std::string(txn.at(dbi, "key"));
    txn.abort();
  });
  other.join();
  CHECK(seen == "value");
}

TEST_CASE("Dbi::open refuses a database that does not exist") {
  TempDir dir;
  Env env(dir.path(), small_env);
  ReadTxn txn(env);
  CHECK_THROWS_AS(Dbi::open(txn, "missing"), NotFoundError);
  CHECK_THROWS_WITH(Dbi::open(txn, "missing"), Catch::Contains("'missing'") && Catch::Contains("no database"));
}

TEST_CASE("cursor scans: forward, backward, bounded ranges and prefixes") {
  TempDir dir;
  Env env(dir.path(), small_env);
  const Dbi dbi = create_database(env, "index");
  const std::vector<std::string> all{"a", "ab", "abc", "ab\xff", "ac", "b", "\xff", "\xff\xff"};
  {
    WriteTxn txn(env);
    for (const auto& key : all) txn.put(dbi, key, "v:" + key);
    txn.commit();
  }

  ReadTxn txn(env);
  Cursor cursor(txn, dbi);
  const std::vector<std::string> reversed(all.rbegin(), all.rend());
  CHECK(keys_of(cursor.scan(KeyRange::all())) == all);
  CHECK(keys_of(cursor.scan(KeyRange::all(), Direction::backward)) == reversed);
  CHECK(keys_of(cursor.scan(KeyRange::with_prefix("ab"))) == std::vector<std::string>{"ab", "abc", "ab\xff"});
  CHECK(keys_of(cursor.scan(KeyRange::with_prefix("ab"), Direction::backward)) ==
        std::vector<std::string>{"ab\xff", "abc", "ab"});
  CHECK(keys_of(cursor.scan(KeyRange::with_prefix("\xff"))) == std::vector<std::string>{"\xff", "\xff\xff"});
  CHECK(keys_of(cursor.scan({"abc", "b"})) == std::vector<std::string>{"abc", "ab\xff", "ac"});
  CHECK(keys_of(cursor.scan({"abc", "b"}, Direction::backward)) == std::vector<std::string>{"ac", "ab\xff", "abc"});
  CHECK(keys_of(cursor.scan({"aa", "ab"})).empty());
  CHECK(keys_of(cursor.scan({"zz", std::nullopt})) == std::vector<std::string>{"\xff", "\xff\xff"});
  CHECK(keys_of(cursor.scan({"b", "b"})).empty());
  CHECK(keys_of(cursor.scan({"c", "a"}, Direction::backward)).empty());
  CHECK(keys_of(cursor.scan(KeyRange::with_prefix("x"))).empty());

  CHECK(cursor.find("ac")->value == "v:ac");
  CHECK_FALSE(cursor.find("ad"));
  CHECK(cursor.seek("ad")->key == "b");
  CHECK(cursor.prev()->key == "ac");
  CHECK(cursor.first()->key == "a");
  CHECK_FALSE(cursor.prev());
  CHECK(cursor.last()->key == "\xff\xff");
  CHECK_FALSE(cursor.next());
}

TEST_CASE("a cursor outliving its transaction refuses to move and is freed once") {
  TempDir dir;
  Env env(dir.path(), small_env);
  const Dbi dbi = create_database(env, "data");

  WriteTxn write(env);
  write.put(dbi, "key", "value");
  Cursor write_cursor(write, dbi);
  CHECK(write_cursor.first());
  write.commit();  // LMDB frees the cursor; ~Cursor must not free it again
  CHECK_THROWS_WITH(write_cursor.next(), Catch::Contains("its transaction has already ended"));

  std::optional<Cursor> read_cursor;
  {
    ReadTxn read(env);
    read_cursor.emplace(read, dbi);
    CHECK(read_cursor->first()->key == "key");
  }  // a read transaction's cursor is ours to free, after its end here
  CHECK_THROWS_AS(read_cursor->next(), StoreError);
}

TEST_CASE("errors name the database path and what is wrong") {
  TempDir dir;
  const auto file = dir.path() / "not-a-directory";
  std::ofstream(file) << "x";
  try {
    Env env(file);
    FAIL("opened an environment inside a file");
  } catch (const StoreError& error) {
    CHECK(error.path() == file.string());
    CHECK_THAT(error.what(), Catch::Contains(file.string()) && Catch::Contains("create the store directory"));
  }
}

TEST_CASE("a data file that is not LMDB is reported as corruption") {
  TempDir dir;
  std::ofstream data(dir.path() / "data.mdb", std::ios::binary);
  for (int i = 0; i < 16384; ++i) data.put(static_cast<char>(i * 7919));
  data.close();
  try {
    Env env(dir.path(), small_env);
    FAIL("opened a garbage environment");
  } catch (const CorruptionError& error) {
    CHECK(error.code() == MDB_INVALID);
    CHECK_THAT(error.what(), Catch::Contains(dir.path().string()) && Catch::Contains("open the environment"));
  }
}

TEST_CASE("a full map throws MapFullError and marks the transaction") {
  TempDir dir;
  Env env(dir.path(), {.map_size = 64 * 1024});
  const Dbi dbi = create_database(env, "data");
  WriteTxn txn(env);
  const std::string value(1024, 'x');
  try {
    for (std::uint32_t i = 0;; ++i) txn.put(dbi, encode_u32(i), value);
  } catch (const MapFullError& error) {
    CHECK(error.code() == MDB_MAP_FULL);
    CHECK_THAT(error.what(), Catch::Contains("put into 'data'"));
  }
  CHECK(txn.hit_map_full());
}

TEST_CASE("a map resize waits until no transaction is open") {
  TempDir dir;
  Env env(dir.path(), small_env);
  const Dbi dbi = create_database(env, "data");
  {
    WriteTxn txn(env);
    txn.put(dbi, "key", "value");
    txn.commit();
  }

  auto reader = std::make_unique<ReadTxn>(env);
  const std::string_view value = reader->at(dbi, "key");
  std::atomic<bool> resized = false;
  std::thread resizer([&] {
    env.set_map_size(8 << 20);
    resized = true;
  });
  std::this_thread::sleep_for(400ms);  // past the resize's priority window too
  CHECK_FALSE(resized);
  CHECK(value == "value");  // still mapped
  reader.reset();
  resizer.join();
  CHECK(resized);
  CHECK(env.map_size() == 8 << 20);
  CHECK(ReadTxn(env).at(dbi, "key") == "value");
}

TEST_CASE("a thread holding a transaction can begin another while a resize waits") {
  TempDir dir;
  Env env(dir.path(), small_env);
  auto outer = std::make_unique<ReadTxn>(env);
  std::thread resizer([&] { env.set_map_size(4 << 20); });
  std::this_thread::sleep_for(50ms);  // the resize now holds new transactions back
  const auto start = std::chrono::steady_clock::now();
  {
    ReadTxn inner(env);  // delayed by the resize's priority, not deadlocked
  }
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  outer.reset();
  resizer.join();
  CHECK(env.map_size() == 4 << 20);
}

TEST_CASE("a map grown by another process is adopted") {
  TempDir dir;
  Env env(dir.path(), {.map_size = 64 * 1024});
  const Dbi dbi = create_database(env, "data");
  constexpr std::uint32_t entries = 1000;

  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Another process: its own Env (never the parent's, per LMDB), a larger map.
    int status = 0;
    try {
      Env grown(dir.path(), {.map_size = 16 << 20});
      WriteTxn txn(grown);
      const Dbi data = Dbi::create(txn, "data");
      for (std::uint32_t i = 0; i < entries; ++i) txn.put(data, encode_u32(i), std::string(2048, 'g'));
      txn.commit();
    } catch (...) {
      status = 1;
    }
    _exit(status);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  ReadTxn txn(env);  // LMDB reports MDB_MAP_RESIZED; the Env maps the new size
  CHECK(txn.count(dbi) == entries);
  CHECK(txn.at(dbi, encode_u32(entries - 1)) == std::string(2048, 'g'));
  CHECK(env.map_size() >= 2 * 1024 * 1024);
}
