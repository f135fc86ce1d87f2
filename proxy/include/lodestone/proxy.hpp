// The IMAP proxy: listeners, pre-auth, routing, the relay and its tap.
#pragma once

#include "lodestone/config.hpp"

namespace lodestone::proxy {

// Serves the configured listeners until SIGINT or SIGTERM, then stops
// accepting, lets sessions finish for up to timeouts.drain and returns the
// process exit code (0 after a clean stop).  Throws std::runtime_error when
// it cannot start (a port in use, an unreadable certificate).
int run(const config::Config& config);

}  // namespace lodestone::proxy
