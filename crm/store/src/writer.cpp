#include "lodestone/crm/writer.hpp"

#include <algorithm>
#include <exception>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>

namespace lodestone::crm {
namespace {

WriterOptions checked(const Env& env, WriterOptions options) {
  if (options.max_batch == 0) throw std::invalid_argument("WriterOptions::max_batch must be at least 1");
  unsigned flags = 0;
  if (const int rc = mdb_env_get_flags(env.handle(), &flags); rc != 0)
    throw_lmdb_error(rc, "read the environment flags", env.path());
  // Requests are isolated in nested transactions, which LMDB refuses there.
  if (flags & MDB_WRITEMAP)
    throw StoreError(0, "start the writer", env.path(),
                     "the Writer cannot work on an environment opened with MDB_WRITEMAP");
  return options;
}

}  // namespace

Writer::Writer(Env& env, WriterOptions options)
    : env_(env), options_(checked(env, options)), thread_([this] { run(); }) {}

Writer::~Writer() { stop(); }

void Writer::submit(Request request, Completion done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw StoreError(0, "submit a write", env_.path(), "the writer is stopped");
    queue_.push_back({std::move(request), std::move(done)});
  }
  queued_.notify_one();
}

std::future<void> Writer::submit(Request request) {
  auto promise = std::make_shared<std::promise<void>>();
  std::future<void> future = promise->get_future();
  submit(std::move(request), [promise](std::exception_ptr failure) {
    if (failure) {
      promise->set_exception(failure);
    } else {
      promise->set_value();
    }
  });
  return future;
}

void Writer::stop() {
  std::call_once(stopped_, [&] {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    queued_.notify_one();
    thread_.join();
  });
}

void Writer::run() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is committed
      const auto taken = static_cast<std::ptrdiff_t>(std::min(queue_.size(), options_.max_batch));
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + taken));
      queue_.erase(queue_.begin(), queue_.begin() + taken);
    }
    commit_batch(batch);
    batch.clear();
  }
}

void Writer::commit_batch(std::vector<Pending>& batch) {
  std::vector<std::exception_ptr> failures(batch.size());
  try {
    while (!try_commit(batch, failures)) {
      if (!grow_map())
        throw MapFullError(MDB_MAP_FULL, "commit " + std::to_string(batch.size()) + " write requests", env_.path(),
                           "they do not fit even in a map of " + std::to_string(env_.map_size()) +
                               " bytes, the maximum set by WriterOptions::max_map_size");
    }
  } catch (...) {
    // Nothing of the batch was committed: every request learns why.
    for (Pending& pending : batch) pending.done(std::current_exception());
    return;
  }
  commits_.fetch_add(1);
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(failures[i]);
}

bool Writer::try_commit(std::vector<Pending>& batch, std::vector<std::exception_ptr>& failures) {
  WriteTxn txn(env_);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    WriteTxn request_txn = txn.begin_nested();
    try {
      batch[i].request(request_txn);
      request_txn.commit();
      failures[i] = nullptr;
    } catch (...) {
      // Checked on the transaction, not the exception: the request may have
      // caught the MapFullError, or thrown something else after it.
      if (request_txn.hit_map_full()) return false;
      failures[i] = std::current_exception();
    }
  }
  try {
    txn.commit();
  } catch (const MapFullError&) {
    return false;
  }
  return true;
}

bool Writer::grow_map() {
  const std::size_t current = env_.map_size();
  if (current >= options_.max_map_size) return false;
  env_.set_map_size(current > options_.max_map_size / 2 ? options_.max_map_size : current * 2);
  return true;
}

}  // namespace lodestone::crm
