#include <catch2/catch.hpp>

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <lodestone/config.hpp>

namespace fs = std::filesystem;
using namespace lodestone::config;
using namespace std::chrono_literals;
using Catch::Contains;
using Catch::StartsWith;

namespace {

const fs::path kSourceDir = LODESTONE_SOURCE_DIR;
const std::string kName = "/etc/lodestone/lodestone.yaml";

const std::string kMinimal = R"(listeners:
  - protocol: imap
    address: 127.0.0.1
    port: 1143
    tls: none
    allow_plaintext_login: true
upstreams:
  - name: dovecot
    host: 127.0.0.1
    port: 143
    tls: none
routes:
  - domain: acme.example      # or user: alice@acme.example
    upstream: dovecot
  - upstream: dovecot         # no match key: the default route
)";

// Building blocks with known line numbers: a listener (lines 1-3), an
// upstream (4 lines) and a default route (2 lines).
const std::string kListener = "listeners:\n  - address: 127.0.0.1\n    port: 1143\n";
const std::string kUpstream = "upstreams:\n  - name: dovecot\n    host: 127.0.0.1\n    port: 143\n";
const std::string kRoute = "routes:\n  - upstream: dovecot\n";

std::vector<Diagnostic> diagnose(const std::string& text, const std::string& name = kName) {
  try {
    parse_config(text, name);
  } catch (const ConfigError& error) {
    return error.diagnostics();
  }
  return {};
}

std::string describe(const std::vector<Diagnostic>& diagnostics) {
  std::string text;
  for (const Diagnostic& d : diagnostics)
    text += std::to_string(d.line) + ':' + std::to_string(d.column) + ' ' + d.message + " | " + d.hint + '\n';
  return text;
}

// The one diagnostic `text` gives; anything else fails the test.
Diagnostic only_diagnostic(const std::string& text) {
  const auto all = diagnose(text);
  INFO(describe(all));
  REQUIRE(all.size() == 1);
  CHECK(all.front().file == kName);
  CHECK_FALSE(all.front().hint.empty());
  return all.front();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh directory, removed with its contents at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "lodestone-config-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  // Creates the file (and its directories) and returns its full path.
  fs::path write(const std::string& relative, const std::string& content = "placeholder\n") const {
    const fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

 private:
  fs::path path_;
};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

}  // namespace

TEST_CASE("the minimal config loads with every default filled in") {
  const Config config = parse_config(kMinimal, kName);
  CHECK(config.source_path == kName);

  REQUIRE(config.listeners.size() == 1);
  const Listener& listener = config.listeners[0];
  CHECK(listener.protocol == "imap");
  CHECK(listener.address == "127.0.0.1");
  CHECK(listener.port == 1143);
  CHECK(listener.tls == TlsMode::none);
  CHECK(listener.cert_file.empty());
  CHECK(listener.key_file.empty());
  CHECK(listener.allow_plaintext_login);

  REQUIRE(config.upstreams.size() == 1);
  const Upstream& upstream = config.upstreams[0];
  CHECK(upstream.name == "dovecot");
  CHECK(upstream.host == "127.0.0.1");
  CHECK(upstream.port == 143);
  CHECK(upstream.tls == TlsMode::none);
  CHECK(upstream.verify);
  CHECK(upstream.ca_file.empty());
  CHECK(upstream.server_name == "127.0.0.1");

  REQUIRE(config.routes.size() == 2);
  CHECK(config.routes[0].kind == Route::Kind::domain);
  CHECK(config.routes[0].match == "acme.example");
  CHECK(config.routes[0].upstream == "dovecot");
  CHECK(config.routes[1].kind == Route::Kind::fallback);
  CHECK(config.routes[1].match.empty());

  CHECK(config.timeouts == Timeouts{});
  CHECK(config.timeouts.connect == 10s);
  CHECK(config.timeouts.preauth == 60s);
  CHECK(config.timeouts.idle == 31min);
  CHECK(config.timeouts.drain == 30s);
  CHECK(config.limits == Limits{});
  CHECK(config.limits.preauth_line == 64 * 1024);
  CHECK(config.limits.capture_max == 50 * 1024 * 1024);
  CHECK(config.logging.level == "info");
  CHECK(config.logging.file.empty());
  CHECK(config.tap.enabled);
  CHECK(config.tap.event_log.empty());
  CHECK(config.threads == 0);
  CHECK(config.busy_poll_us == 50);
}

