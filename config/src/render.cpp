#include <yaml-cpp/emitter.h>
#include <yaml-cpp/emittermanip.h>

#include <lodestone/config.hpp>

#include "quantity.hpp"

namespace lodestone::config {
namespace {

// Whether check-config may print a value.  No field is secret today (key
// files are paths, not key material); a future password or token is written
// with Shown::masked so that the output can be pasted into a ticket.
enum class Shown { as_is, masked };

void put(YAML::Emitter& out, const char* key, const std::string& value, Shown shown = Shown::as_is) {
  out << YAML::Key << key << YAML::Value;
  if (shown == Shown::masked && !value.empty())
    out << "********";
  else
    out << value;
}

template <class Value>
void put(YAML::Emitter& out, const char* key, const Value& value) {
  out << YAML::Key << key << YAML::Value << value;
}

void put_listener(YAML::Emitter& out, const Listener& listener) {
  out << YAML::BeginMap;
  put(out, "protocol", listener.protocol);
  put(out, "address", listener.address);
  put(out, "port", listener.port);
  put(out, "tls", to_string(listener.tls));
  put(out, "cert", listener.cert_file);
  put(out, "key", listener.key_file);
  put(out, "allow_plaintext_login", listener.allow_plaintext_login);
  out << YAML::EndMap;
}

void put_upstream(YAML::Emitter& out, const Upstream& upstream) {
  out << YAML::BeginMap;
  put(out, "name", upstream.name);
  put(out, "host", upstream.host);
  put(out, "port", upstream.port);
  put(out, "tls", to_string(upstream.tls));
  put(out, "verify", upstream.verify);
  put(out, "ca_file", upstream.ca_file);
  put(out, "server_name", upstream.server_name);
  out << YAML::EndMap;
}

void put_route(YAML::Emitter& out, const Route& route) {
  out << YAML::BeginMap;
  if (route.kind == Route::Kind::user) put(out, "user", route.match);
  if (route.kind == Route::Kind::domain) put(out, "domain", route.match);
  put(out, "upstream", route.upstream);
  out << YAML::EndMap;
}

}  // namespace

std::string render_config(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;

  out << YAML::Key << "listeners" << YAML::Value << YAML::BeginSeq;
  for (const Listener& listener : config.listeners) put_listener(out, listener);
  out << YAML::EndSeq;
  out << YAML::Key << "upstreams" << YAML::Value << YAML::BeginSeq;
  for (const Upstream& upstream : config.upstreams) put_upstream(out, upstream);
  out << YAML::EndSeq;
  out << YAML::Key << "routes" << YAML::Value << YAML::BeginSeq;
  for (const Route& route : config.routes) put_route(out, route);
  out << YAML::EndSeq;

  out << YAML::Key << "timeouts" << YAML::Value << YAML::BeginMap;
  put(out, "connect", format_duration(config.timeouts.connect));
  put(out, "preauth", format_duration(config.timeouts.preauth));
  put(out, "idle", format_duration(config.timeouts.idle));
  put(out, "drain", format_duration(config.timeouts.drain));
  out << YAML::EndMap;

  out << YAML::Key << "limits" << YAML::Value << YAML::BeginMap;
  put(out, "preauth_line", format_size(config.limits.preauth_line));
  put(out, "preauth_literal", format_size(config.limits.preauth_literal));
  put(out, "capture_max", format_size(config.limits.capture_max));
  put(out, "event_queue", config.limits.event_queue);
  put(out, "event_queue_bytes", format_size(config.limits.event_queue_bytes));
  out << YAML::EndMap;

  out << YAML::Key << "logging" << YAML::Value << YAML::BeginMap;
  put(out, "level", config.logging.level);
  put(out, "file", config.logging.file);
  out << YAML::EndMap;

  out << YAML::Key << "tap" << YAML::Value << YAML::BeginMap;
  put(out, "enabled", config.tap.enabled);
  put(out, "event_log", config.tap.event_log);
  out << YAML::EndMap;

  out << YAML::Key << "crm" << YAML::Value << YAML::BeginMap;
  put(out, "path", config.crm.path);
  out << YAML::Key << "org_domains" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const std::string& domain : config.crm.org_domains) out << domain;
  out << YAML::EndSeq;
  out << YAML::EndMap;

  put(out, "threads", config.threads);
  put(out, "busy_poll_us", config.busy_poll_us);
  out << YAML::EndMap;
  return std::string(out.c_str()) + '\n';
}

}  // namespace lodestone::config
