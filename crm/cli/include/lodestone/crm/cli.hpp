// `lodestone crm …`: the CRM on the command line. The binary's main() adds
// the command to its CLI11 app and runs it when it was chosen.
#pragma once

#include <memory>

namespace CLI {
class App;
}

namespace lodestone::crm {

class CrmCommand {
 public:
  // Adds "crm" and its subcommands to `app`.
  explicit CrmCommand(CLI::App& app);
  ~CrmCommand();
  CrmCommand(const CrmCommand&) = delete;
  CrmCommand& operator=(const CrmCommand&) = delete;

  // Whether the command line chose `crm` (after app.parse()).
  bool chosen() const;
  // Runs the chosen subcommand; the process exit code: 0 done, 1 failed,
  // 2 bad usage or config.
  int run();

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace lodestone::crm