TEST_CASE("allow_plaintext_login defaults to true on loopback addresses only") {
  const auto allowed_on = [](const std::string& address) {
    const Config config =
        parse_config("listeners:\n  - address: " + address + "\n    port: 1143\n" + kUpstream + kRoute, kName);
    return config.listeners.at(0).allow_plaintext_login;
  };
  CHECK(allowed_on("127.0.0.1"));
  CHECK(allowed_on("127.8.9.10"));
  CHECK(allowed_on("\"::1\""));
  CHECK(allowed_on("localhost"));
  CHECK(allowed_on("\"::ffff:127.0.0.1\""));
  CHECK_FALSE(allowed_on("0.0.0.0"));
  CHECK_FALSE(allowed_on("\"::\""));
  CHECK_FALSE(allowed_on("192.0.2.7"));
  CHECK_FALSE(allowed_on("\"2001:db8::1\""));
}

TEST_CASE("route_user prefers the user, then the domain, then the default route") {
  const Config config = parse_config(R"(listeners:
  - {address: 127.0.0.1, port: 1143}
upstreams:
  - {name: personal, host: a.example, port: 143}
  - {name: company, host: b.example, port: 143}
  - {name: elsewhere, host: c.example, port: 143}
routes:
  - {domain: ACME.example, upstream: company}
  - {user: Alice@Acme.Example, upstream: personal}
  - {upstream: elsewhere}
)",
                                     kName);
  const auto routed = [&](const std::string& user) {
    const Upstream* upstream = config.route_user(user);
    return upstream ? upstream->name : std::string("(none)");
  };
  CHECK(config.routes[0].match == "acme.example");
  CHECK(config.routes[1].match == "alice@acme.example");
  CHECK(routed("alice@acme.example") == "personal");
  CHECK(routed("ALICE@acme.EXAMPLE") == "personal");
  CHECK(routed("bob@acme.example") == "company");
  CHECK(routed("bob@Acme.Example") == "company");
  CHECK(routed("odd@name@acme.example") == "company");  // the domain follows the last '@'
  CHECK(routed("carol@other.example") == "elsewhere");
  CHECK(routed("acme.example") == "elsewhere");  // no '@': no domain to match
  CHECK(routed("bob@sub.acme.example") == "elsewhere");
  CHECK(config.find_upstream("company") == &config.upstreams[1]);
  CHECK(config.find_upstream("Company") == nullptr);

  const Config without_default = parse_config(
      kListener + kUpstream + "routes:\n  - {domain: acme.example, upstream: dovecot}\n", kName);
  CHECK(without_default.route_user("bob@acme.example") == &without_default.upstreams[0]);
  CHECK(without_default.route_user("bob@other.example") == nullptr);
}

TEST_CASE("durations and sizes") {
  const auto timeouts = [](const std::string& idle) {
    return parse_config(kListener + kUpstream + kRoute + "timeouts:\n  idle: " + idle + "\n", kName).timeouts.idle;
  };
  CHECK(timeouts("500ms") == 500ms);
  CHECK(timeouts("60s") == 60s);
  CHECK(timeouts("31m") == 31min);
  CHECK(timeouts("2h") == 2h);
  CHECK(timeouts("45") == 45s);
  CHECK(timeouts("168h") == 168h);

  const auto capture = [](const std::string& size) {
    return parse_config(kListener + kUpstream + kRoute + "limits:\n  capture_max: " + size + "\n", kName)
        .limits.capture_max;
  };
  CHECK(capture("64KiB") == 64 * 1024);
  CHECK(capture("50MiB") == 50 * 1024 * 1024);
  CHECK(capture("1GiB") == 1024 * 1024 * 1024);
  CHECK(capture("1000") == 1000);
  CHECK(capture("0") == 0);

  const auto idle_error = [](const std::string& idle) {
    return only_diagnostic(kListener + kUpstream + kRoute + "timeouts:\n  idle: " + idle + "\n");
  };
  for (const std::string bad : {"5min", "1.5h", "-1s", "60 s", "s", "0", "169h", "99999999999999999999h"}) {
    INFO(bad);
    const Diagnostic diagnostic = idle_error(bad);
    CHECK(diagnostic.line == 11);
    CHECK(diagnostic.column == 9);
    CHECK_THAT(diagnostic.message, StartsWith("idle '" + bad + "'"));
  }
  CHECK_THAT(idle_error("5min").hint, Contains("500ms, 60s, 31m, 2h"));
  CHECK(idle_error("99999999999999999999h").message == "idle '99999999999999999999h': duration too long");

  const auto size_error = [](const std::string& key, const std::string& size) {
    return only_diagnostic(kListener + kUpstream + kRoute + "limits:\n  " + key + ": " + size + "\n");
  };
  for (const std::string bad : {"10KB", "10K", "10kib", "1.5MiB", "-1", "MiB"}) {
    INFO(bad);
    const Diagnostic diagnostic = size_error("capture_max", bad);
    CHECK(diagnostic.line == 11);
    CHECK(diagnostic.column == 16);
    CHECK_THAT(diagnostic.hint, Contains("KiB, MiB or GiB"));
  }
  const Diagnostic too_small = size_error("preauth_line", "64");
  CHECK(too_small.column == 17);
  CHECK_THAT(too_small.message, Contains("at least 1KiB"));
  CHECK_THAT(size_error("event_queue", "10KiB").message, Contains("not a whole number"));
  CHECK(size_error("capture_max", "99999999999999999999").message ==
        "capture_max '99999999999999999999': size too large");
  CHECK(size_error("capture_max", "1025GiB").hint == "the largest accepted size is 1024GiB");
}

