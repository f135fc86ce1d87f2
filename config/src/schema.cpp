#include "schema.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

#include <yaml-cpp/node/impl.h>
#include <yaml-cpp/node/iterator.h>

#include "quantity.hpp"

namespace lodestone::config {
namespace {

using namespace std::string_view_literals;
using Names = std::span<const std::string_view>;

constexpr std::array kTopKeys{"listeners"sv, "upstreams"sv, "routes"sv, "timeouts"sv,
                              "limits"sv,    "logging"sv,   "tap"sv,    "crm"sv,     "threads"sv,
                              "busy_poll_us"sv};
constexpr std::array kListenerKeys{"protocol"sv, "address"sv, "port"sv,
                                   "tls"sv,      "cert"sv,    "key"sv,
                                   "allow_plaintext_login"sv};
constexpr std::array kUpstreamKeys{"name"sv,   "host"sv,    "port"sv,       "tls"sv,
                                   "verify"sv, "ca_file"sv, "server_name"sv};
constexpr std::array kRouteKeys{"user"sv, "domain"sv, "upstream"sv};
constexpr std::array kTimeoutKeys{"connect"sv, "preauth"sv, "idle"sv, "drain"sv};
constexpr std::array kLimitKeys{"preauth_line"sv, "preauth_literal"sv, "capture_max"sv,
                                "event_queue"sv, "event_queue_bytes"sv};
constexpr std::array kLoggingKeys{"level"sv, "file"sv};
constexpr std::array kTapKeys{"enabled"sv, "event_log"sv};
constexpr std::array kCrmKeys{"path"sv, "org_domains"sv};

constexpr std::array kProtocols{"imap"sv};
constexpr std::array kTlsModes{"none"sv, "implicit"sv, "starttls"sv};  // TlsMode order
constexpr std::array kLogLevels{"trace"sv, "debug"sv, "info"sv, "warn"sv, "error"sv, "off"sv};

constexpr std::size_t kMaxNameLength = 253;  // the longest DNS name
constexpr std::uint64_t kMaxThreads = 1024;
constexpr std::uint64_t kMaxBusyPollMicros = 10000;
// A pre-auth line must hold at least a LOGIN command; a bare "64" meant as
// KiB would otherwise lock everyone out.
constexpr std::uint64_t kMinPreauthLine = 1024;

std::string join(Names names) {
  std::string text;
  for (std::string_view name : names) text += (text.empty() ? "" : ", ") + std::string(name);
  return text;
}

char lower_char(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Edits (insert, delete, replace, swap two neighbours) from a to b, ignoring
// ASCII case: the optimal string alignment distance.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const auto same = [&](std::size_t i, std::size_t j) { return lower_char(a[i]) == lower_char(b[j]); };
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (same(i - 1, j - 1) ? 0 : 1)});
      if (i > 1 && j > 1 && same(i - 1, j - 2) && same(i - 2, j - 1))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// "did you mean 'x'? " for the candidate a typo most likely meant, or "".
std::string suggestion(std::string_view word, Names candidates) {
  std::string_view best;
  // Up to two edits, and no more than one per three characters: "smtp" is
  // not a typo of "imap".
  std::size_t best_distance = 3;
  for (std::string_view candidate : candidates) {
    // Lengths further apart than that cannot be close; this also keeps a
    // megabyte-long key from costing a megabyte-sized table.
    if (word.size() > candidate.size() + 2 || candidate.size() > word.size() + 2) continue;
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance && distance * 3 <= word.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best.empty() ? "" : "did you mean " + in_quotes(best) + "? ";
}

// The canonical text of an IP address literal, or nullopt for anything else.
std::optional<std::string> canonical_ip(const std::string& text) {
  in_addr v4{};
  in6_addr v6{};
  char buffer[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1)
    return inet_ntop(AF_INET, &v4, buffer, sizeof buffer);
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1)
    return inet_ntop(AF_INET6, &v6, buffer, sizeof buffer);
  return std::nullopt;
}

bool is_loopback(const std::string& address) {
  if (lower_ascii(address) == "localhost") return true;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  return false;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == ':';
}

bool before(const YAML::Mark& a, const YAML::Mark& b) {
  return a.line < b.line || (a.line == b.line && a.column < b.column);
}

std::string line_of(const YAML::Mark& mark) { return "line " + std::to_string(mark.line + 1); }

// One key of a YAML map with its value.
struct Field {
  std::string name;
  YAML::Node key;
  YAML::Node value;

