// Owns the CORS answer headers: which Origin is allowed and the Vary that keeps caches honest.
// Used by api::router for every API answer and by net::http_session for SSE, long-poll and
// its own errors, so every transport answers CORS the same way.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rushcast/api/http_types.hpp"

namespace rushcast::config { struct cors_cfg; }

namespace rushcast::api {

// The Access-Control-Allow-Origin value for a request's Origin: "*" when allow_origins lists
// "*", the origin itself when listed, "" when the origin is absent or not allowed.
std::string allowed_origin(const config::cors_cfg& cors, const std::optional<std::string>& origin);
// The same as the entry of cors.allow_origins that allows it ("*" or the origin), or nullptr:
// no copy, and it lives as long as the configuration.
const std::string* allowing_entry(const config::cors_cfg& cors, const std::string* origin) noexcept;

// The CORS headers of an answer: Access-Control-Allow-Origin when allowed is non-empty, and
// "Vary: Origin" whenever allow_origins is non-empty — the answer (its CORS headers, or their
// absence) depends on the request's Origin, so a shared cache must key on it.
std::vector<std::pair<std::string, std::string>> cors_headers(const config::cors_cfg& cors,
                                                              const std::string& allowed);

// The CORS headers of an answer to req (its Origin against cors.allow_origins).
std::vector<std::pair<std::string, std::string>> cors_headers(const config::cors_cfg& cors,
                                                              const request& req);
// Adds them to r.
void add_cors(const config::cors_cfg& cors, const request& req, response& r);
// Adds the same headers for allowing_entry's answer, without allocating: the names are
// literals and the value is the configuration's own string.
void add_cors(const config::cors_cfg& cors, const std::string* allowing, response& r);

}  // namespace rushcast::api
