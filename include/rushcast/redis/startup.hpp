// Owns what a node does with Redis before it serves (storage.backend redis): reach it, refuse a
// Redis that could lose acknowledged writes, load the Functions library. Used by app::server.
#pragma once

#include <string>
#include <vector>

#include "rushcast/config/config.hpp"

namespace rushcast::redis {

// What the check found: settings that make acknowledged writes losable, as "name=value
// (needs X)"; empty when Redis is durable.
struct durability_report {
  std::vector<std::string> unsafe;
};

// Blocking, on its own io_context, before any other module starts. Connects (waiting up to
// redis_timeout_ms), reads CONFIG GET appendonly / appendfsync / maxmemory-policy, then
// FUNCTION LOAD REPLACE of the embedded library and checks its version answers.
// Throws config::config_error (exit 2) naming the first unsafe setting unless
// storage.redis_allow_unsafe (then each is logged as a warning); std::runtime_error (exit 1)
// when Redis cannot be reached or refuses the library.
durability_report prepare_redis(const config::storage_cfg& storage);

}  // namespace rushcast::redis
