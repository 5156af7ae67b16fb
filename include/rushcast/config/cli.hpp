// Owns the command line: flags, their values, and the overrides they apply to a config.
// Used by app/main at start-up only; errors are config_error naming the flag (exit 2).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "rushcast/config/config.hpp"

namespace rushcast::config {

struct cli_options {
  std::string config_path;  // empty = embedded default
  bool check_config = false;
  bool show_version = false;
  bool show_help = false;
  std::string port_file;    // write the bound port here once listening (tests)
  // overrides, applied after the file: --listen HOST:PORT, --log-level L, --data-dir D,
  // --threads N, --static-dir D
  std::vector<std::pair<std::string, std::string>> overrides;
};
// Throws config_error on an unknown flag or a missing value.
cli_options parse_cli(int argc, char** argv);
void apply_overrides(config& c, const cli_options& o);
std::string help_text();

}  // namespace rushcast::config