  // Where to point at the value.  An empty value ("port:") has the position
  // of whatever follows it, so point at its key instead.
  YAML::Mark value_mark() const { return value.IsNull() ? key.Mark() : value.Mark(); }
};

// The known, unique keys of one YAML map.
struct Section {
  YAML::Mark mark;  // where the map starts, for "missing key" reports
  std::vector<Field> fields;

  const Field* find(std::string_view name) const {
    for (const Field& field : fields)
      if (field.name == name) return &field;
    return nullptr;
  }
  // Absent, or given as "" (which is how render_config writes unset paths).
  bool lacks(std::string_view name) const {
    const Field* field = find(name);
    return !field || (field->value.IsScalar() && field->value.Scalar().empty());
  }
};

class Reader {
 public:
  Reader(const std::filesystem::path& base_dir, DiagnosticList& diagnostics)
      : base_dir_(base_dir), diagnostics_(diagnostics) {}

  Config read(const YAML::Node& document);

 private:
  void error(const YAML::Mark& at, std::string message, std::string hint) {
    diagnostics_.add(at, std::move(message), std::move(hint));
  }

  std::optional<Section> section(const YAML::Node& node, std::string_view what, Names keys);
  std::optional<Section> subsection(const Section& top, std::string_view name, Names keys);
  std::vector<YAML::Node> list(const Section& top, std::string_view name, std::string_view hint);
  const Field* require(const Section& section, std::string_view key, std::string_view what);

  std::optional<std::string> scalar(const Field& field);
  std::optional<std::string> word(const Field& field);
  std::optional<std::string> host(const Field& field);
  std::optional<std::string> listen_address(const Field& field);
  std::optional<std::string> domain(const Field& field);
  std::optional<std::size_t> choice(const Field& field, Names choices);
  std::optional<TlsMode> tls(const Field& field);
  std::optional<bool> boolean(const Field& field);
  std::optional<std::uint16_t> port(const Field& field);
  std::optional<std::uint64_t> count(const Field& field, std::uint64_t minimum, std::uint64_t maximum);
  std::optional<std::chrono::milliseconds> duration(const Field& field, bool zero_allowed);
  std::optional<std::uint64_t> size(const Field& field, std::uint64_t minimum);
  std::optional<std::string> path(const Field& field);
  std::optional<std::string> input_file(const Field& field);

  void read_listener(const Section& section, Config& config);
  void read_upstream(const Section& section, Config& config);
  void read_route(const Section& section, Config& config);
  void read_timeouts(const Section& section, Timeouts& timeouts);
  void read_limits(const Section& section, Limits& limits);
  void read_logging(const Section& section, Logging& logging);
  void read_tap(const Section& section, Tap& tap);
  void read_crm(const Section& section, Crm& crm);

