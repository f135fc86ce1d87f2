#include "session.hpp"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "buffer_pool.hpp"
#include "capability_filter.hpp"
#include "imap_codec.hpp"
#include "imap_syntax.hpp"
#include "preauth_parser.hpp"
#include "sasl.hpp"

namespace lodestone::proxy {

using namespace asio::experimental::awaitable_operators;
using std::chrono::steady_clock;

namespace {

// How long a courtesy BYE may take before the connection is simply closed.
constexpr std::chrono::seconds kGoodbyeTimeout{2};
// A client that sends this many bad commands in a row is disconnected.
constexpr int kMaxInvalidCommands = 20;
// Literals in one pre-auth command (LOGIN needs two).
constexpr std::size_t kMaxLiterals = 8;

}  // namespace

// State that exists only until login; freed once the relay starts.
struct Session::Preauth {
  explicit Preauth(std::size_t max_line) : reader(max_line) {}
  LineReader reader;
  int invalid_commands = 0;
};

Session::Session(ProxyRuntime& runtime, const ListenerRuntime& listener, tcp::socket socket)
    : runtime_(runtime),
      listener_(listener),
      id_(runtime.next_session_id++),
      client_(std::move(socket)),
      idle_timer_(client_.socket().get_executor()),
      started_(steady_clock::now()) {
  error_code ec;
  const auto endpoint = client_.socket().remote_endpoint(ec);
  peer_ = ec ? "unknown" : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  client_.socket().set_option(tcp::no_delay(true), ec);
  deadline_ = started_ + runtime.config->timeouts.preauth;
  ++runtime_.active_sessions;
}

Session::~Session() {
  // Last chance to tell the consumer what it missed.
  if (runtime_.events) report_lost_events();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - started_);
  spdlog::info("s{} closed: user={} route={} up={}B down={}B duration={}ms reason={}", id_,
               user_.empty() ? "-" : user_, route_.empty() ? "-" : route_, bytes_up_, bytes_down_, ms.count(),
               end_reason_.empty() ? "closed" : end_reason_);
  --runtime_.active_sessions;
}

asio::awaitable<void> Session::run(std::shared_ptr<Session> self) {
  spdlog::info("s{} connection from {} on {}:{}", self->id_, self->peer_, self->listener_.config->address,
               self->listener_.config->port);
  Outcome outcome = Outcome::closed;
  try {
    auto winner = co_await (self->greet_and_log_in() || self->preauth_watchdog());
    if (winner.index() == 0) {
      outcome = std::get<0>(winner);
    } else {
      self->end_reason_ = "pre-auth timeout";
      co_await self->say_goodbye("* BYE Login timeout, closing connection.\r\n");
    }
  } catch (const std::exception& e) {
    self->end_reason_ = std::string("internal error: ") + e.what();
  }
  if (outcome == Outcome::logged_in) {
    self->start_relay();
  } else {
    self->finish("closed before login");
  }
}

// A courtesy BYE before closing: never through a TLS handshake that did not
// finish (the write would wait for it), and never waiting long on a client
// that does not read.
asio::awaitable<void> Session::say_goodbye(std::string_view text) {
  if (starttls_pending_ || (listener_.config->tls == config::TlsMode::implicit && !handshake_done_)) co_return;
  asio::steady_timer give_up(co_await asio::this_coro::executor, kGoodbyeTimeout);
  co_await (reply(text) || give_up.async_wait(asio::as_tuple(asio::use_awaitable)));
}

asio::awaitable<void> Session::preauth_watchdog() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_at(deadline_);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<bool> Session::reply(std::string_view text) {
  auto [ec, n] = co_await client_.write_all(asio::buffer(text.data(), text.size()));
  (void)n;
  co_return !ec;
}

bool Session::plaintext_login_allowed() const { return client_.is_tls() || listener_.config->allow_plaintext_login; }

std::string Session::capabilities() const {
  std::string caps = "IMAP4rev1 SASL-IR LITERAL+ ID";
  if (listener_.config->tls == config::TlsMode::starttls && !client_.is_tls()) caps += " STARTTLS";
  if (plaintext_login_allowed()) {
    caps += " AUTH=PLAIN AUTH=LOGIN AUTH=XOAUTH2 AUTH=OAUTHBEARER";
  } else {
    caps += " LOGINDISABLED";
  }
  return caps;
}

