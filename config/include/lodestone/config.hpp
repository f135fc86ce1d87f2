// Lodestone configuration: the one YAML file an admin writes.
//
// load_config() parses and validates a file into a Config with every default
// filled in.  Every problem found is reported at once, each with file:line:col
// and a one-line hint, through ConfigError.  Relative paths in the file
// (certificates, keys, CA files, logs) are resolved against the directory of
// the config file.  Durations are "500ms", "60s", "31m", "2h" or plain seconds;
// sizes are "64KiB", "50MiB", "1GiB" or plain bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lodestone::config {

enum class TlsMode { none, implicit, starttls };

struct Listener {
  std::string protocol = "imap";  // only "imap" for now
  std::string address;
  std::uint16_t port = 0;
  TlsMode tls = TlsMode::none;
  std::string cert_file;  // PEM chain; required unless tls is none
  std::string key_file;   // PEM private key; required unless tls is none
  // Whether LOGIN / AUTHENTICATE PLAIN|LOGIN are accepted before TLS.
  // Defaults to true on loopback addresses, false elsewhere.
  bool allow_plaintext_login = false;

  bool operator==(const Listener&) const = default;
};

struct Upstream {
  std::string name;
  std::string host;
  std::uint16_t port = 0;
  TlsMode tls = TlsMode::none;
  bool verify = true;          // verify the server certificate and host name
  std::string ca_file;         // extra trusted CA (PEM); empty = system store
  std::string server_name;     // name to verify and send as SNI; default host

  bool operator==(const Upstream&) const = default;
};

struct Route {
  enum class Kind { user, domain, fallback };
  Kind kind = Kind::fallback;
  std::string match;     // lower-cased user or domain; empty for fallback
  std::string upstream;  // name of an Upstream

  bool operator==(const Route&) const = default;
};

struct Timeouts {
  std::chrono::milliseconds connect{10'000};
  std::chrono::milliseconds preauth{60'000};
  std::chrono::milliseconds idle{31 * 60'000};  // > 29 min so IDLE survives
  std::chrono::milliseconds drain{30'000};

  bool operator==(const Timeouts&) const = default;
};

struct Limits {
  std::size_t preauth_line = 64 * 1024;
  std::size_t preauth_literal = 64 * 1024;
  std::size_t capture_max = 50 * 1024 * 1024;  // bodies above are relayed, not captured
  std::size_t event_queue = 10'000;            // events waiting for the consumer
  std::size_t event_queue_bytes = 256 * 1024 * 1024;

  bool operator==(const Limits&) const = default;
};

struct Logging {
  std::string level = "info";  // trace debug info warn error off
  std::string file;            // empty = stderr

  bool operator==(const Logging&) const = default;
};

struct Tap {
  bool enabled = true;
  std::string event_log;  // JSON lines of every tap event; empty = none

  bool operator==(const Tap&) const = default;
};

struct Crm {
  // The LMDB store's directory; relative paths are resolved against the
  // config file's directory. Default: "crm" next to the config file.
  std::string path;
  // The organisation's own mail domains: their addresses are staff, never
  // contacts, leads or accounts. Lower-cased.
  std::vector<std::string> org_domains;

  bool operator==(const Crm&) const = default;
};

struct Config {
  std::string source_path;  // the file read, as an absolute path
  std::vector<Listener> listeners;
  std::vector<Upstream> upstreams;
  std::vector<Route> routes;
  Timeouts timeouts;
  Limits limits;
  Logging logging;
  Tap tap;
  Crm crm;
  unsigned threads = 0;  // I/O threads; 0 = number of cores
  // After a burst of work an I/O thread polls this long before sleeping, so
  // a reply arriving within it is relayed without a wake-up; 0 = never poll.
  unsigned busy_poll_us = 50;

  bool operator==(const Config&) const = default;

  const Upstream* find_upstream(const std::string& name) const;
  // The upstream for a login name: exact user first, then domain, then the
  // default route.  nullptr when nothing matches.
  const Upstream* route_user(const std::string& user) const;
};

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem has no position
  int column = 0;  // 1-based
  std::string message;
  std::string hint;
};

// what() is every diagnostic as "file:line:col: error: message" plus an
// indented "  hint: ..." line, each line ending in '\n': ready to print.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

// Reads and validates a config file.  Throws ConfigError listing every problem.
Config load_config(const std::string& path);
// Same, from text; `name` is used as the file in diagnostics.
Config parse_config(const std::string& text, const std::string& name);

// The effective configuration as YAML, with defaults filled in and secrets
// masked, for `lodestone check-config`.
std::string render_config(const Config& config);

const char* to_string(TlsMode mode);

}  // namespace lodestone::config