  const std::filesystem::path& base_dir_;
  DiagnosticList& diagnostics_;
  // First occurrences, for "defined twice" reports.
  std::map<std::string, YAML::Mark> listener_endpoints_;
  std::map<std::string, YAML::Mark> upstream_names_;
  std::map<std::string, YAML::Mark> route_matches_;
  std::optional<YAML::Mark> default_route_;
};

std::optional<Section> Reader::section(const YAML::Node& node, std::string_view what, Names keys) {
  Section section{node.Mark(), {}};
  if (node.IsNull()) return section;
  if (!node.IsMap()) {
    error(node.Mark(), std::string(what) + " must be a map of 'key: value' lines",
          "allowed keys: " + join(keys));
    return std::nullopt;
  }
  for (const auto& pair : node) {
    const YAML::Node& key = pair.first;
    if (!key.IsScalar()) {
      error(key.Mark(), "a key in " + std::string(what) + " is not a plain name",
            "allowed keys: " + join(keys));
      continue;
    }
    const std::string& name = key.Scalar();
    if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
      error(key.Mark(), "unknown key " + in_quotes(name) + " in " + std::string(what),
            suggestion(name, keys) + "allowed keys: " + join(keys));
    } else if (const Field* first = section.find(name)) {
      error(key.Mark(), "key " + in_quotes(name) + " appears twice in " + std::string(what),
            "the first is on " + line_of(first->key.Mark()) + "; keep one");
    } else {
      section.fields.push_back({name, key, pair.second});
    }
  }
  return section;
}

std::optional<Section> Reader::subsection(const Section& top, std::string_view name, Names keys) {
  const Field* field = top.find(name);
  if (!field) return Section{top.mark, {}};
  return section(field->value, in_quotes(name), keys);
}

// The entries of a top-level list; reports a missing or empty list.
std::vector<YAML::Node> Reader::list(const Section& top, std::string_view name, std::string_view hint) {
  const Field* field = top.find(name);
  // A missing section has no place in the file to point at.
  const YAML::Mark at = field ? field->value_mark() : YAML::Mark::null_mark();
  if (field && !field->value.IsNull() && !field->value.IsSequence()) {
    error(at, in_quotes(name) + " must be a list of '- ' entries", std::string(hint));
    return {};
  }
  if (!field || field->value.size() == 0) {
    error(at, "no " + std::string(name), std::string(hint));
    return {};
  }
  std::vector<YAML::Node> entries;
  for (const YAML::Node& entry : field->value) {
    // An empty entry's own position is that of whatever follows it.
    if (entry.IsNull())
      error(at, "an empty entry in " + in_quotes(name), "remove the lone '-' or fill in the entry");
    else
      entries.push_back(entry);
  }
  return entries;
}

const Field* Reader::require(const Section& section, std::string_view key, std::string_view what) {
  const Field* field = section.find(key);
  if (!field)
    error(section.mark, std::string(what) + " has no " + in_quotes(key),
          "add '" + std::string(key) + ": ...' to it");
  return field;
}

std::optional<std::string> Reader::scalar(const Field& field) {
  if (field.value.IsNull()) {
    error(field.key.Mark(), in_quotes(field.name) + " has no value", "give it a value or remove the line");
    return std::nullopt;
  }
  if (!field.value.IsScalar()) {
    error(field.value.Mark(),
          in_quotes(field.name) + " must be a single value, not a " +
              (field.value.IsSequence() ? "list" : "map"),
          "write '" + field.name + ": VALUE' on one line");
    return std::nullopt;
  }
  return field.value.Scalar();
}

std::optional<std::string> Reader::word(const Field& field) {
  auto text = scalar(field);
  if (!text) return std::nullopt;
  const auto is_blank = [](unsigned char c) { return c <= ' ' || c == 0x7F; };
  std::string problem;
  if (text->empty()) problem = "is empty";
  else if (text->size() > kMaxNameLength) problem = "is longer than " + std::to_string(kMaxNameLength) + " characters";
  else if (std::any_of(text->begin(), text->end(), is_blank)) problem = "contains a space or control character";
  if (problem.empty()) return text;
  error(field.value_mark(), field.name + " " + in_quotes(*text) + " " + problem,
        "write a single word, e.g. " + field.name + ": example");
  return std::nullopt;
}

std::optional<std::string> Reader::host(const Field& field) {
  auto text = word(field);
  if (!text) return std::nullopt;
  std::string problem;
  if (!std::all_of(text->begin(), text->end(), is_host_char))
    problem = "is not a host name or IP address";
  else if (text->find(':') != std::string::npos && !canonical_ip(*text))
    problem = "is not a host name or IP address (a port goes in 'port')";
  if (problem.empty()) return text;
  error(field.value_mark(), field.name + " " + in_quotes(*text) + " " + problem,
        "write a name like mail.example.com or an address like 192.0.2.10 or 2001:db8::1");
  return std::nullopt;
}