asio::awaitable<Session::Outcome> Session::greet_and_log_in() {
  if (listener_.config->tls == config::TlsMode::implicit) {
    const auto ec = co_await client_.start_tls_server(*listener_.tls);
    if (ec) {
      end_reason_ = "TLS handshake failed: " + ec.message();
      co_return Outcome::closed;
    }
    handshake_done_ = true;
  }
  Preauth state(runtime_.config->limits.preauth_line);
  const std::string greeting = "* OK [CAPABILITY " + capabilities() + "] Lodestone IMAP proxy ready.\r\n";
  const bool greeted = co_await reply(greeting);
  if (!greeted) co_return Outcome::closed;
  imap::CommandText command;
  Outcome outcome = Outcome::closed;
  bool keep_going = true;
  while (keep_going) {
    keep_going = co_await read_command(state, command);
    if (!keep_going) break;
    keep_going = co_await handle_command(state, command, outcome);
    wipe_command(command);  // it may hold a password
    if (outcome == Outcome::logged_in) break;
  }
  if (outcome == Outcome::logged_in) client_pending_ = state.reader.take_buffered();
  state.reader.wipe();
  co_return keep_going ? outcome : Outcome::closed;
}

// Reads one command: its lines and the literals between them.  Sends "+"
// for synchronizing literals.  False when the connection should end.
// GCC 12 miscompiles co_await inside ?: and && operands and inside loops
// with block-scoped locals, so the coroutines below keep each co_await a
// statement of its own and their locals at function scope.
asio::awaitable<bool> Session::read_command(Preauth& state, imap::CommandText& command) {
  const config::Limits& limits = runtime_.config->limits;
  command.lines.clear();
  command.literals.clear();
  std::string line;
  std::string refusal;
  std::optional<imap::LiteralMarker> marker;
  std::uint64_t literal_bytes = 0;
  LineReader::Status status = LineReader::Status::ok;
  bool sent = false;
  for (;;) {
    status = co_await state.reader.read_line(client_, line);
    if (status == LineReader::Status::closed) {
      end_reason_ = "client closed the connection";
      co_return false;
    }
    if (status == LineReader::Status::too_long) {
      end_reason_ = "command line too long";
      co_await reply("* BYE Command line too long.\r\n");
      co_return false;
    }
    marker = imap::trailing_literal(line);
    command.lines.push_back(std::move(line));
    line.clear();
    if (!marker) co_return true;

    const bool too_large = marker->size > limits.preauth_literal - std::min<std::uint64_t>(literal_bytes, limits.preauth_literal) ||
                           command.literals.size() >= kMaxLiterals;
    if (too_large && !marker->synchronizing) {
      // The client is already sending the data: the stream cannot be followed.
      end_reason_ = "literal too large";
      co_await reply("* BYE Literal too large.\r\n");
      co_return false;
    }
    if (too_large) {
      const std::string_view first = command.lines.front();
      refusal = std::string(first.substr(0, first.find(' ')));
      if (!imap::is_valid_tag(refusal)) refusal = "*";
      refusal += " BAD Literal too large.\r\n";
      sent = co_await reply(refusal);
      if (!sent) co_return false;
      command.lines.clear();
      command.literals.clear();
      literal_bytes = 0;
      continue;
    }
    literal_bytes += marker->size;
    if (marker->synchronizing) {
      sent = co_await reply("+ Ready for literal data\r\n");
      if (!sent) co_return false;
    }
    command.literals.emplace_back();
    status = co_await state.reader.read_exact(client_, static_cast<std::size_t>(marker->size), command.literals.back());
    if (status != LineReader::Status::ok) {
      end_reason_ = "client closed the connection";
      co_return false;
    }
  }
}

void Session::wipe_command(imap::CommandText& command) {
  for (auto& line : command.lines) wipe_secret(line);
  for (auto& literal : command.literals) wipe_secret(literal);
}

