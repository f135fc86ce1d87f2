// The lodestone command: run the proxy, check a config, make dev certificates,
// query and maintain the CRM.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "lodestone/certs.hpp"
#include "lodestone/config.hpp"
#include "lodestone/crm/cli.hpp"
#include "lodestone/proxy.hpp"

namespace {

void set_up_logging(const lodestone::config::Logging& logging) {
  std::shared_ptr<spdlog::logger> logger;
  if (logging.file.empty()) {
    logger = spdlog::stderr_color_mt("lodestone");
  } else {
    logger = spdlog::basic_logger_mt("lodestone", logging.file);
  }
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(logging.level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

lodestone::config::Config load_or_explain(const std::string& path) {
  try {
    return lodestone::config::load_config(path);
  } catch (const lodestone::config::ConfigError& e) {
    std::cerr << e.what();
    std::exit(2);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lodestone: an IMAP proxy that turns mailboxes into a CRM."};
  app.set_version_flag("--version", "lodestone 0.1.0");
  app.require_subcommand(1);

  std::string run_config;
  auto* run = app.add_subcommand("run", "Run the proxy until SIGINT/SIGTERM.");
  run->add_option("-c,--config", run_config, "Config file (YAML)")->required();

  std::string check_path;
  auto* check = app.add_subcommand("check-config", "Validate a config file and print the effective config.");
  check->add_option("file", check_path, "Config file (YAML)")->required();

  auto* cert = app.add_subcommand("cert", "Certificate tools.");
  cert->require_subcommand(1);
  std::string cert_dir;
  auto* cert_dev = cert->add_subcommand("dev", "Create a local CA and a server certificate for localhost.");
  cert_dev->add_option("--out", cert_dir, "Directory to write ca.pem, ca.key, server.pem, server.key")->required();

  lodestone::crm::CrmCommand crm(app);

  CLI11_PARSE(app, argc, argv);

  if (crm.chosen()) return crm.run();

  if (*check) {
    const auto config = load_or_explain(check_path);
    std::cout << lodestone::config::render_config(config);
    std::cerr << check_path << ": OK\n";
    return 0;
  }
  if (*cert_dev) {
    try {
      const auto files = lodestone::certs::create_dev_certs(cert_dir);
      std::cout << "CA certificate (trust this in mail clients): " << files.ca_cert << "\n"
                << "server certificate chain: " << files.server_cert << "\n"
                << "server key: " << files.server_key << "\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "lodestone cert dev: " << e.what() << "\n";
      return 1;
    }
  }
  if (*run) {
    const auto config = load_or_explain(run_config);
    try {
      set_up_logging(config.logging);
      return lodestone::proxy::run(config);
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
      return 1;
    }
  }
  return 0;
}
