// Keeps map resizes and transactions of one Env apart.
//
// mdb_env_set_mapsize may only run while no transaction of the process is
// open: it unmaps the file and maps it again, possibly elsewhere, so every
// pointer into the old map (our string_views) would dangle.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>

namespace lodestone::crm {

class TxnGate {
 public:
  using Clock = std::chrono::steady_clock;

  // How long a waiting resize holds new transactions back. Past it they may
  // begin again: a thread that already holds a transaction and begins
  // another would otherwise wait for a resize that waits for it.
  static constexpr std::chrono::milliseconds resize_priority{200};

  // Around every top-level transaction (nested ones share their parent's).
  void enter();
  void leave() noexcept;

  // Runs `action` at a moment when no transaction is open, holding new ones
  // back until it returns. Without a deadline it waits as long as it takes;
  // with one it gives up then and returns false without running `action`.
  bool run_exclusive(const std::function<void()>& action, std::optional<Clock::time_point> deadline = std::nullopt);

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t open_ = 0;
  std::size_t resizes_waiting_ = 0;  // with priority over new transactions
};

}  // namespace lodestone::crm
