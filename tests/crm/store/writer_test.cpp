#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lodestone/crm/codec.hpp"
#include "lodestone/crm/schema.hpp"
#include "lodestone/crm/writer.hpp"
#include "temp_dir.hpp"

using namespace lodestone::crm;
using lodestone::crm::test::TempDir;
using namespace std::chrono_literals;

namespace {

constexpr EnvOptions test_env{.map_size = 4 << 20};
constexpr EnvOptions tiny_env{.map_size = 64 * 1024};

Dbi create_database(Env& env, std::string_view name) {
  WriteTxn txn(env);
  Dbi dbi = Dbi::create(txn, name);
  txn.commit();
  return dbi;
}

// Keeps the writer's thread inside a request until released, so that the
// requests submitted meanwhile queue up and form the next batches.
class WriterBlocker {
 public:
  explicit WriterBlocker(Writer& writer)
      : done_(writer.submit([this](WriteTxn&) {
          started_.set_value();
          released_.wait();
        })) {
    started_.get_future().wait();
  }
  void release() {
    release_.set_value();
    done_.get();
  }

 private:
  std::promise<void> started_;
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::future<void> done_;
};

Writer::Request put(const Dbi& dbi, std::string key, std::string value) {
  return [&dbi, key = std::move(key), value = std::move(value)](WriteTxn& txn) { txn.put(dbi, key, value); };
}

}  // namespace

TEST_CASE("requests from many threads are all committed and their futures fulfilled") {
  TempDir dir;
  Env env(dir.path(), test_env);
  const Dbi dbi = create_database(env, "data");
  Writer writer(env);

  constexpr std::uint32_t threads = 8, per_thread = 250, total = threads * per_thread;
  std::vector<std::vector<std::future<void>>> futures(threads);
  std::vector<std::thread> submitters;
  for (std::uint32_t t = 0; t < threads; ++t)
    submitters.emplace_back([&, t] {
      for (std::uint32_t i = 0; i < per_thread; ++i)
        futures[t].push_back(writer.submit(put(dbi, KeyBuilder().u32(t).u32(i).take(), "value")));
    });
  for (auto& submitter : submitters) submitter.join();
  for (auto& of_thread : futures)
    for (auto& future : of_thread) CHECK_NOTHROW(future.get());

  CHECK(ReadTxn(env).count(dbi) == total);
  INFO(total << " requests in " << writer.commit_count() << " commits");
  CHECK(writer.commit_count() >= 1);
  CHECK(writer.commit_count() < total);
}

TEST_CASE("requests queued while the writer is busy share commits of up to max_batch") {
  TempDir dir;
  Env env(dir.path(), test_env);
  const Dbi dbi = create_database(env, "data");

  SECTION("all in one commit") {
    Writer writer(env);
    WriterBlocker blocker(writer);
    std::vector<std::future<void>> futures;
    for (std::uint32_t i = 0; i < 100; ++i) futures.push_back(writer.submit(put(dbi, encode_u32(i), "v")));
    blocker.release();
    for (auto& future : futures) future.get();
    CHECK(writer.commit_count() == 1 + 1);  // the blocker's, then one for all 100
  }
  SECTION("split by max_batch") {
    Writer writer(env, {.max_batch = 10});
    WriterBlocker blocker(writer);
    std::vector<std::future<void>> futures;
    for (std::uint32_t i = 0; i < 100; ++i) futures.push_back(writer.submit(put(dbi, encode_u32(i), "v")));
    blocker.release();
    for (auto& future : futures) future.get();
    CHECK(writer.commit_count() == 1 + 10);
  }
  CHECK(ReadTxn(env).count(dbi) == 100);
}

