// Owns reading and validating the JSON config file and the command-line overrides.
// Used by app/main at start-up only; every error names the bad key (exit code 2).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "rushcast/config/config.hpp"

namespace rushcast::config {

// Thrown for any invalid config or flag; what() names the key and what is wrong, e.g.
// "limits.max_body_bytes: must be a positive integer" or "sales[0].foo: unknown key".
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses and validates a JSON document (string). Unknown keys, wrong types, out-of-range
// values, duplicate sale/auction ids, bad times ("+30s", ISO-8601 UTC) -> config_error.
config parse(const std::string& json_text);
config load_file(const std::string& path);
// The built-in demo configuration (used when --config is not given): one sale "demo",
// one auction "demo", default topics "sale:demo,auction:demo".
config embedded_default();

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

// Resolves "+30s"/"+5m"/"+2h"/"+1d" against now_ms, or ISO-8601 UTC
// ("2026-11-25T20:00:00Z", optional .mmm); throws config_error naming key.
std::int64_t resolve_time(const std::string& value, std::int64_t now_ms, const std::string& key);
bool is_relative_time(const std::string& value);

}  // namespace rushcast::config