// Answers one pre-auth command.  False when the connection should end.
asio::awaitable<bool> Session::handle_command(Preauth& state, imap::CommandText& text, Outcome& outcome) {
  imap::PreauthParse parsed = imap::parse_preauth_command(text);
  struct WipeArgs {
    std::vector<std::string>& args;
    ~WipeArgs() {
      for (auto& arg : args) wipe_secret(arg);
    }
  } wipe_args{parsed.command.args};
  const std::string& tag = parsed.command.tag;
  if (!parsed.ok) {
    std::string refusal = (tag.empty() ? std::string("*") : tag) + " BAD " + parsed.error + ".\r\n";
    if (++state.invalid_commands < kMaxInvalidCommands) co_return co_await reply(refusal);
    end_reason_ = "too many invalid commands";
    refusal += "* BYE Too many invalid commands.\r\n";
    co_await reply(refusal);
    co_return false;
  }
  state.invalid_commands = 0;
  const std::string& name = parsed.command.name;
  const auto& args = parsed.command.args;
  // The command name only: arguments may be credentials.
  spdlog::debug("s{} pre-auth command {} ({} argument(s))", id_, name.substr(0, 32), args.size());

  if (name == "CAPABILITY") {
    co_return co_await reply("* CAPABILITY " + capabilities() + "\r\n" + tag + " OK Capability completed.\r\n");
  }
  if (name == "NOOP") co_return co_await reply(tag + " OK NOOP completed.\r\n");
  if (name == "ID") {
    co_return co_await reply("* ID (\"name\" \"Lodestone\" \"version\" \"0.1.0\")\r\n" + tag + " OK ID completed.\r\n");
  }
  if (name == "LOGOUT") {
    end_reason_ = "logout";
    co_await reply("* BYE Logging out.\r\n" + tag + " OK Logout completed.\r\n");
    co_return false;
  }
  if (name == "STARTTLS") {
    if (listener_.config->tls != config::TlsMode::starttls || client_.is_tls()) {
      co_return co_await reply(tag + " BAD STARTTLS is not available here.\r\n");
    }
    const std::string go_ahead = tag + " OK Begin TLS negotiation now.\r\n";
    const bool answered = co_await reply(go_ahead);
    if (!answered) co_return false;
    // Whatever the client pipelined after STARTTLS was sent in clear text
    // and must not be taken as sent under TLS (CVE-2011-0411).
    state.reader.discard_buffered();
    starttls_pending_ = true;
    const auto ec = co_await client_.start_tls_server(*listener_.tls);
    if (ec) {
      end_reason_ = "STARTTLS handshake failed: " + ec.message();
      co_return false;
    }
    starttls_pending_ = false;
    spdlog::debug("s{} STARTTLS done ({})", id_, SSL_get_version(client_.ssl()));
    co_return true;
  }
  if (name == "LOGIN") {
    if (args.size() != 2) co_return co_await reply(tag + " BAD LOGIN expects a user name and a password.\r\n");
    if (!plaintext_login_allowed()) {
      co_return co_await reply(tag + " NO [PRIVACYREQUIRED] Plaintext login is disabled: use STARTTLS or TLS.\r\n");
    }
    Credentials credentials;
    credentials.user = args[0];
    credentials.login = args[0];
    credentials.password = args[1];
    co_return co_await log_in(state, tag, credentials, outcome);
  }
  if (name == "AUTHENTICATE") co_return co_await authenticate(state, tag, args, outcome);
  co_return co_await reply(tag + " BAD Log in first (" + name.substr(0, 32) + " is not valid before login).\r\n");
}

// One SASL round: sends the challenge and reads the client's base64 answer.
// False (after answering the client) when it cancelled or sent garbage.
asio::awaitable<bool> Session::sasl_step(Preauth& state, const std::string& challenge, std::string& response,
                                         const std::string& tag) {
  std::string line;
  const std::string prompt = "+ " + challenge + "\r\n";
  const bool prompted = co_await reply(prompt);
  if (!prompted) co_return false;
  const auto status = co_await state.reader.read_line(client_, line);
  if (status != LineReader::Status::ok) co_return false;
  if (line == "*") {
    co_await reply(tag + " BAD Authentication cancelled.\r\n");
    co_return false;
  }
  auto decoded = sasl::base64_decode(line);
  wipe_secret(line);
  if (!decoded) {
    co_await reply(tag + " BAD Invalid base64 in SASL response.\r\n");
    co_return false;
  }
  response.swap(*decoded);
  wipe_secret(*decoded);
  co_return true;
}

