#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "event_queue.hpp"

using namespace lodestone;
using proxy::EventQueue;
using proxy::TapRecord;

namespace {
TapRecord fetched(std::size_t body_size, std::uint32_t uid = 1) {
  tap::MessageFetched event;
  event.mailbox = {"INBOX", 7};
  event.uid = uid;
  event.body.assign(body_size, 'x');
  return TapRecord{1, "alice", std::move(event)};
}
}  // namespace

TEST_CASE("event queue refuses instead of waiting when full by count") {
  EventQueue queue(2, 1 << 20);
  auto a = fetched(10, 1), b = fetched(10, 2), c = fetched(10, 3);
  CHECK(queue.try_push(a));
  CHECK(queue.try_push(b));
  CHECK_FALSE(queue.try_push(c));
  // A refused record is left intact for the caller.
  CHECK(std::get<tap::MessageFetched>(c.event).body.size() == 10);
  auto first = queue.pop();
  REQUIRE(first);
  CHECK(std::get<tap::MessageFetched>(first->event).uid == 1);
  CHECK(queue.try_push(c));
}

TEST_CASE("event queue refuses when full by bytes") {
  EventQueue queue(100, 4096);
  auto big = fetched(8192);
  CHECK_FALSE(queue.try_push(big));
  auto small = fetched(100);
  CHECK(queue.try_push(small));
}

TEST_CASE("closing wakes the consumer and drains what is queued") {
  EventQueue queue(10, 1 << 20);
  auto a = fetched(5);
  REQUIRE(queue.try_push(a));
  std::thread closer([&queue] { queue.close(); });
  closer.join();
  CHECK(queue.pop());
  CHECK_FALSE(queue.pop());
  auto late = fetched(5);
  CHECK_FALSE(queue.try_push(late));
}

TEST_CASE("event log writes one JSON line per event with the body's hash, not the body") {
  const auto path = std::filesystem::temp_directory_path() / "lodestone-event-log-test.jsonl";
  std::filesystem::remove(path);
  EventQueue queue(10, 1 << 20);
  {
    proxy::TapEventLog log(queue, path.string());
    auto record = fetched(3);
    std::get<tap::MessageFetched>(record.event).body = "abc";
    REQUIRE(queue.try_push(record));
    auto counts = log.finish();
    CHECK(counts["message_fetched"] == 1);
  }
  std::ifstream in(path);
  std::string line;
  REQUIRE(std::getline(in, line));
  CHECK(line.find("\"event\":\"message_fetched\"") != std::string::npos);
  CHECK(line.find("\"size\":3") != std::string::npos);
  // SHA-256 of "abc".
  CHECK(line.find("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") != std::string::npos);
  CHECK(line.find("\"abc\"") == std::string::npos);
  std::filesystem::remove(path);
}
