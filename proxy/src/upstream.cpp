#include "upstream.hpp"

#include <openssl/crypto.h>

#include <array>

#include "capability_filter.hpp"
#include "imap_syntax.hpp"
#include "preauth_parser.hpp"
#include "sasl.hpp"

namespace lodestone::proxy {

using imap::iequals;
using imap::istarts_with;

namespace {

constexpr std::string_view kStartTlsTag = "L0";
constexpr std::string_view kCapabilityTag = "L1";
constexpr std::string_view kLoginTag = "L2";

std::vector<std::string> split_capabilities(std::string_view list) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < list.size()) {
    std::size_t end = list.find(' ', pos);
    if (end == std::string_view::npos) end = list.size();
    if (end > pos) {
      std::string cap(list.substr(pos, end - pos));
      for (char& c : cap) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      }
      out.push_back(std::move(cap));
    }
    pos = end + 1;
  }
  return out;
}

// Capabilities from "[CAPABILITY ...]" in a status line; empty when absent.
std::vector<std::string> capabilities_in_code(std::string_view line) {
  const std::size_t open = line.find("[CAPABILITY ");
  if (open == std::string_view::npos) return {};
  const std::size_t begin = open + std::string_view("[CAPABILITY ").size();
  const std::size_t close = line.find(']', begin);
  if (close == std::string_view::npos) return {};
  return split_capabilities(line.substr(begin, close - begin));
}

// "TAG rest" -> the text after the tag when the line carries `tag`.
bool has_tag(std::string_view line, std::string_view tag) {
  return line.size() > tag.size() && line.substr(0, tag.size()) == tag && line[tag.size()] == ' ';
}

bool is_ok_status(std::string_view line, std::string_view tag) {
  return istarts_with(line.substr(tag.size() + 1), "OK");
}

asio::awaitable<error_code> send(Stream& stream, std::string_view bytes) {
  auto [ec, n] = co_await stream.write_all(asio::buffer(bytes.data(), bytes.size()));
  (void)n;
  co_return ec;
}

// Reads server lines until the tagged completion for `tag`; untagged lines
// go to `on_untagged`.  Returns false when the connection failed.
template <typename OnUntagged>
asio::awaitable<bool> await_completion(UpstreamLink& link, std::string_view tag, std::string& completion,
                                       OnUntagged on_untagged) {
  std::string line;
  LineReader::Status status = LineReader::Status::ok;
  for (;;) {
    status = co_await link.reader.read_line(link.stream, line);
    if (status != LineReader::Status::ok) co_return false;
    if (has_tag(line, tag)) {
      completion = std::move(line);
      co_return true;
    }
    on_untagged(line);
  }
}

// Shared with the setup deadline's handler, which may run after
// connect_upstream has returned (its expiry raced with the last step): it
// touches the resolver and the link only while setup is still going.
struct SetupWatch {
  tcp::resolver* resolver = nullptr;
  UpstreamLink* link = nullptr;
  bool expired = false;
  bool done = false;
};

}  // namespace