TEST_CASE("relative paths are resolved against the config file's directory") {
  TempDir dir;
  const fs::path cert = dir.write("certs/server.pem");
  const fs::path key = dir.write("etc/tls/server.key");
  const fs::path ca = dir.write("etc/ca.pem");
  const std::string text = R"(listeners:
  - address: 127.0.0.1
    port: 1993
    tls: implicit
    cert: ../certs/server.pem
    key: tls/./server.key
upstreams:
  - {name: mail, host: mail.example, port: 993, tls: implicit, ca_file: ca.pem}
routes:
  - upstream: mail
logging:
  file: logs/lodestone.log
tap:
  event_log: /var/log/lodestone/events.jsonl
)";
  const Config config = parse_config(text, (dir.path() / "etc/lodestone.yaml").string());
  CHECK(config.listeners[0].cert_file == cert.string());
  CHECK(config.listeners[0].key_file == key.string());
  CHECK(config.upstreams[0].ca_file == ca.string());
  CHECK(config.logging.file == (dir.path() / "etc/logs/lodestone.log").string());
  CHECK(config.tap.event_log == "/var/log/lodestone/events.jsonl");

  // load_config resolves against the file's own directory too.
  dir.write("etc/lodestone.yaml", text);
  CHECK(load_config((dir.path() / "etc/lodestone.yaml").string()) == config);
}

TEST_CASE("the crm section: store path next to the config by default, org domains lower-cased") {
  const Config defaults = parse_config(kMinimal, kName);
  CHECK(defaults.crm.path == "/etc/lodestone/crm");
  CHECK(defaults.crm.org_domains.empty());
  const Config set = parse_config(kMinimal + "crm:\n  path: /var/lib/lodestone/crm\n  org_domains: [Corp.Example, corp.example, b.example]\n", kName);
  CHECK(set.crm.path == "/var/lib/lodestone/crm");
  CHECK(set.crm.org_domains == std::vector<std::string>{"corp.example", "b.example"});
  const Config relative = parse_config(kMinimal + "crm: {path: data/crm}\n", kName);
  CHECK(relative.crm.path == "/etc/lodestone/data/crm");

  const auto bad = diagnose(kMinimal + "crm:\n  org_domains: [alice@corp.example]\n  patth: x\n");
  INFO(describe(bad));
  REQUIRE(bad.size() == 2);
  CHECK(bad[0].line == 17);
  CHECK_THAT(bad[0].message, Contains("contains '@'"));
  CHECK(bad[1].line == 18);
  CHECK_THAT(bad[1].message, Contains("patth"));
  const auto scalar = diagnose(kMinimal + "crm:\n  org_domains: corp.example\n");
  REQUIRE(scalar.size() == 1);
  CHECK_THAT(scalar[0].message, Contains("must be a list"));
}

