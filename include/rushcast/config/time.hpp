// Owns the config's times: "+30s"/"+5m"/"+2h"/"+1d" relative to the first start, or ISO-8601
// UTC. Used by config/load (syntax check) and engine/sales, engine/auctions (resolution).
#pragma once

#include <cstdint>
#include <string>

namespace rushcast::config {

// Resolves "+30s"/"+5m"/"+2h"/"+1d" against now_ms, or ISO-8601 UTC
// ("2026-11-25T20:00:00Z", optional .mmm); throws config_error naming key.
std::int64_t resolve_time(const std::string& value, std::int64_t now_ms, const std::string& key);
bool is_relative_time(const std::string& value);

}  // namespace rushcast::config