std::optional<std::string> Reader::listen_address(const Field& field) {
  auto text = word(field);
  if (!text) return std::nullopt;
  if (canonical_ip(*text) || lower_ascii(*text) == "localhost") return text;
  error(field.value_mark(), "address " + in_quotes(*text) + " is not an IP address",
        "use 127.0.0.1, ::1 or localhost for this machine only, 0.0.0.0 or :: for every interface "
        "(IPv6 without brackets)");
  return std::nullopt;
}

std::optional<std::string> Reader::domain(const Field& field) {
  auto text = word(field);
  if (!text) return std::nullopt;
  if (text->find('@') != std::string::npos) {
    error(field.value_mark(), "domain " + in_quotes(*text) + " contains '@'",
          "write the domain alone, e.g. domain: acme.example, or use user: for one address");
    return std::nullopt;
  }
  if (!std::all_of(text->begin(), text->end(), is_host_char) || text->find(':') != std::string::npos) {
    error(field.value_mark(), "domain " + in_quotes(*text) + " is not a domain name",
          "write a domain like acme.example");
    return std::nullopt;
  }
  return lower_ascii(*text);
}

std::optional<std::size_t> Reader::choice(const Field& field, Names choices) {
  auto text = scalar(field);
  if (!text) return std::nullopt;
  for (std::size_t i = 0; i < choices.size(); ++i)
    if (*text == choices[i]) return i;
  error(field.value_mark(), "unknown " + field.name + " " + in_quotes(*text),
        suggestion(*text, choices) + "choices: " + join(choices));
  return std::nullopt;
}

std::optional<TlsMode> Reader::tls(const Field& field) {
  auto index = choice(field, kTlsModes);
  if (!index) return std::nullopt;
  return static_cast<TlsMode>(*index);
}

std::optional<bool> Reader::boolean(const Field& field) {
  auto text = scalar(field);
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  error(field.value_mark(), field.name + " " + in_quotes(*text) + " is not true or false",
        "write true or false");
  return std::nullopt;
}

std::optional<std::uint16_t> Reader::port(const Field& field) {
  auto number = count(field, 1, 65535);
  if (!number) return std::nullopt;
  return static_cast<std::uint16_t>(*number);
}