asio::awaitable<bool> Session::authenticate(Preauth& state, const std::string& tag,
                                            const std::vector<std::string>& args, Outcome& outcome) {
  if (args.empty() || args.size() > 2) co_return co_await reply(tag + " BAD AUTHENTICATE expects a mechanism.\r\n");
  std::string mechanism = args[0];
  for (char& c : mechanism) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  const bool known = mechanism == "PLAIN" || mechanism == "LOGIN" || mechanism == "XOAUTH2" ||
                     mechanism == "OAUTHBEARER";
  if (!known) co_return co_await reply(tag + " NO Unsupported authentication mechanism.\r\n");
  if (!plaintext_login_allowed()) {
    co_return co_await reply(tag + " NO [PRIVACYREQUIRED] Authentication is disabled before TLS: use STARTTLS.\r\n");
  }

  // The initial response, from SASL-IR or a first empty challenge.
  std::string initial;
  bool have_initial = false;
  if (args.size() == 2) {
    if (args[1] != "=") {
      auto decoded = sasl::base64_decode(args[1]);
      if (!decoded) co_return co_await reply(tag + " BAD Invalid base64 in SASL initial response.\r\n");
      initial = std::move(*decoded);
    }
    have_initial = true;
  }

  Credentials credentials;
  if (mechanism == "LOGIN") {
    // Challenges are "Username:" and "Password:", base64-encoded.
    if (!have_initial) {
      const bool answered = co_await sasl_step(state, "VXNlcm5hbWU6", initial, tag);
      if (!answered) co_return true;
    }
    credentials.user = initial;
    credentials.login = std::move(initial);
    const bool answered = co_await sasl_step(state, "UGFzc3dvcmQ6", credentials.password, tag);
    if (!answered) co_return true;
  } else {
    if (!have_initial) {
      const bool answered = co_await sasl_step(state, "", initial, tag);
      if (!answered) co_return true;
    }
    if (mechanism == "PLAIN") {
      auto plain = sasl::parse_plain(initial);
      wipe_secret(initial);
      if (!plain) co_return co_await reply(tag + " BAD Malformed PLAIN response.\r\n");
      // Route and log as the identity the session acts for.
      credentials.user = plain->authzid.empty() ? plain->authcid : plain->authzid;
      credentials.login = plain->authcid;
      credentials.authzid = plain->authzid;
      credentials.password = std::move(plain->password);
    } else {
      auto user = mechanism == "XOAUTH2" ? sasl::xoauth2_user(initial) : sasl::oauthbearer_user(initial);
      if (!user) co_return co_await reply(tag + " BAD Malformed " + mechanism + " response.\r\n");
      credentials.kind = Credentials::Kind::oauth;
      credentials.mechanism = mechanism;
      credentials.user = *user;
      credentials.oauth_response = std::move(initial);
    }
  }
  if (credentials.user.empty()) co_return co_await reply(tag + " BAD Empty user name.\r\n");
  co_return co_await log_in(state, tag, credentials, outcome);
}

