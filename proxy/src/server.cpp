#include <sys/prctl.h>

#include <csignal>
#include <spdlog/spdlog.h>
#include <thread>

#include "lodestone/proxy.hpp"
#include "session.hpp"

namespace lodestone::proxy {

namespace {

// Runs a context, polling for a short while after each burst of work before
// blocking: a reply that arrives within the window is handled without the
// thread being put to sleep and woken again, which on a VM costs more than
// the relay itself.
void run_polling(asio::io_context& context, std::chrono::microseconds window) {
  if (window.count() == 0) {
    context.run();
    return;
  }
  using clock = std::chrono::steady_clock;
  auto last_work = clock::now();
  while (!context.stopped()) {
    if (context.poll() > 0) {
      last_work = clock::now();
    } else if (clock::now() - last_work > window) {
      context.run_one();
      last_work = clock::now();
    }
  }
}

// One io_context per thread: a session lives on one thread, so nothing in a
// session needs a lock or a strand.
class ThreadedContexts {
 public:
  ThreadedContexts(unsigned count, std::chrono::microseconds busy_poll) : busy_poll_(busy_poll) {
    for (unsigned i = 0; i < count; ++i) contexts_.push_back(std::make_unique<asio::io_context>(1));
  }
  asio::io_context& first() { return *contexts_.front(); }
  asio::io_context& next() { return *contexts_[next_++ % contexts_.size()]; }

  void run() {
    std::vector<std::thread> threads;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    for (auto& context : contexts_) guards.push_back(asio::make_work_guard(*context));
    for (std::size_t i = 1; i < contexts_.size(); ++i) {
      threads.emplace_back([this, context = contexts_[i].get()] { run_polling(*context, busy_poll_); });
    }
    run_polling(*contexts_.front(), busy_poll_);
    for (auto& t : threads) t.join();
  }

  void stop() {
    for (auto& context : contexts_) context->stop();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::size_t next_ = 0;
  std::chrono::microseconds busy_poll_;
};

tcp::endpoint listen_endpoint(const config::Listener& listener) {
  error_code ec;
  auto address = asio::ip::make_address(listener.address == "localhost" ? "127.0.0.1" : listener.address, ec);
  if (ec) throw std::runtime_error("listener address " + listener.address + " is not an IP address");
  return {address, listener.port};
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, ThreadedContexts& contexts, ProxyRuntime& runtime,
                                  const ListenerRuntime& listener) {
  for (;;) {
    asio::io_context& target = contexts.next();
    auto [ec, socket] = co_await acceptor.async_accept(target, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or buffers: the connection stays in the backlog,
      // so retrying at once would spin.  Pause, and say so once per pause.
      spdlog::warn("accept on {}:{} failed: {}; pausing accepts for 100 ms", listener.config->address,
                   listener.config->port, ec.message());
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    auto session = std::make_shared<Session>(runtime, listener, std::move(socket));
    asio::co_spawn(target, Session::run(std::move(session)), asio::detached);
  }
}

}  // namespace

int run(const config::Config& config) {
  // Credentials pass through this process: no core files, no ptrace peeking.
  prctl(PR_SET_DUMPABLE, 0);
  std::signal(SIGPIPE, SIG_IGN);

  ProxyRuntime runtime;
  runtime.config = &config;
  for (const auto& upstream : config.upstreams) {
    if (upstream.tls == config::TlsMode::none) continue;
    try {
      runtime.upstream_tls[upstream.name] = make_client_tls_context(upstream.ca_file);
    } catch (const std::exception& e) {
      throw std::runtime_error("upstream " + upstream.name + ": cannot load CA file " + upstream.ca_file + ": " +
                               e.what());
    }
  }
  std::vector<ListenerRuntime> listeners;
  for (const auto& listener : config.listeners) {
    ListenerRuntime runtime_listener{&listener, nullptr};
    if (listener.tls != config::TlsMode::none) {
      try {
        runtime_listener.tls = make_server_tls_context(listener.cert_file, listener.key_file);
      } catch (const std::exception& e) {
        throw std::runtime_error("listener " + listener.address + ":" + std::to_string(listener.port) +
                                 ": cannot load certificate " + listener.cert_file + " / key " +
                                 listener.key_file + ": " + e.what());
      }
    }
    listeners.push_back(std::move(runtime_listener));
  }

  std::unique_ptr<EventQueue> events;
  std::unique_ptr<TapEventLog> event_log;
  if (config.tap.enabled) {
    events = std::make_unique<EventQueue>(config.limits.event_queue, config.limits.event_queue_bytes);
    event_log = std::make_unique<TapEventLog>(*events, config.tap.event_log);
    runtime.events = events.get();
  }

  const unsigned threads = config.threads > 0 ? config.threads : std::max(1u, std::thread::hardware_concurrency());
  ThreadedContexts contexts(threads, std::chrono::microseconds(config.busy_poll_us));
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  for (const auto& listener : listeners) {
    const auto endpoint = listen_endpoint(*listener.config);
    auto acceptor = std::make_unique<tcp::acceptor>(contexts.first());
    error_code ec;
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("cannot listen on " + listener.config->address + ":" +
                               std::to_string(listener.config->port) + ": " + ec.message());
    }
    spdlog::info("listening on {}:{} (imap, tls {})", listener.config->address, listener.config->port,
                 config::to_string(listener.config->tls));
    asio::co_spawn(contexts.first(), accept_loop(*acceptor, contexts, runtime, listener), asio::detached);
    acceptors.push_back(std::move(acceptor));
  }

  // SIGINT/SIGTERM: stop accepting, give sessions timeouts.drain to end.
  asio::signal_set signals(contexts.first(), SIGINT, SIGTERM);
  asio::steady_timer drain_timer(contexts.first());
  signals.async_wait([&](error_code ec, int signal_number) {
    if (ec) return;
    // A second signal during the drain stops at once.
    signals.async_wait([&](error_code second_ec, int) {
      if (second_ec) return;
      spdlog::warn("second signal: stopping without waiting for {} session(s)", runtime.active_sessions.load());
      contexts.stop();
    });
    spdlog::info("signal {}: no new connections; draining {} session(s) for up to {} ms", signal_number,
                 runtime.active_sessions.load(), config.timeouts.drain.count());
    for (auto& acceptor : acceptors) acceptor->close();
    const auto give_up = std::chrono::steady_clock::now() + config.timeouts.drain;
    asio::co_spawn(
        contexts.first(),
        [&, give_up]() -> asio::awaitable<void> {
          while (runtime.active_sessions.load() > 0 && std::chrono::steady_clock::now() < give_up) {
            drain_timer.expires_after(std::chrono::milliseconds(100));
            co_await drain_timer.async_wait(asio::use_awaitable);
          }
          if (runtime.active_sessions.load() > 0) {
            spdlog::warn("drain timeout: closing {} session(s)", runtime.active_sessions.load());
          }
          contexts.stop();
        },
        asio::detached);
  });
  spdlog::info("lodestone ready ({} I/O thread(s), tap {})", threads, config.tap.enabled ? "on" : "off");
  contexts.run();

  if (event_log) {
    std::string summary;
    for (const auto& [name, count] : event_log->finish()) {
      summary += " " + name + "=" + std::to_string(count);
    }
    spdlog::info("tap events:{}", summary.empty() ? " none" : summary);
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace lodestone::proxy