TEST_CASE("a failing request is rolled back alone; the rest of its batch commits") {
  TempDir dir;
  Env env(dir.path(), test_env);
  const Dbi dbi = create_database(env, "data");
  {
    WriteTxn txn(env);
    txn.put(dbi, "existing", "1");
    txn.commit();
  }
  Writer writer(env);
  WriterBlocker blocker(writer);

  auto before = writer.submit(put(dbi, "before", "1"));
  auto throwing = writer.submit([&](WriteTxn& txn) {
    txn.put(dbi, "thrower's write", "1");
    throw std::runtime_error("the request found bad input");
  });
  auto conflicting = writer.submit([&](WriteTxn& txn) {
    txn.put(dbi, "conflict's write", "1");
    txn.insert(dbi, "existing", "2");
  });
  auto after = writer.submit(put(dbi, "after", "1"));
  blocker.release();

  CHECK_NOTHROW(before.get());
  CHECK_THROWS_WITH(throwing.get(), "the request found bad input");
  CHECK_THROWS_AS(conflicting.get(), KeyExistsError);
  CHECK_NOTHROW(after.get());
  CHECK(writer.commit_count() == 2);  // the four requests were one batch

  ReadTxn txn(env);
  CHECK(txn.get(dbi, "before"));
  CHECK(txn.get(dbi, "after"));
  CHECK_FALSE(txn.get(dbi, "thrower's write"));
  CHECK_FALSE(txn.get(dbi, "conflict's write"));
  CHECK(txn.at(dbi, "existing") == "1");
}

TEST_CASE("the writer grows a full map and retries transparently") {
  TempDir dir;
  Env env(dir.path(), tiny_env);
  const Dbi dbi = create_database(env, "data");
  Writer writer(env);

  // 400 requests of 16 KiB each: 6.4 MiB through a 64 KiB map.
  constexpr std::uint32_t requests = 400;
  const auto value_of = [](std::uint32_t i) { return std::string(16 * 1024, static_cast<char>('a' + i % 26)); };
  std::vector<std::future<void>> futures;
  for (std::uint32_t i = 0; i < requests; ++i) futures.push_back(writer.submit(put(dbi, encode_u32(i), value_of(i))));
  for (auto& future : futures) CHECK_NOTHROW(future.get());

  CHECK(env.map_size() >= 6 * 1024 * 1024);
  ReadTxn txn(env);
  CHECK(txn.count(dbi) == requests);
  for (std::uint32_t i = 0; i < requests; ++i) CHECK(txn.at(dbi, encode_u32(i)) == value_of(i));
}

TEST_CASE("a request that catches MapFullError still gets its batch retried after growth") {
  TempDir dir;
  Env env(dir.path(), tiny_env);
  const Dbi dbi = create_database(env, "data");
  Writer writer(env);

  int runs = 0;
  auto swallowing = writer.submit([&](WriteTxn& txn) {
    ++runs;
    try {
      txn.put(dbi, "big", std::string(1 << 20, 'x'));
    } catch (const MapFullError&) {
      // Carries on as if nothing happened; LMDB has failed the transaction.
    }
  });
  CHECK_NOTHROW(swallowing.get());
  CHECK(runs > 1);
  CHECK(ReadTxn(env).at(dbi, "big").size() == 1 << 20);
}

TEST_CASE("the writer refuses an environment opened with MDB_WRITEMAP") {
  TempDir dir;
  Env env(dir.path(), {.map_size = 1 << 20, .flags = MDB_WRITEMAP});
  CHECK_THROWS_WITH(Writer(env), Catch::Contains("MDB_WRITEMAP"));
}

TEST_CASE("past max_map_size the batch fails with MapFullError and the writer carries on") {
  TempDir dir;
  Env env(dir.path(), tiny_env);
  const Dbi dbi = create_database(env, "data");
  Writer writer(env, {.max_map_size = 256 * 1024});

  auto too_big = writer.submit(put(dbi, "big", std::string(1 << 20, 'x')));
  CHECK_THROWS_AS(too_big.get(), MapFullError);
  CHECK(env.map_size() == 256 * 1024);

  auto small = writer.submit(put(dbi, "small", "fits"));
  CHECK_NOTHROW(small.get());
  CHECK(ReadTxn(env).at(dbi, "small") == "fits");
}

TEST_CASE("map growth waits for open read transactions, whose views stay valid") {
  TempDir dir;
  Env env(dir.path(), tiny_env);
  const Dbi dbi = create_database(env, "data");
  Writer writer(env);
  writer.submit(put(dbi, "key", "value")).get();

  auto reader = std::make_unique<ReadTxn>(env);
  const std::string_view value = reader->at(dbi, "key");
  auto growing = writer.submit(put(dbi, "big", std::string(1 << 20, 'x')));
  CHECK(growing.wait_for(400ms) == std::future_status::timeout);
  CHECK(value == "value");
  reader.reset();
  CHECK_NOTHROW(growing.get());
  CHECK(ReadTxn(env).at(dbi, "big").size() == 1 << 20);
}

