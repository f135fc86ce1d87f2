#include <lodestone/config.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>

#include "diagnostics.hpp"
#include "document.hpp"
#include "schema.hpp"

namespace lodestone::config {
namespace {

// A config is a few KiB; the cap keeps a wrong path such as /dev/zero from
// eating all memory.
constexpr std::size_t kMaxFileBytes = 16 << 20;

ConfigError unreadable(const std::string& path, const std::string& reason) {
  return ConfigError({{path, 0, 0, "cannot read config file " + in_quotes(path) + ": " + reason,
                       "check the path and that this user may read the file"}});
}

std::filesystem::path absolute_path(const std::string& path) {
  std::error_code error;
  auto absolute = std::filesystem::absolute(path, error);
  return error ? std::filesystem::path(path) : absolute.lexically_normal();
}

}  // namespace

const Upstream* Config::find_upstream(const std::string& name) const {
  auto found = std::find_if(upstreams.begin(), upstreams.end(),
                            [&](const Upstream& upstream) { return upstream.name == name; });
  return found == upstreams.end() ? nullptr : &*found;
}

const Upstream* Config::route_user(const std::string& user) const {
  const std::string login = lower_ascii(user);
  const auto at = login.rfind('@');
  const Route* by_domain = nullptr;
  const Route* fallback = nullptr;
  for (const Route& route : routes) {
    switch (route.kind) {
      case Route::Kind::user:
        if (route.match == login) return find_upstream(route.upstream);
        break;
      case Route::Kind::domain:
        if (!by_domain && at != std::string::npos && login.compare(at + 1, std::string::npos, route.match) == 0)
          by_domain = &route;
        break;
      case Route::Kind::fallback:
        if (!fallback) fallback = &route;
        break;
    }
  }
  const Route* chosen = by_domain ? by_domain : fallback;
  return chosen ? find_upstream(chosen->upstream) : nullptr;
}

Config parse_config(const std::string& text, const std::string& name) {
  DiagnosticList diagnostics(name);
  const std::filesystem::path source = absolute_path(name);
  Config config;
  if (auto document = parse_document(text, diagnostics))
    config = read_config(*document, source.parent_path(), diagnostics);
  diagnostics.throw_if_any();
  config.source_path = source.string();
  return config;
}

Config load_config(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw unreadable(path, std::generic_category().message(errno));
  std::string text;
  char buffer[64 * 1024];
  while (std::size_t got = std::fread(buffer, 1, sizeof buffer, file.get())) {
    text.append(buffer, got);
    if (text.size() > kMaxFileBytes) throw unreadable(path, "larger than 16MiB; is this the config file?");
  }
  if (std::ferror(file.get())) throw unreadable(path, std::generic_category().message(errno));
  return parse_config(text, path);
}

}  // namespace lodestone::config
