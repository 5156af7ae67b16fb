// Owns the CORS answer headers shared by the router and the stream transports.
#include "rushcast/api/cors.hpp"

#include <algorithm>

#include "rushcast/config/config.hpp"

namespace rushcast::api {

const std::string* allowing_entry(const config::cors_cfg& cors, const std::string* origin) noexcept {
  const auto& allow = cors.allow_origins;
  if (auto it = std::find(allow.begin(), allow.end(), "*"); it != allow.end()) return &*it;
  if (origin) {
    if (auto it = std::find(allow.begin(), allow.end(), *origin); it != allow.end()) return &*it;
  }
  return nullptr;
}

std::string allowed_origin(const config::cors_cfg& cors, const std::optional<std::string>& origin) {
  const std::string* entry = allowing_entry(cors, origin ? &*origin : nullptr);
  return entry ? *entry : std::string{};
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
  const std::string* entry = allowing_entry(cors, req.find_header("origin"));
  return cors_headers(cors, entry ? *entry : std::string{});
}

void add_cors(const config::cors_cfg& cors, const std::string* allowing, response& r) {
  // An empty entry allows nothing, as an empty allowed_origin() does.
  if (allowing && !allowing->empty())
    r.headers.emplace_back(header_text::fixed("Access-Control-Allow-Origin"),
                           header_text::fixed(*allowing));
  if (!cors.allow_origins.empty())
    r.headers.emplace_back(header_text::fixed("Vary"), header_text::fixed("Origin"));
}

void add_cors(const config::cors_cfg& cors, const request& req, response& r) {
  add_cors(cors, allowing_entry(cors, req.find_header("origin")), r);
}

}  // namespace rushcast::api