TEST_CASE("stopping commits everything still queued; later submissions are refused") {
  TempDir dir;
  Env env(dir.path(), test_env);
  const Dbi dbi = create_database(env, "data");
  auto writer = std::make_unique<Writer>(env);
  std::vector<std::future<void>> futures;
  for (std::uint32_t i = 0; i < 1000; ++i) futures.push_back(writer->submit(put(dbi, encode_u32(i), "v")));
  writer->stop();
  for (auto& future : futures) {
    REQUIRE(future.wait_for(0s) == std::future_status::ready);
    CHECK_NOTHROW(future.get());
  }
  CHECK(ReadTxn(env).count(dbi) == 1000);
  CHECK_THROWS_WITH(writer->submit(put(dbi, "late", "v")), Catch::Contains("the writer is stopped"));
  writer.reset();  // a second stop() in the destructor is harmless
}

namespace {

std::string stream_value(std::uint64_t number) {
  return RecordWriter(1)
      .u64(number)
      .string(std::string(100 + number % 200, static_cast<char>('a' + number % 26)))
      .take();
}

// The child process of the crash test: writes numbered entries through a
// Writer, with many requests in flight, and reports each number on
// `report_fd` once its commit is done. Runs until killed.
int write_until_killed(const std::filesystem::path& directory, int report_fd) {
  try {
    Env env(directory, {.map_size = 256 * 1024});  // small: growth happens mid-stream too
    const Dbi stream = [&] {
      WriteTxn txn(env);
      open_meta(txn);
      Dbi dbi = Dbi::create(txn, "stream");
      txn.commit();
      return dbi;
    }();
    Writer writer(env);
    std::deque<std::pair<std::uint64_t, std::future<void>>> in_flight;
    for (std::uint64_t number = 0;; ++number) {
      in_flight.emplace_back(number, writer.submit(put(stream, encode_u64(number), stream_value(number))));
      if (in_flight.size() < 64) continue;
      auto& [oldest, committed] = in_flight.front();
      committed.get();
      if (write(report_fd, &oldest, sizeof oldest) != sizeof oldest) return 2;
      in_flight.pop_front();
    }
  } catch (...) {
    return 1;
  }
}

bool read_exactly(int fd, void* buffer, std::size_t size) {
  auto* bytes = static_cast<char*>(buffer);
  while (size > 0) {
    const ssize_t got = read(fd, bytes, size);
    if (got <= 0) return false;
    bytes += got;
    size -= static_cast<std::size_t>(got);
  }
  return true;
}

}  // namespace

TEST_CASE("a writer killed with SIGKILL mid-stream leaves a store that opens with its committed data intact") {
  TempDir dir;
  int report[2];
  REQUIRE(pipe(report) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(report[0]);
    _exit(write_until_killed(dir.path(), report[1]));
  }
  close(report[1]);

  std::uint64_t last_reported = 0;
  std::uint64_t reports = 0;
  for (std::uint64_t number = 0; reports < 3000 && read_exactly(report[0], &number, sizeof number); ++reports)
    last_reported = number;
  kill(child, SIGKILL);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  close(report[0]);
  REQUIRE(reports == 3000);  // otherwise the child failed before the kill
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  Env env(dir.path(), test_env);
  {
    ReadTxn txn(env);
    open_meta(txn);
    const Dbi stream = Dbi::open(txn, "stream");
    // Batches commit in order and atomically: the entries are 0..n-1, with
    // every reported number among them, and every value intact.
    std::uint64_t expected = 0;
    Cursor cursor(txn, stream);
    for (const auto& [key, value] : cursor.scan(KeyRange::all())) {
      REQUIRE(decode_u64(key) == expected);
      REQUIRE(value == stream_value(expected));
      ++expected;
    }
    INFO(expected << " entries committed, " << last_reported << " reported");
    CHECK(expected > last_reported);
  }

  // And the store takes writes again.
  WriteTxn txn(env);
  const Dbi stream = Dbi::open(txn, "stream");
  txn.commit();
  Writer writer(env);
  CHECK_NOTHROW(writer.submit(put(stream, "after the crash", "v")).get());
}