TEST_CASE("render_config writes the effective config, which parses back to the same") {
  TempDir dir;
  dir.write("server.pem");
  dir.write("server.key");
  dir.write("ca.pem");
  const std::string name = (dir.path() / "lodestone.yaml").string();

  SECTION("minimal") {
    const Config config = parse_config(kMinimal, kName);
    const std::string rendered = render_config(config);
    CHECK_THAT(rendered, Contains("preauth: 60s"));
    CHECK_THAT(rendered, Contains("idle: 31m"));
    CHECK_THAT(rendered, Contains("capture_max: 50MiB"));
    CHECK_THAT(rendered, Contains("preauth_line: 64KiB"));
    CHECK_THAT(rendered, Contains("event_queue_bytes: 256MiB"));
    CHECK_THAT(rendered, Contains("server_name: 127.0.0.1"));
    CHECK(parse_config(rendered, kName) == config);
  }
  SECTION("everything set") {
    const Config config = parse_config(R"(listeners:
  - {address: "::1", port: 143, tls: starttls, cert: server.pem, key: server.key, allow_plaintext_login: false}
  - {address: 0.0.0.0, port: 993, tls: implicit, cert: server.pem, key: server.key}
upstreams:
  - {name: "#main", host: mail.example.com, port: 993, tls: implicit, verify: false, ca_file: ca.pem,
     server_name: imap.example.com}
  - {name: old, host: "2001:db8::5", port: 143, tls: starttls}
routes:
  - {user: "#ceo@example.com", upstream: old}
  - {domain: example.com, upstream: "#main"}
  - {upstream: old}
timeouts: {connect: 1500ms, preauth: 1h, idle: 2h, drain: 0}
limits: {preauth_line: 1025, preauth_literal: 0, capture_max: 1GiB, event_queue: 7, event_queue_bytes: 3MiB}
logging: {level: debug, file: "log file.txt"}
tap: {enabled: false, event_log: events.jsonl}
crm: {path: store, org_domains: [Corp.Example, corp-mail.example]}
threads: 4
busy_poll_us: 0
)",
                                       name);
    const std::string rendered = render_config(config);
    INFO(rendered);
    CHECK_THAT(rendered, Contains("connect: 1500ms"));
    CHECK_THAT(rendered, Contains("preauth: 60m"));
    CHECK_THAT(rendered, Contains("idle: 2h"));
    CHECK_THAT(rendered, Contains("drain: 0s"));
    CHECK_THAT(rendered, Contains("preauth_line: 1025\n"));
    CHECK_THAT(rendered, Contains("capture_max: 1GiB"));
    // Key files are paths, not secrets: shown as they are.
    CHECK_THAT(rendered, Contains("key: " + (dir.path() / "server.key").string()));
    CHECK(parse_config(rendered, name) == config);
  }
}

TEST_CASE("demo.yaml: the demo's listeners, upstream and paths") {
  const fs::path demo = kSourceDir / "config/demo.yaml";

  // In a fresh clone .demo/ does not exist yet: only its files may be missing.
  try {
    load_config(demo.string());
  } catch (const ConfigError& error) {
    for (const Diagnostic& diagnostic : error.diagnostics()) {
      INFO(diagnostic.message);
      CHECK_THAT(diagnostic.message, StartsWith("cannot read"));
      CHECK_THAT(diagnostic.message, Contains((kSourceDir / ".demo").string()));
    }
  }

  // With the files the demo script creates, relative to a copy of the repo.
  TempDir repo;
  repo.write(".demo/certs/server.pem");
  repo.write(".demo/certs/server.key");
  repo.write(".demo/peers/tls/cert.pem");
  const fs::path copy = repo.write("config/demo.yaml", read_file(demo));
  const Config config = load_config(copy.string());
  REQUIRE(config.listeners.size() == 2);
  CHECK(config.listeners[0].address == "127.0.0.1");
  CHECK(config.listeners[0].port == 1143);
  CHECK(config.listeners[0].tls == TlsMode::starttls);
  CHECK(config.listeners[0].allow_plaintext_login);
  CHECK(config.listeners[0].cert_file == (repo.path() / ".demo/certs/server.pem").string());
  CHECK(config.listeners[0].key_file == (repo.path() / ".demo/certs/server.key").string());
  CHECK(config.listeners[1].port == 1993);
  CHECK(config.listeners[1].tls == TlsMode::implicit);
  REQUIRE(config.upstreams.size() == 1);
  const Upstream& dovecot = config.upstreams[0];
  CHECK(dovecot.name == "dovecot");
  CHECK(dovecot.host == "127.0.0.1");
  CHECK(dovecot.port == 30993);
  CHECK(dovecot.tls == TlsMode::implicit);
  CHECK(dovecot.verify);
  CHECK(dovecot.ca_file == (repo.path() / ".demo/peers/tls/cert.pem").string());
  CHECK(dovecot.server_name == "localhost");
  CHECK(config.route_user("anyone@anywhere.example") == &dovecot);
  CHECK(config.logging.level == "info");
  CHECK(config.tap.event_log == (repo.path() / ".demo/tap-events.jsonl").string());
}

TEST_CASE("lodestone.yaml: valid apart from the certificates under /etc, and shows the defaults") {
  const fs::path example = kSourceDir / "config/lodestone.yaml";
  try {
    load_config(example.string());
  } catch (const ConfigError& error) {
    for (const Diagnostic& diagnostic : error.diagnostics()) {
      INFO(diagnostic.message);
      CHECK_THAT(diagnostic.message, StartsWith("cannot read"));
      CHECK_THAT(diagnostic.message, Contains("/etc/lodestone/server."));
    }
  }

  TempDir dir;
  dir.write("server.pem");
  dir.write("server.key");
  const std::string text = replace_all(read_file(example), "/etc/lodestone/", dir.path().string() + "/");
  const Config config = parse_config(text, (dir.path() / "lodestone.yaml").string());
  CHECK(config.listeners.size() == 2);
  CHECK(config.upstreams.size() == 1);
  CHECK(config.routes.size() == 3);
  CHECK(config.upstreams[0].tls == TlsMode::implicit);
  CHECK(config.upstreams[0].verify);
  // The comments claim these are the defaults; keep them honest.
  CHECK(config.timeouts == Timeouts{});
  CHECK(config.limits == Limits{});
  CHECK(config.logging == Logging{});
  CHECK(config.tap == Tap{});
  CHECK(config.threads == 0);
  CHECK(config.busy_poll_us == Config{}.busy_poll_us);
}

