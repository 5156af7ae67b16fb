// Owns reading and validating the JSON config file and the command-line overrides.
// Used by app/main at start-up only; every error names the bad key (exit code 2).
#pragma once

#include <stdexcept>
#include <string>

#include "rushcast/config/cli.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/config/time.hpp"

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

}  // namespace rushcast::config