void wipe_secret(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

Credentials::~Credentials() {
  wipe_secret(password);
  wipe_secret(oauth_response);
}

bool UpstreamLink::has_capability(std::string_view name) const {
  for (const auto& cap : capabilities) {
    if (iequals(cap, name)) return true;
  }
  return false;
}

asio::awaitable<ConnectResult> connect_upstream(const UpstreamTarget& target, std::chrono::milliseconds timeout) {
  const config::Upstream& upstream = *target.config;
  auto executor = co_await asio::this_coro::executor;
  ConnectResult result;
  auto link = std::make_unique<UpstreamLink>(tcp::socket(executor));
  tcp::resolver resolver(executor);

  // One deadline for the whole setup: resolve, connect, TLS, greeting.
  auto watch = std::make_shared<SetupWatch>();
  watch->resolver = &resolver;
  watch->link = link.get();
  struct MarkDone {
    SetupWatch& watch;
    ~MarkDone() { watch.done = true; }
  } mark_done{*watch};
  asio::steady_timer deadline(executor, timeout);
  deadline.async_wait([watch](error_code ec) {
    if (ec || watch->done) return;
    watch->expired = true;
    watch->resolver->cancel();
    watch->link->stream.close();
  });
  const std::string where = upstream.name + " (" + upstream.host + ":" + std::to_string(upstream.port) + ")";
  auto fail = [&](std::string what) {
    result.error = watch->expired ? "timed out after " + std::to_string(timeout.count()) + " ms: " + where
                                  : what + ": " + where;
    return std::move(result);
  };

  auto [resolve_ec, endpoints] =
      co_await resolver.async_resolve(upstream.host, std::to_string(upstream.port), asio::as_tuple(asio::use_awaitable));
  if (resolve_ec) co_return fail("cannot resolve host: " + resolve_ec.message());
  auto [connect_ec, endpoint] =
      co_await asio::async_connect(link->stream.socket(), endpoints, asio::as_tuple(asio::use_awaitable));
  (void)endpoint;
  if (connect_ec) co_return fail("cannot connect: " + connect_ec.message());
  link->stream.socket().set_option(tcp::no_delay(true));

  const std::string& server_name = upstream.server_name.empty() ? upstream.host : upstream.server_name;
  if (upstream.tls == config::TlsMode::implicit) {
    const error_code tls_ec = co_await link->stream.start_tls_client(*target.tls, server_name, upstream.verify);
    if (tls_ec) co_return fail("TLS handshake failed: " + tls_ec.message());
  }

  std::string greeting;
  const LineReader::Status greeted = co_await link->reader.read_line(link->stream, greeting);
  if (greeted != LineReader::Status::ok) {
    co_return fail("connection closed before the greeting");
  }
  if (!istarts_with(greeting, "* OK")) co_return fail("unexpected greeting \"" + greeting.substr(0, 200) + "\"");
  link->capabilities = capabilities_in_code(greeting);

  std::string completion;
  if (upstream.tls == config::TlsMode::starttls) {
    if (!link->capabilities.empty() && !link->has_capability("STARTTLS")) {
      co_return fail("server does not offer STARTTLS");
    }
    const std::string starttls = std::string(kStartTlsTag) + " STARTTLS\r\n";
    const error_code write_ec = co_await send(link->stream, starttls);
    if (write_ec) co_return fail("write failed");
    const bool completed = co_await await_completion(*link, kStartTlsTag, completion, [](std::string_view) {});
    if (!completed) {
      co_return fail("connection closed during STARTTLS");
    }
    if (!is_ok_status(completion, kStartTlsTag)) co_return fail("STARTTLS refused: \"" + completion + "\"");
    link->reader.discard_buffered();  // nothing sent before TLS may count after it
    const error_code tls_ec = co_await link->stream.start_tls_client(*target.tls, server_name, upstream.verify);
    if (tls_ec) co_return fail("TLS handshake failed: " + tls_ec.message());
    link->capabilities.clear();  // what was said in clear text no longer holds
  }

  if (link->capabilities.empty()) {
    const std::string capability = std::string(kCapabilityTag) + " CAPABILITY\r\n";
    const error_code write_ec = co_await send(link->stream, capability);
    if (write_ec) co_return fail("write failed");
    auto collect = [&link](std::string_view line) {
      if (istarts_with(line, "* CAPABILITY ")) link->capabilities = split_capabilities(line.substr(13));
    };
    const bool completed = co_await await_completion(*link, kCapabilityTag, completion, collect);
    if (!completed) {
      co_return fail("connection closed during CAPABILITY");
    }
  }
  deadline.cancel();
  if (watch->expired) co_return fail("timed out");
  result.link = std::move(link);
  co_return result;
}

namespace {

// Sends LOGIN with each argument quoted, or as a literal when it has to be
// (waiting for the server's "+" unless LITERAL+ allows otherwise).  Each
// co_await is a statement of its own: GCC 12 miscompiles co_await inside
// && and ?: operands.
asio::awaitable<bool> send_login_command(UpstreamLink& link, const Credentials& credentials,
                                         std::string& early_completion) {
  const bool literal_plus = link.has_capability("LITERAL+");
  std::string pending = std::string(kLoginTag) + " LOGIN";
  std::string encoded;
  std::string line;
  error_code ec;
  const std::array<const std::string*, 2> args{&credentials.login, &credentials.password};
  std::size_t crlf = 0;
  LineReader::Status status = LineReader::Status::ok;
  for (std::size_t i = 0; i < args.size(); ++i) {
    encoded = imap::quote_or_literal(*args[i], literal_plus);
    crlf = encoded.find("\r\n");
    if (encoded.front() != '{' || crlf == std::string::npos) {
      pending += " " + encoded;
      wipe_secret(encoded);
      continue;
    }
    // Literal: the line up to its marker goes first.
    pending += " " + encoded.substr(0, crlf + 2);
    ec = co_await send(link.stream, pending);
    wipe_secret(pending);
    if (ec) break;
    if (!literal_plus) {
      status = co_await link.reader.read_line(link.stream, line);
      if (status != LineReader::Status::ok) break;
      if (has_tag(line, kLoginTag)) {
        early_completion = std::move(line);  // refused before the literal
        wipe_secret(encoded);
        co_return true;
      }
      if (!line.starts_with("+")) break;
    }
    ec = co_await send(link.stream, std::string_view(encoded).substr(crlf + 2));
    wipe_secret(encoded);
    if (ec) break;
  }
  if (!encoded.empty() || ec) {
    wipe_secret(encoded);
    wipe_secret(pending);
    co_return false;
  }
  pending += "\r\n";
  ec = co_await send(link.stream, pending);
  wipe_secret(pending);
  co_return !ec;
}

// AUTHENTICATE with one initial response, inline (SASL-IR) or after "+".
asio::awaitable<bool> send_authenticate(UpstreamLink& link, std::string_view mechanism, std::string response,
                                        std::string& early_completion) {
  std::string payload = sasl::base64_encode(response);
  wipe_secret(response);
  if (payload.empty()) payload = "=";  // RFC 4959: an empty initial response
  std::string command = std::string(kLoginTag) + " AUTHENTICATE " + std::string(mechanism);
  std::string line;
  error_code ec;
  bool sent = false;
  if (link.has_capability("SASL-IR")) {
    command += " " + payload + "\r\n";
    ec = co_await send(link.stream, command);
    sent = !ec;
  } else {
    command += "\r\n";
    ec = co_await send(link.stream, command);
    LineReader::Status status = LineReader::Status::closed;
    if (!ec) {
      status = co_await link.reader.read_line(link.stream, line);
    }
    if (status == LineReader::Status::ok && has_tag(line, kLoginTag)) {
      early_completion = std::move(line);
      sent = true;
    } else if (status == LineReader::Status::ok && line.starts_with("+")) {
      payload += "\r\n";
      ec = co_await send(link.stream, payload);
      sent = !ec;
    }
  }
  wipe_secret(command);
  wipe_secret(payload);
  co_return sent;
}

std::string filtered(std::string_view line) {
  if (auto rewritten = imap::filter_capability_line(line)) return *rewritten;
  return std::string(line);
}

}  // namespace

asio::awaitable<LoginResult> replay_login(UpstreamLink& upstream, const Credentials& credentials, Stream& client,
                                          LineReader& client_reader, const std::string& client_tag) {
  LoginResult result;
  std::string completion;
  bool sent = false;
  if (credentials.kind == Credentials::Kind::oauth) {
    if (!upstream.has_capability("AUTH=" + credentials.mechanism)) {
      result.detail = "server does not offer AUTH=" + credentials.mechanism;
      co_return result;
    }
    sent = co_await send_authenticate(upstream, credentials.mechanism, credentials.oauth_response, completion);
  } else if (upstream.has_capability("AUTH=PLAIN")) {
    sasl::PlainCredentials plain{credentials.authzid, credentials.login, credentials.password};
    sent = co_await send_authenticate(upstream, "PLAIN", sasl::make_plain(plain), completion);
    wipe_secret(plain.password);
  } else if (upstream.has_capability("LOGINDISABLED")) {
    result.detail = "server offers neither LOGIN nor AUTH=PLAIN";
    co_return result;
  } else if (!credentials.authzid.empty()) {
    result.detail = "server offers no AUTH=PLAIN to carry the authorization identity";
    co_return result;
  } else {
    sent = co_await send_login_command(upstream, credentials, completion);
  }
  if (!sent) {
    result.detail = "connection to the server broke during login";
    co_return result;
  }

  std::string line;
  std::string client_reply;
  LineReader::Status status = LineReader::Status::ok;
  error_code ec;
  while (completion.empty()) {
    status = co_await upstream.reader.read_line(upstream.stream, line);
    if (status != LineReader::Status::ok) {
      result.detail = "connection to the server broke during login";
      co_return result;
    }
    if (has_tag(line, kLoginTag)) {
      completion = std::move(line);
    } else if (line.starts_with("+") && credentials.kind == Credentials::Kind::oauth) {
      // The server's error challenge goes to the client, whose reply (an
      // empty line, or "*") goes back; the server then ends the exchange.
      line += "\r\n";
      ec = co_await send(client, line);
      if (ec) co_return result;
      status = co_await client_reader.read_line(client, client_reply);
      if (status != LineReader::Status::ok) co_return result;
      client_reply += "\r\n";
      ec = co_await send(upstream.stream, client_reply);
      wipe_secret(client_reply);
      if (ec) co_return result;
    } else if (line.starts_with("+")) {
      // PLAIN needs no second round; cancel, the server answers BAD.
      ec = co_await send(upstream.stream, "*\r\n");
      if (ec) co_return result;
    } else {
      line = filtered(line) + "\r\n";
      ec = co_await send(client, line);
      if (ec) co_return result;
    }
  }

  const std::string_view rest = std::string_view(completion).substr(kLoginTag.size());
  const std::string answer = filtered(client_tag + std::string(rest)) + "\r\n";
  ec = co_await send(client, answer);
  if (ec) {
    result.detail = "client went away during login";
    co_return result;
  }
  result.status = is_ok_status(completion, kLoginTag) ? LoginStatus::ok : LoginStatus::rejected;
  result.detail = std::string(rest.substr(1));
  co_return result;
}

}  // namespace lodestone::proxy