TEST_CASE("diagnostics: YAML syntax errors") {
  const Diagnostic bad_indent = only_diagnostic("listeners:\n  - address: 127.0.0.1\n    port: 1143\n   tls: none\n");
  CHECK_THAT(bad_indent.message, StartsWith("YAML syntax error"));
  CHECK(bad_indent.line == 4);
  CHECK(bad_indent.column == 4);

  const Diagnostic unclosed = only_diagnostic("listeners: [{address: 127.0.0.1, port: 1143}\nupstreams: []\n");
  CHECK_THAT(unclosed.message, StartsWith("YAML syntax error"));
  CHECK(unclosed.line == 2);
  CHECK(unclosed.column == 1);

  const Diagnostic second_document = only_diagnostic(kListener + kUpstream + kRoute + "---\nthreads: 2\n");
  CHECK(second_document.message == "more than one YAML document");
  CHECK(second_document.line == 10);
  CHECK(second_document.column == 1);
}

TEST_CASE("diagnostics: unknown keys, with the allowed keys and a likely match") {
  const Diagnostic top = only_diagnostic(kListener + kUpstream + kRoute + "timeout:\n  idle: 5m\n");
  CHECK(top.message == "unknown key 'timeout' in the config");
  CHECK(top.line == 10);
  CHECK(top.column == 1);
  CHECK_THAT(top.hint, StartsWith("did you mean 'timeouts'? allowed keys: listeners, upstreams, routes"));

  const auto all = diagnose("listeners:\n  - adress: 127.0.0.1\n    port: 1143\n" + kUpstream + kRoute);
  INFO(describe(all));
  REQUIRE(all.size() == 2);
  CHECK(all[0].message == "unknown key 'adress' in a listener");
  CHECK(all[0].line == 2);
  CHECK(all[0].column == 5);
  CHECK(all[0].hint ==
        "did you mean 'address'? allowed keys: protocol, address, port, tls, cert, key, allow_plaintext_login");
  CHECK(all[1].message == "a listener has no 'address'");
  CHECK(all[1].line == 2);
  CHECK(all[1].column == 5);

  const Diagnostic nothing_close = only_diagnostic(kListener + "    colour: blue\n" + kUpstream + kRoute);
  CHECK(nothing_close.line == 4);
  CHECK(nothing_close.column == 5);
  CHECK_THAT(nothing_close.hint, StartsWith("allowed keys: "));

  const Diagnostic twice = only_diagnostic(kListener + "    port: 1144\n" + kUpstream + kRoute);
  CHECK(twice.message == "key 'port' appears twice in a listener");
  CHECK(twice.line == 4);
  CHECK(twice.column == 5);
  CHECK_THAT(twice.hint, Contains("line 3"));
}

