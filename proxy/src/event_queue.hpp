// The bounded queue between the taps (many sessions, I/O threads) and the
// event consumer (one thread).  Pushing never waits: a full queue refuses the
// event and the session records a gap instead.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "lodestone/tap_events.hpp"

namespace lodestone::proxy {

struct TapRecord {
  std::uint64_t session = 0;
  std::string user;
  tap::Event event;
};

class EventQueue {
 public:
  EventQueue(std::size_t max_events, std::size_t max_bytes);

  // False (and the record untouched) when the queue is full or closed.
  bool try_push(TapRecord& record);
  // Blocks until a record arrives; nullopt once closed and drained.
  std::optional<TapRecord> pop();
  void close();

 private:
  static std::size_t record_bytes(const TapRecord& record);

  std::mutex mutex_;
  std::condition_variable ready_;
  struct Queued {
    TapRecord record;
    std::size_t bytes;  // what it counts against max_bytes_, computed once
  };
  std::deque<Queued> records_;
  std::size_t bytes_ = 0;
  std::size_t max_events_;
  std::size_t max_bytes_;
  bool closed_ = false;
};

// The consumer for now: counts events by kind and optionally writes each as a
// JSON line (bodies as size + SHA-256, never their content).
class TapEventLog {
 public:
  TapEventLog(EventQueue& queue, const std::string& path);
  ~TapEventLog();
  TapEventLog(const TapEventLog&) = delete;
  TapEventLog& operator=(const TapEventLog&) = delete;

  // Drains what is queued, then stops; returns counts per event name.
  std::map<std::string, std::uint64_t> finish();

 private:
  void consume();

  EventQueue& queue_;
  std::ofstream out_;
  std::map<std::string, std::uint64_t> counts_;
  std::thread worker_;
};

std::size_t event_payload_bytes(const tap::Event& event);

}  // namespace lodestone::proxy