std::optional<std::uint64_t> Reader::count(const Field& field, std::uint64_t minimum,
                                           std::uint64_t maximum) {
  auto text = scalar(field);
  if (!text) return std::nullopt;
  const auto number = parse_count(*text);
  if (number && *number >= minimum && *number <= maximum) return number;
  error(field.value_mark(),
        field.name + " " + in_quotes(*text) + (number ? " is out of range" : " is not a whole number"),
        "write a number from " + std::to_string(minimum) + " to " + std::to_string(maximum));
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> Reader::duration(const Field& field, bool zero_allowed) {
  auto text = scalar(field);
  if (!text) return std::nullopt;
  auto parsed = parse_duration(*text);
  if (parsed.value && (zero_allowed || parsed.value->count() > 0)) return parsed.value;
  if (parsed.value) {
    parsed.problem = "must be longer than zero";
    parsed.hint = "write a duration like 60s";
  }
  error(field.value_mark(), field.name + " " + in_quotes(*text) + ": " + parsed.problem, parsed.hint);
  return std::nullopt;
}

std::optional<std::uint64_t> Reader::size(const Field& field, std::uint64_t minimum) {
  auto text = scalar(field);
  if (!text) return std::nullopt;
  auto parsed = parse_size(*text);
  if (parsed.value && *parsed.value >= minimum) return parsed.value;
  if (parsed.value) {
    parsed.problem = "must be at least " + format_size(minimum);
    parsed.hint = "a plain number means bytes; write e.g. 64KiB";
  }
  error(field.value_mark(), field.name + " " + in_quotes(*text) + ": " + parsed.problem, parsed.hint);
  return std::nullopt;
}

// Resolved against the config file's directory; "" means not set.
std::optional<std::string> Reader::path(const Field& field) {
  auto text = scalar(field);
  if (!text || text->empty()) return text;
  return (base_dir_ / *text).lexically_normal().string();
}

// A path the proxy will open for reading at startup: checked now, so a typo
// shows up in check-config rather than at the first TLS handshake.
std::optional<std::string> Reader::input_file(const Field& field) {
  auto resolved = path(field);
  if (!resolved || resolved->empty()) return resolved;
  std::error_code ignored;
  std::string reason;
  if (std::filesystem::is_directory(*resolved, ignored))
    reason = "it is a directory";
  else if (std::FILE* file = std::fopen(resolved->c_str(), "rb"))
    std::fclose(file);
  else
    reason = std::generic_category().message(errno);
  if (!reason.empty())
    error(field.value_mark(), "cannot read " + field.name + " " + in_quotes(*resolved) + ": " + reason,
          "relative paths start from " + base_dir_.string() +
              "; check the path and that the proxy's user may read the file");
  return resolved;
}

void Reader::read_listener(const Section& section, Config& config) {
  Listener& listener = config.listeners.emplace_back();
  if (const Field* field = section.find("protocol"))
    if (auto index = choice(*field, kProtocols)) listener.protocol = kProtocols[*index];
  if (const Field* field = require(section, "address", "a listener"))
    if (auto address = listen_address(*field)) listener.address = *address;
  const Field* port_field = require(section, "port", "a listener");
  if (port_field)
    if (auto number = port(*port_field)) listener.port = *number;
  const Field* tls_field = section.find("tls");
  if (tls_field)
    if (auto mode = tls(*tls_field)) listener.tls = *mode;
  if (const Field* field = section.find("cert"))
    if (auto file = input_file(*field)) listener.cert_file = *file;
  if (const Field* field = section.find("key"))
    if (auto file = input_file(*field)) listener.key_file = *file;
  if (listener.tls != TlsMode::none) {
    const std::string mode = std::string("tls: ") + to_string(listener.tls);
    const std::string hint = "add cert: and key: with the paths of the PEM files, or use tls: none";
    if (section.lacks("cert")) error(tls_field->value.Mark(), mode + " needs a certificate ('cert')", hint);
    if (section.lacks("key")) error(tls_field->value.Mark(), mode + " needs a private key ('key')", hint);
  }
  if (const Field* field = section.find("allow_plaintext_login")) {
    if (auto allowed = boolean(*field)) listener.allow_plaintext_login = *allowed;
  } else {
    // Passwords in the clear cannot be sniffed on loopback, only elsewhere.
    listener.allow_plaintext_login = is_loopback(listener.address);
  }

  if (listener.address.empty() || listener.port == 0) return;
  std::string host = canonical_ip(listener.address).value_or(lower_ascii(listener.address));
  if (host.find(':') != std::string::npos) host = '[' + host + ']';
  const std::string endpoint = host + ':' + std::to_string(listener.port);
  auto [first, inserted] = listener_endpoints_.try_emplace(endpoint, port_field->value.Mark());
  if (!inserted)
    error(port_field->value.Mark(), "a second listener on " + endpoint,
          "the first is on " + line_of(first->second) + "; give each listener its own address or port");
}

void Reader::read_upstream(const Section& section, Config& config) {
  Upstream& upstream = config.upstreams.emplace_back();
  if (const Field* field = require(section, "name", "an upstream")) {
    if (auto name = word(*field)) {
      upstream.name = *name;
      auto [first, inserted] = upstream_names_.try_emplace(*name, field->value.Mark());
      if (!inserted)
        error(field->value.Mark(), "a second upstream named " + in_quotes(*name),
              "the first is on " + line_of(first->second) + "; upstream names must be unique");
    }
  }
  if (const Field* field = require(section, "host", "an upstream"))
    if (auto name = host(*field)) upstream.host = *name;
  if (const Field* field = require(section, "port", "an upstream"))
    if (auto number = port(*field)) upstream.port = *number;
  if (const Field* field = section.find("tls"))
    if (auto mode = tls(*field)) upstream.tls = *mode;
  if (const Field* field = section.find("verify"))
    if (auto verify = boolean(*field)) upstream.verify = *verify;
  if (const Field* field = section.find("ca_file"))
    if (auto file = input_file(*field)) upstream.ca_file = *file;
  if (const Field* field = section.find("server_name"))
    if (auto name = host(*field)) upstream.server_name = *name;
  if (upstream.server_name.empty()) upstream.server_name = upstream.host;
}

void Reader::read_route(const Section& section, Config& config) {
  Route& route = config.routes.emplace_back();
  const Field* user = section.find("user");
  const Field* domain_field = section.find("domain");
  if (user && domain_field) {
    const Field* later = before(user->key.Mark(), domain_field->key.Mark()) ? domain_field : user;
    error(later->key.Mark(), "a route has both 'user' and 'domain'",
          "a route matches one user or one domain; split it into two routes");
  } else if (user) {
    route.kind = Route::Kind::user;
    if (auto name = word(*user)) route.match = lower_ascii(*name);
  } else if (domain_field) {
    route.kind = Route::Kind::domain;
    if (auto name = domain(*domain_field)) route.match = *name;
  } else if (default_route_) {
    error(section.mark, "a second default route (one without 'user' or 'domain')",
          "the first is on " + line_of(*default_route_) + "; keep one");
  } else {
    default_route_ = section.mark;
  }

  if (!route.match.empty()) {
    const Field* match_field = route.kind == Route::Kind::user ? user : domain_field;
    const std::string kind = route.kind == Route::Kind::user ? "user" : "domain";
    auto [first, inserted] = route_matches_.try_emplace(kind + ' ' + route.match, match_field->value.Mark());
    if (!inserted)
      error(match_field->value.Mark(), "a second route for " + kind + ' ' + in_quotes(route.match),
            "the first is on " + line_of(first->second) + "; matching ignores case");
  }

  const Field* field = require(section, "upstream", "a route");
  if (!field) return;
  auto name = word(*field);
  if (!name) return;
  route.upstream = *name;
  if (config.find_upstream(*name)) return;
  std::vector<std::string_view> known;
  for (const Upstream& upstream : config.upstreams)
    if (!upstream.name.empty()) known.push_back(upstream.name);
  error(field->value.Mark(), "unknown upstream " + in_quotes(*name),
        known.empty() ? "define it under 'upstreams:'"
                      : suggestion(*name, known) + "defined upstreams: " + join(known));
}

void Reader::read_timeouts(const Section& section, Timeouts& timeouts) {
  if (const Field* field = section.find("connect"))
    if (auto value = duration(*field, false)) timeouts.connect = *value;
  if (const Field* field = section.find("preauth"))
    if (auto value = duration(*field, false)) timeouts.preauth = *value;
  if (const Field* field = section.find("idle"))
    if (auto value = duration(*field, false)) timeouts.idle = *value;
  // Zero is meaningful here: stop at once without waiting for sessions.
  if (const Field* field = section.find("drain"))
    if (auto value = duration(*field, true)) timeouts.drain = *value;
}

void Reader::read_limits(const Section& section, Limits& limits) {
  if (const Field* field = section.find("preauth_line"))
    if (auto value = size(*field, kMinPreauthLine)) limits.preauth_line = *value;
  if (const Field* field = section.find("preauth_literal"))
    if (auto value = size(*field, 0)) limits.preauth_literal = *value;
  if (const Field* field = section.find("capture_max"))
    if (auto value = size(*field, 0)) limits.capture_max = *value;
  if (const Field* field = section.find("event_queue"))
    if (auto value = count(*field, 1, UINT32_MAX)) limits.event_queue = *value;
  if (const Field* field = section.find("event_queue_bytes"))
    if (auto value = size(*field, 1)) limits.event_queue_bytes = *value;
}

void Reader::read_logging(const Section& section, Logging& logging) {
  if (const Field* field = section.find("level"))
    if (auto index = choice(*field, kLogLevels)) logging.level = kLogLevels[*index];
  if (const Field* field = section.find("file"))
    if (auto file = path(*field)) logging.file = *file;
}

void Reader::read_tap(const Section& section, Tap& tap) {
  if (const Field* field = section.find("enabled"))
    if (auto enabled = boolean(*field)) tap.enabled = *enabled;
  if (const Field* field = section.find("event_log"))
    if (auto file = path(*field)) tap.event_log = *file;
}

void Reader::read_crm(const Section& section, Crm& crm) {
  if (const Field* field = section.find("path"))
    if (auto directory = path(*field); directory && !directory->empty()) crm.path = *directory;
  const Field* domains = section.find("org_domains");
  if (!domains || domains->value.IsNull()) return;
  if (!domains->value.IsSequence()) {
    error(domains->value_mark(), "'org_domains' must be a list of domains",
          "write e.g. org_domains: [corp.example, corp-mail.example]");
    return;
  }
  for (const YAML::Node& entry : domains->value) {
    if (auto domain_name = domain(Field{"org domain", domains->key, entry}))
      if (std::find(crm.org_domains.begin(), crm.org_domains.end(), *domain_name) == crm.org_domains.end())
        crm.org_domains.push_back(*domain_name);
  }
}

Config Reader::read(const YAML::Node& document) {
  Config config;
  auto top = section(document, "the config", kTopKeys);
  if (!top) return config;

  for (const YAML::Node& node :
       list(*top, "listeners", "add a listener, e.g. '- {address: 127.0.0.1, port: 1143}'"))
    if (auto listener = section(node, "a listener", kListenerKeys)) read_listener(*listener, config);
  for (const YAML::Node& node :
       list(*top, "upstreams",
            "add an upstream, e.g. '- {name: mail, host: mail.example.com, port: 993, tls: implicit}'"))
    if (auto upstream = section(node, "an upstream", kUpstreamKeys)) read_upstream(*upstream, config);
  for (const YAML::Node& node :
       list(*top, "routes", "every login would be refused; add '- upstream: NAME' as the default route"))
    if (auto route = section(node, "a route", kRouteKeys)) read_route(*route, config);

  if (auto found = subsection(*top, "timeouts", kTimeoutKeys)) read_timeouts(*found, config.timeouts);
  if (auto found = subsection(*top, "limits", kLimitKeys)) read_limits(*found, config.limits);
  if (auto found = subsection(*top, "logging", kLoggingKeys)) read_logging(*found, config.logging);
  if (auto found = subsection(*top, "tap", kTapKeys)) read_tap(*found, config.tap);
  config.crm.path = (base_dir_ / "crm").lexically_normal().string();
  if (auto found = subsection(*top, "crm", kCrmKeys)) read_crm(*found, config.crm);
  if (const Field* field = top->find("threads"))
    if (auto threads = count(*field, 0, kMaxThreads)) config.threads = static_cast<unsigned>(*threads);
  if (const Field* field = top->find("busy_poll_us"))
    if (auto micros = count(*field, 0, kMaxBusyPollMicros)) config.busy_poll_us = static_cast<unsigned>(*micros);
  return config;
}

}  // namespace

std::string lower_ascii(std::string_view text) {
  std::string result(text);
  std::transform(result.begin(), result.end(), result.begin(), lower_char);
  return result;
}

const char* to_string(TlsMode mode) { return kTlsModes[static_cast<std::size_t>(mode)].data(); }

Config read_config(const YAML::Node& document, const std::filesystem::path& base_dir,
                   DiagnosticList& diagnostics) {
  return Reader(base_dir, diagnostics).read(document);
}

}  // namespace lodestone::config