TEST_CASE("diagnostics: wrong types and values") {
  const auto listener_error = [](const std::string& line) {
    return only_diagnostic("listeners:\n  - address: 127.0.0.1\n" + line + "\n" + kUpstream + kRoute);
  };
  const Diagnostic not_number = listener_error("    port: abc");
  CHECK(not_number.message == "port 'abc' is not a whole number");
  CHECK(not_number.hint == "write a number from 1 to 65535");
  CHECK(not_number.line == 3);
  CHECK(not_number.column == 11);

  const Diagnostic out_of_range = listener_error("    port: 65536");
  CHECK(out_of_range.message == "port '65536' is out of range");
  CHECK(out_of_range.column == 11);
  CHECK(listener_error("    port: 0").message == "port '0' is out of range");
  CHECK(listener_error("    port: -1").message == "port '-1' is not a whole number");

  const Diagnostic empty_value = listener_error("    port:");
  CHECK(empty_value.message == "'port' has no value");
  CHECK(empty_value.line == 3);
  CHECK(empty_value.column == 5);

  const Diagnostic list_value = listener_error("    port: [1143]");
  CHECK(list_value.message == "'port' must be a single value, not a list");
  CHECK(list_value.column == 11);

  const Diagnostic not_bool =
      only_diagnostic(kListener + "    allow_plaintext_login: yes\n" + kUpstream + kRoute);
  CHECK(not_bool.message == "allow_plaintext_login 'yes' is not true or false");
  CHECK(not_bool.line == 4);
  CHECK(not_bool.column == 28);

  const Diagnostic bad_address = only_diagnostic("listeners:\n  - {address: \"[::1]\", port: 1143}\n" + kUpstream + kRoute);
  CHECK(bad_address.message == "address '[::1]' is not an IP address");
  CHECK(bad_address.line == 2);
  CHECK(bad_address.column == 15);

  const Diagnostic host_with_port = only_diagnostic(
      kListener + "upstreams:\n  - name: dovecot\n    host: mail.example.com:993\n    port: 993\n" + kRoute);
  CHECK_THAT(host_with_port.message, Contains("a port goes in 'port'"));
  CHECK(host_with_port.line == 6);
  CHECK(host_with_port.column == 11);

  const Diagnostic section_not_map = only_diagnostic(kListener + kUpstream + kRoute + "tap: true\n");
  CHECK(section_not_map.message == "'tap' must be a map of 'key: value' lines");
  CHECK(section_not_map.line == 10);
  CHECK(section_not_map.column == 6);

  const Diagnostic list_not_list = only_diagnostic(kListener + kUpstream + "routes: dovecot\n");
  CHECK(list_not_list.message == "'routes' must be a list of '- ' entries");
  CHECK(list_not_list.line == 8);
  CHECK(list_not_list.column == 9);

  const Diagnostic threads = only_diagnostic(kListener + kUpstream + kRoute + "threads: -2\n");
  CHECK(threads.message == "threads '-2' is not a whole number");
  CHECK(threads.line == 10);
  CHECK(threads.column == 10);

  const Diagnostic level = only_diagnostic(kListener + kUpstream + kRoute + "logging:\n  level: verbose\n");
  CHECK(level.message == "unknown level 'verbose'");
  CHECK(level.hint == "choices: trace, debug, info, warn, error, off");
  CHECK(level.line == 11);
  CHECK(level.column == 10);

  const Diagnostic protocol = only_diagnostic(kListener + "    protocol: smtp\n" + kUpstream + kRoute);
  CHECK(protocol.message == "unknown protocol 'smtp'");
  CHECK(protocol.hint == "choices: imap");
  CHECK(protocol.line == 4);
  CHECK(protocol.column == 15);
}

TEST_CASE("diagnostics: bad tls modes, missing certificates, unreadable files") {
  const Diagnostic tls = only_diagnostic(kListener + "    tls: implict\n" + kUpstream + kRoute);
  CHECK(tls.message == "unknown tls 'implict'");
  CHECK(tls.hint == "did you mean 'implicit'? choices: none, implicit, starttls");
  CHECK(tls.line == 4);
  CHECK(tls.column == 10);

  const auto missing = diagnose(kListener + "    tls: starttls\n" + kUpstream + kRoute);
  INFO(describe(missing));
  REQUIRE(missing.size() == 2);
  CHECK(missing[0].message == "tls: starttls needs a certificate ('cert')");
  CHECK(missing[1].message == "tls: starttls needs a private key ('key')");
  for (const Diagnostic& diagnostic : missing) {
    CHECK(diagnostic.line == 4);
    CHECK(diagnostic.column == 10);
  }

  TempDir dir;
  dir.write("server.key");
  fs::create_directories(dir.path() / "ca.d");
  const std::string name = (dir.path() / "lodestone.yaml").string();
  const auto unreadable = diagnose(kListener +
                                       "    tls: implicit\n"
                                       "    cert: certs/missing.pem\n"
                                       "    key: server.key\n" +
                                       kUpstream + "    ca_file: ca.d\n" + kRoute,
                                   name);
  INFO(describe(unreadable));
  REQUIRE(unreadable.size() == 2);
  CHECK(unreadable[0].message == "cannot read cert '" + (dir.path() / "certs/missing.pem").string() +
                                     "': No such file or directory");
  CHECK(unreadable[0].line == 5);
  CHECK(unreadable[0].column == 11);
  CHECK_THAT(unreadable[0].hint, Contains("relative paths start from " + dir.path().string()));
  CHECK(unreadable[1].message == "cannot read ca_file '" + (dir.path() / "ca.d").string() + "': it is a directory");
  CHECK(unreadable[1].line == 11);
  CHECK(unreadable[1].column == 14);
}

