// The proxy's leg to the real IMAP server: connect (plain, implicit TLS or
// STARTTLS), read the greeting, learn the capabilities, replay the client's
// login.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "lodestone/config.hpp"
#include "stream.hpp"

namespace lodestone::proxy {

// Overwrites a secret before its memory is reused, then empties it.
void wipe_secret(std::string& secret);

// What the client logged in with.  Secrets are wiped when it is destroyed
// and never logged.
struct Credentials {
  enum class Kind { password, oauth };
  Kind kind = Kind::password;
  std::string user;       // who the session acts for: routing and logs
  std::string login;      // the name to authenticate as (PLAIN authcid)
  std::string authzid;    // PLAIN authorization identity, usually empty
  std::string password;   // Kind::password
  std::string mechanism;  // Kind::oauth: "XOAUTH2" or "OAUTHBEARER"
  std::string oauth_response;  // Kind::oauth: the client's decoded initial response

  Credentials() = default;
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;
  ~Credentials();
};

struct UpstreamTarget {
  const config::Upstream* config = nullptr;
  asio::ssl::context* tls = nullptr;  // set unless config->tls is none
};

struct UpstreamLink {
  explicit UpstreamLink(tcp::socket socket) : stream(std::move(socket)) {}
  Stream stream;
  LineReader reader{64 * 1024};
  std::vector<std::string> capabilities;  // upper-cased

  bool has_capability(std::string_view name) const;
};

struct ConnectResult {
  std::unique_ptr<UpstreamLink> link;  // null on failure
  std::string error;                   // why, for the log
};

asio::awaitable<ConnectResult> connect_upstream(const UpstreamTarget& target, std::chrono::milliseconds timeout);

enum class LoginStatus {
  ok,        // the server accepted; the client has its tagged OK
  rejected,  // the server said NO/BAD; the client has the server's answer
  failed,    // the connection broke; nothing was sent to the client
};

struct LoginResult {
  LoginStatus status = LoginStatus::failed;
  std::string detail;  // for the log: the server's response text, or the error
};

// Sends the login to the server and hands the server's answer to the client
// under the client's tag, with capabilities filtered.  For OAuth mechanisms
// the server's continuation (an error challenge) and the client's reply pass
// through.
asio::awaitable<LoginResult> replay_login(UpstreamLink& upstream, const Credentials& credentials, Stream& client,
                                          LineReader& client_reader, const std::string& client_tag);

}  // namespace lodestone::proxy
