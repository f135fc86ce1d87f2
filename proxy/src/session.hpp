// One client connection: TLS, pre-auth, login replay, then the relay with its
// tap.  Lives on one I/O thread from accept to close.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>

#include "buffer_pool.hpp"
#include "event_queue.hpp"
#include "lodestone/config.hpp"
#include "lodestone/tap_events.hpp"
#include "stream.hpp"
#include "upstream.hpp"

namespace lodestone::imap {
class ImapCodec;
class CapabilityFilter;
struct CommandText;
}  // namespace lodestone::imap

namespace lodestone::proxy {

struct ListenerRuntime {
  const config::Listener* config = nullptr;
  std::unique_ptr<asio::ssl::context> tls;  // set unless config->tls is none
};

// What every session shares, built once at start-up.
struct ProxyRuntime {
  const config::Config* config = nullptr;
  std::unordered_map<std::string, std::unique_ptr<asio::ssl::context>> upstream_tls;  // by upstream name
  EventQueue* events = nullptr;  // null when the tap is off
  std::atomic<std::uint64_t> next_session_id{1};
  std::atomic<int> active_sessions{0};
};

// Pre-auth and login run as a coroutine; once logged in, the relay is plain
// completion handlers, so an idle session holds no coroutine frames and no
// buffers: two pending readiness waits and a timer.
class Session final : public tap::EventSink, public std::enable_shared_from_this<Session> {
 public:
  Session(ProxyRuntime& runtime, const ListenerRuntime& listener, tcp::socket socket);
  ~Session() override;  // logs the session's summary line

  // Serves the connection until login, then hands it to the relay; never
  // throws.
  static asio::awaitable<void> run(std::shared_ptr<Session> self);

  void emit(tap::Event&& event) override;

 private:
  bool report_lost_events();
  struct Preauth;
  enum class Outcome { logged_in, closed };

  // One direction of the relay.
  struct Pipe {
    Stream* from = nullptr;
    Stream* to = nullptr;
    bool toward_server = false;
    PooledBuffer buffer;  // only while bytes are in flight
    std::vector<asio::const_buffer> pieces;
    bool writing = false;
    char first_byte = 0;  // TLS: the one-byte read that waits for data
  };

  asio::awaitable<Outcome> greet_and_log_in();
  asio::awaitable<void> preauth_watchdog();
  asio::awaitable<void> say_goodbye(std::string_view text);
  asio::awaitable<bool> read_command(Preauth& state, imap::CommandText& command);
  asio::awaitable<bool> handle_command(Preauth& state, imap::CommandText& command, Outcome& outcome);
  asio::awaitable<bool> authenticate(Preauth& state, const std::string& tag, const std::vector<std::string>& args,
                                     Outcome& outcome);
  asio::awaitable<bool> sasl_step(Preauth& state, const std::string& challenge, std::string& response,
                                  const std::string& tag);
  asio::awaitable<bool> log_in(Preauth& state, const std::string& tag, Credentials& credentials, Outcome& outcome);
  asio::awaitable<bool> reply(std::string_view text);
  static void wipe_command(imap::CommandText& command);

  void start_relay();
  void read_next(Pipe& pipe);
  void on_readable(Pipe& pipe, error_code ec);
  void on_first_tls_byte(Pipe& pipe, error_code ec, std::size_t n);
  void on_read(Pipe& pipe, error_code ec, std::size_t n);
  void forward(Pipe& pipe, std::string_view bytes);
  void on_written(Pipe& pipe, error_code ec);
  void arm_idle_timer();
  void finish(std::string_view reason);

  std::string capabilities() const;
  bool plaintext_login_allowed() const;

  ProxyRuntime& runtime_;
  const ListenerRuntime& listener_;
  const std::uint64_t id_;
  Stream client_;
  asio::steady_timer idle_timer_;
  std::string peer_;
  std::string user_;
  std::string route_;
  std::unique_ptr<UpstreamLink> upstream_;
  std::unique_ptr<imap::ImapCodec> codec_;
  std::unique_ptr<imap::CapabilityFilter> filter_;
  Pipe to_server_;
  Pipe to_client_;
  std::string client_pending_;    // pipelined behind the login, relayed first
  std::string upstream_pending_;  // sent by the server behind its login answer
  std::string held_tail_;         // what the capability filter held when it was dropped
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point deadline_;
  std::uint64_t bytes_up_ = 0;
  std::uint64_t bytes_down_ = 0;
  std::uint64_t events_lost_ = 0;
  std::string end_reason_;
  bool finished_ = false;
  bool closing_ = false;           // a final BYE is on its way: relay nothing more
  bool handshake_done_ = false;    // implicit TLS: the client finished its handshake
  bool starttls_pending_ = false;  // STARTTLS answered, handshake not finished
};

}  // namespace lodestone::proxy
