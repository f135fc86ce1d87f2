#include "txn_gate.hpp"

#include <algorithm>

namespace lodestone::crm {

void TxnGate::enter() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return resizes_waiting_ == 0; });
  ++open_;
}

void TxnGate::leave() noexcept {
  std::lock_guard lock(mutex_);
  if (--open_ == 0) changed_.notify_all();
}

bool TxnGate::run_exclusive(const std::function<void()>& action, std::optional<Clock::time_point> deadline) {
  std::unique_lock lock(mutex_);
  const auto none_open = [&] { return open_ == 0; };

  // First with priority: new transactions wait, so the open ones drain.
  ++resizes_waiting_;
  const auto priority_until = std::min(Clock::now() + resize_priority, deadline.value_or(Clock::time_point::max()));
  const bool drained = changed_.wait_until(lock, priority_until, none_open);
  --resizes_waiting_;
  if (!drained) {
    // Let held-back transactions through; one of them may be what an open
    // transaction's thread is waiting for. Then take the first quiet moment.
    changed_.notify_all();
    if (deadline) {
      if (!changed_.wait_until(lock, *deadline, none_open)) return false;
    } else {
      changed_.wait(lock, none_open);
    }
  }
  // The mutex stays locked while `action` runs, which keeps enter() waiting.
  // Whatever the outcome, wake the transactions held back by our priority.
  try {
    action();
  } catch (...) {
    changed_.notify_all();
    throw;
  }
  changed_.notify_all();
  return true;
}

}  // namespace lodestone::crm