TEST_CASE("diagnostics: missing sections and required keys") {
  const auto empty = diagnose("");
  INFO(describe(empty));
  REQUIRE(empty.size() == 3);
  CHECK(empty[0].message == "no listeners");
  CHECK(empty[1].message == "no upstreams");
  CHECK(empty[2].message == "no routes");
  CHECK(empty[0].line == 0);

  const auto comments_only = diagnose("# nothing yet\n");
  REQUIRE_FALSE(comments_only.empty());
  CHECK(comments_only[0].message == "no listeners");

  const Diagnostic no_listeners = only_diagnostic(kUpstream + kRoute);
  CHECK(no_listeners.message == "no listeners");
  CHECK(no_listeners.line == 0);  // nowhere in the file to point at
  CHECK(no_listeners.column == 0);

  const Diagnostic empty_list = only_diagnostic("listeners: []\n" + kUpstream + kRoute);
  CHECK(empty_list.message == "no listeners");
  CHECK(empty_list.line == 1);
  CHECK(empty_list.column == 12);

  const auto no_upstreams = diagnose(kListener + "upstreams:\n" + kRoute);
  REQUIRE(no_upstreams.size() == 2);
  CHECK(no_upstreams[0].message == "no upstreams");
  CHECK(no_upstreams[0].line == 4);
  CHECK(no_upstreams[0].column == 1);
  CHECK(no_upstreams[1].message == "unknown upstream 'dovecot'");
  CHECK(no_upstreams[1].hint == "define it under 'upstreams:'");

  const Diagnostic no_host = only_diagnostic(kListener + "upstreams:\n  - name: dovecot\n    port: 143\n" + kRoute);
  CHECK(no_host.message == "an upstream has no 'host'");
  CHECK(no_host.line == 5);
  CHECK(no_host.column == 5);

  const Diagnostic not_a_map = only_diagnostic("- listeners\n");
  CHECK(not_a_map.message == "the config must be a map of 'key: value' lines");
  CHECK(not_a_map.line == 1);
  CHECK(not_a_map.column == 1);
}

TEST_CASE("diagnostics: names that clash or do not exist") {
  const Diagnostic duplicate_upstream =
      only_diagnostic(kListener + kUpstream + "  - {name: dovecot, host: 127.0.0.2, port: 143}\n" + kRoute);
  CHECK(duplicate_upstream.message == "a second upstream named 'dovecot'");
  CHECK(duplicate_upstream.hint == "the first is on line 5; upstream names must be unique");
  CHECK(duplicate_upstream.line == 8);
  CHECK(duplicate_upstream.column == 12);

  const Diagnostic duplicate_listener =
      only_diagnostic("listeners:\n  - {address: \"::1\", port: 1143}\n  - {address: \"0::1\", port: 1143}\n" +
                      kUpstream + kRoute);
  CHECK(duplicate_listener.message == "a second listener on [::1]:1143");
  CHECK(duplicate_listener.line == 3);
  CHECK(duplicate_listener.column == 29);
  CHECK_THAT(duplicate_listener.hint, StartsWith("the first is on line 2"));

  const Diagnostic unknown_upstream = only_diagnostic(kListener + kUpstream + "routes:\n  - upstream: dovecoat\n");
  CHECK(unknown_upstream.message == "unknown upstream 'dovecoat'");
  CHECK(unknown_upstream.hint == "did you mean 'dovecot'? defined upstreams: dovecot");
  CHECK(unknown_upstream.line == 9);
  CHECK(unknown_upstream.column == 15);

  const Diagnostic two_defaults =
      only_diagnostic(kListener + kUpstream + kRoute + "  - {domain: acme.example, upstream: dovecot}\n" +
                      "  - upstream: dovecot\n");
  CHECK(two_defaults.message == "a second default route (one without 'user' or 'domain')");
  CHECK(two_defaults.hint == "the first is on line 9; keep one");
  CHECK(two_defaults.line == 11);
  CHECK(two_defaults.column == 5);

  const Diagnostic user_and_domain = only_diagnostic(
      kListener + kUpstream + "routes:\n  - user: alice@acme.example\n    domain: acme.example\n    upstream: dovecot\n");
  CHECK(user_and_domain.message == "a route has both 'user' and 'domain'");
  CHECK(user_and_domain.line == 10);
  CHECK(user_and_domain.column == 5);

  const Diagnostic same_domain = only_diagnostic(kListener + kUpstream +
                                                 "routes:\n  - {domain: acme.example, upstream: dovecot}\n"
                                                 "  - {domain: ACME.example, upstream: dovecot}\n");
  CHECK(same_domain.message == "a second route for domain 'acme.example'");
  CHECK(same_domain.line == 10);
  CHECK(same_domain.column == 14);

  const Diagnostic at_in_domain =
      only_diagnostic(kListener + kUpstream + "routes:\n  - {domain: \"@acme.example\", upstream: dovecot}\n");
  CHECK(at_in_domain.message == "domain '@acme.example' contains '@'");
  CHECK(at_in_domain.column == 14);
}

