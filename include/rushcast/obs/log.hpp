// Owns spdlog set-up: level, text or JSON lines, file reopen on SIGHUP.
// Used by app/ at start-up and on SIGHUP; everyone else just calls spdlog::info(...).
#pragma once

#include "rushcast/config/config.hpp"

namespace rushcast::obs {

// Throws config_error for an unknown level or format.
void setup_logging(const config::log_cfg& cfg);
// Reopens the log file (after logrotate moved it); no-op when logging to stderr.
void reopen_logs();

}  // namespace rushcast::obs
