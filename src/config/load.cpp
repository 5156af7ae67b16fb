// Owns reading and validating config/rushcast.json: strict JSON, then one read_* part per
// section (config/read_server, config/read_catalog). Used by app/main at start-up only: every
// error is a config_error naming the key (exit 2). The command line is config/cli.
#include "rushcast/config/load.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rushcast/config/read_catalog.hpp"
#include "rushcast/config/read_product.hpp"
#include "rushcast/config/read_server.hpp"
#include "rushcast/config/section.hpp"

namespace rushcast::config {
namespace {

using detail::fail;
using detail::json;
using detail::section;

// The demo, byte for byte the content of config/rushcast.json (docs/CONFIG.md explains it).
constexpr const char* demo_json = R"json({
  "listen": { "address": "0.0.0.0", "port": 8080 },
  "threads": 0,
  "log": { "level": "info", "format": "text", "file": "" },
  "limits": {
    "max_header_bytes": 8192,
    "max_body_bytes": 65536,
    "max_ws_message_bytes": 65536,
    "max_connections": 100000,
    "max_connections_per_ip": 50000,
    "max_queue_bytes": 1048576,
    "handshake_timeout_ms": 10000,
    "idle_timeout_ms": 60000,
    "max_long_poll_ms": 30000,
    "max_publish_backlog": 256,
    "max_publish_wait_ms": 5000
  },
  "heartbeat_ms": 15000,
  "coalesce_ms": 50,
  "countdown_sync_ms": 10000,
  "shutdown_timeout_ms": 5000,
  "trusted_proxies": ["127.0.0.1", "::1"],
  "sse": { "retry_ms": 3000 },
  "websocket": { "paths": ["/ws", "/"], "ping_ms": 25000 },
  "history": { "max_events_per_topic": 1000, "max_age_ms": 300000 },
  "auth": { "mode": "off", "jwt_secret": "", "publish_key": "demo-publish-key" },
  "cors": { "allow_origins": ["*"] },
  "rate_limit": {
    "per_user_per_s": 5,
    "per_user_burst": 10,
    "per_ip_per_s": 2000,
    "per_ip_burst": 4000,
    "ws_abuse_strikes": 20
  },
  "storage": {
    "backend": "sqlite",
    "path": "rushcast.db",
    "redis_url": "",
    "synchronous": "full",
    "group_commit_max": 512,
    "min_free_bytes": 67108864,
    "checkpoint_ms": 1000
  },
  "data_dir": "data",
  "static_dir": "web",
  "sales": [
    {
      "id": "demo",
      "name": "Demo flash sale",
      "description": "Wireless noise-cancelling headphones, 30 h battery. One pair per customer.",
      "image": "img/demo-headphones.svg",
      "price": 4999,
      "currency": "EUR",
      "stock": 100,
      "start_at": "+20s",
      "end_at": "+1h",
      "per_user_limit": 1,
      "process_rate_per_s": 20
    }
  ],
  "auctions": [
    {
      "id": "demo",
      "name": "Vintage watch",
      "description": "A 1960s automatic wristwatch, serviced, with its original leather strap.",
      "image": "img/demo-watch.svg",
      "currency": "EUR",
      "start_price": 10000,
      "min_increment": 500,
      "reserve_price": 20000,
      "start_at": "+0s",
      "end_at": "+10m",
      "extend_window_ms": 30000,
      "extend_by_ms": 30000
    }
  ]
})json";

// Strict JSON: nlohmann keeps the last of two equal keys silently; a config must not.
json parse_strict(const std::string& text) {
  std::vector<std::set<std::string>> keys;
  auto cb = [&keys](int, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key: {
        auto k = parsed.get<std::string>();
        if (!keys.empty() && !keys.back().insert(k).second) fail(k, "duplicate key");
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text, cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    // Not only parse_error: a number out of range (1E500) is an out_of_range from the parser.
    throw config_error(std::string("config: invalid JSON: ") + e.what());
  }
}

}  // namespace

config parse(const std::string& json_text) {
  json j = parse_strict(json_text);
  config c;
  section s(j, "");
  s.known({"listen", "threads", "log", "limits", "heartbeat_ms", "coalesce_ms",
           "countdown_sync_ms", "shutdown_timeout_ms", "default_topics", "trusted_proxies",
           "sse", "websocket", "history", "auth", "cors", "rate_limit", "storage", "data_dir",
           "static_dir", "sales", "auctions",
           "bus"});
  if (const json* v = s.find("listen")) detail::read_listen(*v, c.listen);
  s.uint("threads", c.threads, 0, 256, "an integer between 0 (= cores) and 256");
  if (const json* v = s.find("log")) detail::read_log(*v, c.log);
  if (const json* v = s.find("limits")) detail::read_limits(*v, c.limits);
  s.positive_ms("heartbeat_ms", c.heartbeat_ms);
  s.uint("coalesce_ms", c.coalesce_ms, 0, 60000,
         "an integer of milliseconds between 0 and 60000 (0 = no coalescing)");
  s.positive_ms("countdown_sync_ms", c.countdown_sync_ms);
  s.positive_ms("shutdown_timeout_ms", c.shutdown_timeout_ms);
  detail::read_default_topics(s, c.default_topics);
  detail::read_trusted_proxies(s, c.trusted_proxies);
  if (const json* v = s.find("sse")) detail::read_sse(*v, c.sse);
  if (const json* v = s.find("websocket")) detail::read_websocket(*v, c.websocket);
  if (const json* v = s.find("history")) detail::read_history(*v, c.history);
  if (const json* v = s.find("auth")) detail::read_auth(*v, c.auth);
  if (const json* v = s.find("cors")) detail::read_cors(*v, c.cors);
  if (const json* v = s.find("rate_limit")) detail::read_rate_limit(*v, c.rate_limit);
  if (const json* v = s.find("storage")) detail::read_storage(*v, c.storage);
  if (const json* v = s.find("bus")) detail::read_bus(*v, c.bus);
  s.non_empty_string("data_dir", c.data_dir);
  s.string("static_dir", c.static_dir);
  detail::take_products(j, c.products);  // description, image, price, currency: read_product.cpp
  if (const json* v = s.find("sales")) detail::read_sales(*v, c.sales);
  if (const json* v = s.find("auctions")) detail::read_auctions(*v, c.auctions);
  s.finish();

  // Rules across keys.
  if (c.auth.mode == "jwt" && c.auth.jwt_secret.empty())
    fail("auth.jwt_secret", "is required when auth.mode is jwt");
  if (c.storage.backend == "redis" && c.storage.redis_url.empty())
    fail("storage.redis_url", "is required when storage.backend is redis");
  // A node must refresh at least twice per lifetime, or one late heartbeat removes its members.
  if (std::uint64_t{c.bus.presence_heartbeat_ms} * 2 > c.bus.presence_ttl_ms)
    fail("bus.presence_heartbeat_ms", "must be at most half of bus.presence_ttl_ms");
  return c;
}

config load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error("--config: cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw config_error("--config: cannot read " + path);
  return parse(ss.str());
}

config embedded_default() { return parse(demo_json); }

}  // namespace rushcast::config