TEST_CASE("diagnostics: every problem is reported at once, in file order") {
  const std::string text = R"(listeners:
  - address: 127.0.0.1
    port: 99999
    tls: implicit
upstreams:
  - name: dovecot
    host: 127.0.0.1
    port: 143
    verify: maybe
routes:
  - upstream: nowhere
timeouts:
  idle: soon
)";
  try {
    parse_config(text, "lodestone.yaml");
    FAIL("expected a ConfigError");
  } catch (const ConfigError& error) {
    const auto& all = error.diagnostics();
    INFO(describe(all));
    REQUIRE(all.size() == 6);
    CHECK(all[0].line == 3);  // port
    CHECK(all[1].line == 4);  // cert
    CHECK(all[2].line == 4);  // key
    CHECK(all[3].line == 9);  // verify
    CHECK(all[4].line == 11);  // upstream
    CHECK(all[5].line == 13);  // idle
    const std::string what = error.what();
    CHECK_THAT(what, StartsWith("lodestone.yaml:3:11: error: port '99999' is out of range\n"
                                "  hint: write a number from 1 to 65535\n"
                                "lodestone.yaml:4:10: error: tls: implicit needs a certificate ('cert')\n"));
    CHECK_THAT(what, Contains("lodestone.yaml:13:9: error: idle 'soon': not a duration\n"));
    CHECK(what.back() == '\n');
  }
}

TEST_CASE("a missing config file names the path and the reason") {
  TempDir dir;
  const std::string path = (dir.path() / "absent.yaml").string();
  try {
    load_config(path);
    FAIL("expected a ConfigError");
  } catch (const ConfigError& error) {
    REQUIRE(error.diagnostics().size() == 1);
    const Diagnostic& diagnostic = error.diagnostics()[0];
    CHECK(diagnostic.file == path);
    CHECK(diagnostic.line == 0);
    CHECK(diagnostic.message == "cannot read config file '" + path + "': No such file or directory");
    CHECK_THAT(std::string(error.what()), StartsWith(path + ": error: cannot read config file"));
  }
  CHECK_THROWS_AS(load_config(dir.path().string()), ConfigError);  // a directory
}

TEST_CASE("hostile inputs give a ConfigError, not a crash or a hang") {
  const fs::path corpus = kSourceDir / "tests/corpus/config";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(corpus)) files.push_back(entry.path());
  REQUIRE(files.size() >= 10);
  for (const fs::path& file : files) {
    INFO(file.filename().string());
    const auto started = std::chrono::steady_clock::now();
    try {
      load_config(file.string());
      FAIL("expected a ConfigError");
    } catch (const ConfigError& error) {
      CHECK_FALSE(error.diagnostics().empty());
      CHECK(error.diagnostics().size() <= 51);
      CHECK(std::string(error.what()).size() < 16 * 1024);  // no 1 MiB scalar echoed back
    }
    CHECK(std::chrono::steady_clock::now() - started < 5s);
  }
}

TEST_CASE("hostile inputs: the specific diagnostics") {
  const auto first_of = [](const std::string& file) {
    try {
      load_config((kSourceDir / "tests/corpus/config" / file).string());
    } catch (const ConfigError& error) {
      return error.diagnostics().front();
    }
    FAIL("expected a ConfigError");
    return Diagnostic{};
  };
  const Diagnostic deep = first_of("deep-flow-sequence.yaml");
  CHECK(deep.message == "nesting deeper than 64 levels");
  // yaml-cpp reads each unclosed '[' as a sequence that may be a map key:
  // two levels per bracket, so the 33rd is one too many.
  CHECK(deep.line == 1);
  CHECK(deep.column == 33);
  CHECK(first_of("deep-block-map.yaml").message == "nesting deeper than 64 levels");
  const Diagnostic nul = first_of("nul-bytes.yaml");
  CHECK(nul.message == "control character 0x00 in config text");
  CHECK(nul.line == 3);
  CHECK(nul.column == 13);
  const Diagnostic utf8 = first_of("invalid-utf8.yaml");
  CHECK(utf8.message == "invalid UTF-8 byte 0xC3");
  CHECK(utf8.line == 4);
  CHECK(utf8.column == 11);
  const Diagnostic huge = first_of("huge-scalar.yaml");
  CHECK_THAT(huge.message, Contains("is longer than 253 characters"));
  CHECK(huge.message.size() < 300);
  const Diagnostic many = first_of("many-errors.yaml");
  CHECK(many.message == "a listener must be a map of 'key: value' lines");
}
