// Owns reading the server-wide sections of the config (listen, log, limits, sse, websocket,
// history, auth, cors, rate_limit, storage, default_topics, trusted_proxies). Used by config/load.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rushcast/config/config.hpp"
#include "rushcast/config/section.hpp"

namespace rushcast::config::detail {

// Each reads one JSON object into out; keys it leaves out keep their defaults.
void read_log(const json& j, log_cfg& out);
void read_limits(const json& j, limits_cfg& out);
void read_sse(const json& j, sse_cfg& out);
void read_websocket(const json& j, websocket_cfg& out);
void read_history(const json& j, history_cfg& out);
void read_auth(const json& j, auth_cfg& out);
void read_cors(const json& j, cors_cfg& out);
void read_rate_limit(const json& j, rate_limit_cfg& out);
void read_storage(const json& j, storage_cfg& out);
void read_bus(const json& j, bus_cfg& out);

// "listen" is an object {address, port} or the "HOST:PORT" string that --listen takes.
void read_listen(const json& j, listen_cfg& out);
// "HOST:PORT" or "[V6]:PORT" into out; key names the flag or config key in errors.
void parse_listen(const std::string& value, const std::string& key, listen_cfg& out);

// Top-level lists, read from the root section s.
void read_default_topics(section& s, std::optional<std::vector<std::string>>& out);
void read_trusted_proxies(section& s, std::vector<std::string>& out);

}  // namespace rushcast::config::detail