namespace {

// Control characters in a name would forge log lines or break the replay.
bool has_control_characters(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

asio::awaitable<bool> Session::log_in(Preauth& state, const std::string& tag, Credentials& credentials,
                                      Outcome& outcome) {
  if (has_control_characters(credentials.user) || has_control_characters(credentials.login) ||
      credentials.password.find('\0') != std::string::npos) {
    co_return co_await reply(tag + " BAD Control characters in the user name or password.\r\n");
  }
  const config::Upstream* upstream = runtime_.config->route_user(credentials.user);
  if (!upstream) {
    spdlog::warn("s{} login user={} result=no-route", id_, credentials.user);
    co_return co_await reply(tag + " NO [AUTHENTICATIONFAILED] No mail server is configured for this user.\r\n");
  }
  UpstreamTarget target{upstream, nullptr};
  if (auto it = runtime_.upstream_tls.find(upstream->name); it != runtime_.upstream_tls.end()) {
    target.tls = it->second.get();
  }
  ConnectResult connected = co_await connect_upstream(target, runtime_.config->timeouts.connect);
  if (!connected.link) {
    spdlog::warn("s{} login user={} route={} result=unavailable: {}", id_, credentials.user, upstream->name,
                 connected.error);
    co_return co_await reply(tag + " NO [UNAVAILABLE] The mail server is unavailable, try again later.\r\n");
  }
  SSL* upstream_ssl = connected.link->stream.ssl();
  spdlog::debug("s{} upstream {} connected ({}, {} capabilities)", id_, upstream->name,
                upstream_ssl ? SSL_get_version(upstream_ssl) : "no TLS", connected.link->capabilities.size());
  const LoginResult result = co_await replay_login(*connected.link, credentials, client_, state.reader, tag);
  switch (result.status) {
    case LoginStatus::ok:
      spdlog::info("s{} login user={} route={} result=ok", id_, credentials.user, upstream->name);
      user_ = credentials.user;
      route_ = upstream->name;
      upstream_ = std::move(connected.link);
      upstream_pending_ = upstream_->reader.take_buffered();
      outcome = Outcome::logged_in;
      co_return true;
    case LoginStatus::rejected:
      spdlog::info("s{} login user={} route={} result=rejected: {}", id_, credentials.user, upstream->name,
                   result.detail);
      connected.link->stream.close();
      co_return true;
    case LoginStatus::failed:
      break;
  }
  spdlog::warn("s{} login user={} route={} result=unavailable: {}", id_, credentials.user, upstream->name,
               result.detail);
  connected.link->stream.close();
  co_return co_await reply(tag + " NO [UNAVAILABLE] The mail server is unavailable, try again later.\r\n");
}

// Queues a Gap for the events the full queue refused; true when nothing is
// left unreported.
bool Session::report_lost_events() {
  if (events_lost_ == 0) return true;
  TapRecord gap{id_, user_, tap::Gap{{}, events_lost_, "event queue full"}};
  if (!runtime_.events->try_push(gap)) return false;
  events_lost_ = 0;
  return true;
}

void Session::emit(tap::Event&& event) {
  if (!report_lost_events()) {
    ++events_lost_;
    return;
  }
  TapRecord record{id_, user_, std::move(event)};
  if (!runtime_.events->try_push(record)) ++events_lost_;
}

void Session::start_relay() {
  deadline_ = steady_clock::now() + runtime_.config->timeouts.idle;
  filter_ = std::make_unique<imap::CapabilityFilter>(runtime_.config->limits.preauth_line);
  if (runtime_.events) {
    imap::CodecLimits limits;
    limits.capture_max = runtime_.config->limits.capture_max;
    codec_ = std::make_unique<imap::ImapCodec>(limits, *this);
  }
  // Capabilities were only needed to log in; an idle session keeps nothing.
  upstream_->capabilities = {};
  to_server_.from = &client_;
  to_server_.to = &upstream_->stream;
  to_server_.toward_server = true;
  to_client_.from = &upstream_->stream;
  to_client_.to = &client_;
  // Plain reads are attempted only after readiness; they must not block.
  for (Pipe* pipe : {&to_server_, &to_client_}) {
    if (!pipe->from->is_tls()) pipe->from->socket().non_blocking(true);
  }
  arm_idle_timer();
  // Bytes that arrived with the login exchange go first, in order; they stay
  // in their strings until written.
  if (!client_pending_.empty()) {
    forward(to_server_, client_pending_);
  } else {
    read_next(to_server_);
  }
  if (!upstream_pending_.empty()) {
    forward(to_client_, upstream_pending_);
  } else {
    read_next(to_client_);
  }
}

void Session::read_next(Pipe& pipe) {
  if (finished_ || closing_) return;
  auto self = shared_from_this();
  if (pipe.from->is_tls()) {
    // TLS may hold received bytes where no socket readiness would show them
    // (OpenSSL's and Asio's staging buffers), so a TLS pipe always keeps a
    // read pending.  While data is streaming it reads into a full buffer;
    // otherwise it reads one byte, so an idle session holds no buffer.
    if (pipe.from->tls_holds_input()) {
      pipe.buffer = PooledBuffer::borrow();
      pipe.from->async_read_some(asio::buffer(pipe.buffer.data(), pipe.buffer.size()),
                                 [self, &pipe](error_code ec, std::size_t n) { self->on_read(pipe, ec, n); });
      return;
    }
    pipe.from->async_read_some(asio::buffer(&pipe.first_byte, 1),
                               [self, &pipe](error_code ec, std::size_t n) { self->on_first_tls_byte(pipe, ec, n); });
    return;
  }
  // Wait without a buffer: an idle session holds none.
  pipe.from->socket().async_wait(tcp::socket::wait_read,
                                 [self, &pipe](error_code ec) { self->on_readable(pipe, ec); });
}

void Session::on_first_tls_byte(Pipe& pipe, error_code ec, std::size_t n) {
  if (ec || n == 0) return finish(pipe.toward_server ? "client closed the connection" : "server closed the connection");
  pipe.buffer = PooledBuffer::borrow();
  pipe.buffer.data()[0] = pipe.first_byte;
  // The rest of this record is already decrypted: read exactly that much,
  // which completes without waiting for the network.
  const int pending = SSL_pending(pipe.from->ssl());
  if (pending <= 0) return on_read(pipe, ec, 1);
  const std::size_t more = std::min(static_cast<std::size_t>(pending), pipe.buffer.size() - 1);
  pipe.from->async_read_some(asio::buffer(pipe.buffer.data() + 1, more),
                             [self = shared_from_this(), &pipe](error_code read_ec, std::size_t read) {
                               self->on_read(pipe, read_ec, read + 1);
                             });
}

void Session::on_readable(Pipe& pipe, error_code ec) {
  if (ec) return finish(pipe.toward_server ? "client connection error" : "server connection error");
  pipe.buffer = PooledBuffer::borrow();
  const std::size_t n = pipe.from->socket().read_some(asio::buffer(pipe.buffer.data(), pipe.buffer.size()), ec);
  if (ec == asio::error::would_block) {
    pipe.buffer.release();
    return read_next(pipe);
  }
  on_read(pipe, ec, n);
}

void Session::on_read(Pipe& pipe, error_code ec, std::size_t n) {
  if (ec || n == 0) return finish(pipe.toward_server ? "client closed the connection" : "server closed the connection");
  deadline_ = steady_clock::now() + runtime_.config->timeouts.idle;
  forward(pipe, std::string_view(pipe.buffer.data(), n));
}

// Taps and sends one chunk.  Toward the client the capability filter runs
// first, then the codec, then the write: the codec must see a tagged answer
// before the client can react to it.
void Session::forward(Pipe& pipe, std::string_view bytes) {
  pipe.pieces.clear();
  if (pipe.toward_server) {
    bytes_up_ += bytes.size();
    if (codec_) codec_->feed_client(bytes);
    pipe.pieces.emplace_back(bytes.data(), bytes.size());
  } else if (filter_) {
    bytes_down_ += bytes.size();
    for (std::string_view piece : filter_->filter(bytes)) {
      if (codec_) codec_->feed_server(piece);
      pipe.pieces.emplace_back(piece.data(), piece.size());
    }
    if (codec_ && !codec_->following()) {
      // The stream stopped being plain IMAP (COMPRESS went through after
      // all): from here on bytes pass unfiltered, and what the filter still
      // holds goes out now.
      held_tail_ = filter_->take_held();
      if (!held_tail_.empty()) pipe.pieces.emplace_back(held_tail_.data(), held_tail_.size());
      filter_.reset();
    }
  } else {
    bytes_down_ += bytes.size();
    pipe.pieces.emplace_back(bytes.data(), bytes.size());
  }
  pipe.writing = true;
  pipe.to->async_write(pipe.pieces, [self = shared_from_this(), &pipe](error_code ec, std::size_t) {
    self->on_written(pipe, ec);
  });
}

void Session::on_written(Pipe& pipe, error_code ec) {
  pipe.writing = false;
  if (ec) return finish(pipe.toward_server ? "server connection broke" : "client connection broke");
  pipe.buffer.release();
  std::string& sent_from_memory = pipe.toward_server ? client_pending_ : upstream_pending_;
  if (!sent_from_memory.empty()) std::string().swap(sent_from_memory);
  if (!pipe.toward_server && !held_tail_.empty()) std::string().swap(held_tail_);
  read_next(pipe);
}

void Session::arm_idle_timer() {
  idle_timer_.expires_at(deadline_);
  idle_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->finished_) return;
    if (steady_clock::now() < self->deadline_) return self->arm_idle_timer();
    self->end_reason_ = "idle timeout";
    if (self->to_client_.writing) return self->finish("idle timeout");
    // Tell the client why before closing.  Nothing else may be written to it
    // from now on, and a client that does not read gets a short grace only.
    self->closing_ = true;
    self->upstream_->stream.close();
    static constexpr std::string_view kBye = "* BYE Disconnected for inactivity.\r\n";
    self->client_.async_write(asio::buffer(kBye.data(), kBye.size()),
                              [self](error_code, std::size_t) { self->finish("idle timeout"); });
    self->idle_timer_.expires_after(kGoodbyeTimeout);
    self->idle_timer_.async_wait([self](error_code) { self->finish("idle timeout"); });
  });
}

// Ends the session: closing both connections makes every pending operation
// complete with an error, which drops the last references to the session.
void Session::finish(std::string_view reason) {
  if (finished_) return;
  finished_ = true;
  if (end_reason_.empty()) end_reason_ = reason;
  client_.close();
  if (upstream_) upstream_->stream.close();
  idle_timer_.cancel();
}

}  // namespace lodestone::proxy
