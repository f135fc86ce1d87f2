// The single writer: one thread performs every write to the store.
//
// Callers submit a function that writes through a WriteTxn and learn, by a
// completion callback or a future, once the commit that included their
// request is durable (or what stopped it). The thread takes everything
// queued when it wakes, up to WriterOptions::max_batch requests, and commits
// them in one transaction: one fsync for many requests.
//
// Isolation: each request runs in a nested transaction inside the batch's.
// If its function throws, only its own writes are rolled back and the
// exception goes to its future; the rest of the batch commits.
//
// Map growth: when a batch does not fit the map (MDB_MAP_FULL, in a request
// or at commit), the whole batch is rolled back, the map doubled and the
// batch run again. Hence a request's function may run more than once, and
// must only act through the WriteTxn it is given. Doubling needs every
// transaction of the process closed (see Env::set_map_size): a thread must
// not wait for a future while it holds a transaction.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "lodestone/crm/lmdb.hpp"

namespace lodestone::crm {

struct WriterOptions {
  std::size_t max_batch = 1000;  // requests per commit at most
  // The map grows up to this size; a batch that still does not fit fails
  // with MapFullError.
  std::size_t max_map_size = std::size_t{1} << 40;
};

class Writer {
 public:
  using Request = std::function<void(WriteTxn&)>;
  // Runs on the writer thread once a request's fate is known: with nullptr
  // after the commit that included it, else with the exception it threw or
  // the error that failed its batch. It must not throw, block or submit.
  using Completion = std::function<void(std::exception_ptr)>;

  // Starts the writer thread. `env` must outlive the Writer and must not be
  // written to by anything else in this process.
  explicit Writer(Env& env, WriterOptions options = {});
  // Commits everything still queued, then ends the thread.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues `request`; `done` is called as described at Completion.
  // StoreError once the writer is stopped.
  void submit(Request request, Completion done);
  // The same with a future, fulfilled or failed where `done` would be called.
  std::future<void> submit(Request request);

  // Commits everything still queued, then ends the thread. Idempotent; not
  // to be called from a request (the thread would wait for itself).
  void stop();

  // Transactions committed so far (each holds one batch).
  std::uint64_t commit_count() const noexcept { return commits_.load(); }

 private:
  struct Pending {
    Request request;
    Completion done;
  };

  void run();
  // Commits `batch`, growing the map as needed, and calls its completions.
  void commit_batch(std::vector<Pending>& batch);
  // Runs every request of `batch` in one write transaction, each in a nested
  // transaction of its own, and commits. Records each request's exception in
  // `failures`. False, with everything rolled back, if the map is full.
  bool try_commit(std::vector<Pending>& batch, std::vector<std::exception_ptr>& failures);
  // Doubles the map (up to max_map_size); false if it is at the maximum.
  bool grow_map();

  Env& env_;
  const WriterOptions options_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::once_flag stopped_;
  std::atomic<std::uint64_t> commits_{0};
  std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace lodestone::crm
