// Owns the CORS answer headers shared by the router and the stream transports.
#include "rushcast/api/cors.hpp"

#include <algorithm>

#include "rushcast/config/config.hpp"

namespace rushcast::api {

std::string allowed_origin(const config::cors_cfg& cors, const std::optional<std::string>& origin) {
  const auto& allow = cors.allow_origins;
  if (std::find(allow.begin(), allow.end(), "*") != allow.end()) return "*";
  if (origin && std::find(allow.begin(), allow.end(), *origin) != allow.end()) return *origin;
  return {};
}

std::vector<std::pair<std::string, std::string>> cors_headers(const config::cors_cfg& cors,
                                                              const std::string& allowed) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!allowed.empty()) out.emplace_back("Access-Control-Allow-Origin", allowed);
  if (!cors.allow_origins.empty()) out.emplace_back("Vary", "Origin");
  return out;
}

std::vector<std::pair<std::string, std::string>> cors_headers(const config::cors_cfg& cors,
                                                              const request& req) {
  return cors_headers(cors, allowed_origin(cors, req.header("origin")));
}

void add_cors(const config::cors_cfg& cors, const request& req, response& r) {
  for (auto& h : cors_headers(cors, req)) r.headers.push_back(std::move(h));
}

}  // namespace rushcast::api
