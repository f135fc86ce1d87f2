// One client connection: TLS, pre-auth, login replay, then the relay with its
// tap.  Lives on one I/O thread from accept to close.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>

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

class Session final : public tap::EventSink {
 public:
  Session(ProxyRuntime& runtime, const ListenerRuntime& listener, tcp::socket socket);
  ~Session() override;

  // Serves the connection to its end; never throws.
  static asio::awaitable<void> run(std::unique_ptr<Session> self);

  void emit(tap::Event&& event) override;

 private:
  struct Preauth;
  enum class Outcome { logged_in, closed };

  asio::awaitable<void> serve();
  asio::awaitable<void> watchdog();
  asio::awaitable<Outcome> preauth();
  asio::awaitable<bool> read_command(Preauth& state, imap::CommandText& command);
  asio::awaitable<bool> handle_command(Preauth& state, imap::CommandText& command, Outcome& outcome);
  asio::awaitable<bool> authenticate(Preauth& state, const std::string& tag, const std::vector<std::string>& args,
                                     Outcome& outcome);
  asio::awaitable<bool> sasl_step(Preauth& state, const std::string& challenge, std::string& response,
                                  const std::string& tag);
  asio::awaitable<bool> log_in(Preauth& state, const std::string& tag, Credentials& credentials, Outcome& outcome);
  asio::awaitable<void> relay_client_to_server();
  asio::awaitable<void> relay_server_to_client();
  asio::awaitable<bool> reply(std::string_view text);

  std::string capabilities() const;
  bool plaintext_login_allowed() const;
  void extend_deadline(std::chrono::milliseconds by);

  ProxyRuntime& runtime_;
  const ListenerRuntime& listener_;
  const std::uint64_t id_;
  Stream client_;
  std::string peer_;
  std::string user_;
  std::string route_;
  std::unique_ptr<UpstreamLink> upstream_;
  std::unique_ptr<imap::ImapCodec> codec_;
  std::unique_ptr<imap::CapabilityFilter> filter_;
  std::string client_pending_;    // pipelined behind the login, relayed first
  std::string upstream_pending_;  // sent by the server behind its login answer
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point deadline_;
  std::uint64_t bytes_up_ = 0;
  std::uint64_t bytes_down_ = 0;
  std::uint64_t events_lost_ = 0;
  std::string end_reason_;
};

}  // namespace lodestone::proxy
