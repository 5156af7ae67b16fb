// Owns reading and validating config/rushcast.json and the command-line overrides.
// Used by app/main at start-up only: every error is a config_error naming the key (exit 2).
#include "rushcast/config/load.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <sstream>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "rushcast/core/ids.hpp"

namespace rushcast::config {
namespace {

using nlohmann::json;

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
      "start_price": 10000,
      "min_increment": 500,
      "reserve_price": 20000,
      "start_at": "+0s",
      "end_at": "+10m",
      "extend_window_ms": 30000,
      "extend_by_ms": 30000
    }
  ]
}
)json";

constexpr std::uint32_t max_ms = 24u * 3600u * 1000u;  // a day: larger timers are typos
constexpr std::uint64_t max_u32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::int64_t max_i64 = std::numeric_limits<std::int64_t>::max();

[[noreturn]] void fail(const std::string& key, const std::string& what) {
  throw config_error(key + ": " + what);
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// A JSON object section: every read marks its key, and finish() rejects whatever is left.
class section {
public:
  section(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) fail(path_.empty() ? "config" : path_, "must be a JSON object");
  }

  std::string key(std::string_view k) const { return join(path_, k); }
  const json* find(std::string_view k) {
    auto it = j_.find(k);
    if (it == j_.end()) return nullptr;
    seen_.insert(std::string(k));
    return &*it;
  }

  void integer(std::string_view k, std::int64_t& out, std::int64_t lo, std::int64_t hi,
               const char* rule) {
    const json* v = find(k);
    if (!v) return;
    if (!v->is_number_integer()) fail(key(k), std::string("must be ") + rule);
    if (v->is_number_unsigned()) {
      auto u = v->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(hi)) fail(key(k), std::string("must be ") + rule);
      out = static_cast<std::int64_t>(u);
    } else {
      out = v->get<std::int64_t>();
    }
    if (out < lo || out > hi) fail(key(k), std::string("must be ") + rule);
  }

  template <class T>
  void uint(std::string_view k, T& out, std::int64_t lo, std::int64_t hi, const char* rule) {
    std::int64_t v = static_cast<std::int64_t>(out);
    integer(k, v, lo, hi, rule);
    out = static_cast<T>(v);
  }

  void positive_ms(std::string_view k, std::uint32_t& out) {
    uint(k, out, 1, max_ms, "a positive integer of milliseconds, at most 86400000");
  }
  void positive_size(std::string_view k, std::size_t& out) {
    uint(k, out, 1, max_i64, "a positive integer");
  }

  void number(std::string_view k, double& out, double lo, const char* rule) {
    const json* v = find(k);
    if (!v) return;
    if (!v->is_number()) fail(key(k), std::string("must be ") + rule);
    out = v->get<double>();
    if (!(out >= lo) || out > 1e12) fail(key(k), std::string("must be ") + rule);
  }

  void string(std::string_view k, std::string& out) {
    const json* v = find(k);
    if (!v) return;
    if (!v->is_string()) fail(key(k), "must be a string");
    out = v->get<std::string>();
  }

  void non_empty_string(std::string_view k, std::string& out) {
    string(k, out);
    if (find(k) && out.empty()) fail(key(k), "must not be empty");
  }

  void one_of(std::string_view k, std::string& out, std::initializer_list<const char*> allowed) {
    const json* v = find(k);
    if (!v) return;
    std::string list;
    for (const char* a : allowed) list += (list.empty() ? "" : "|") + std::string(a);
    if (!v->is_string()) fail(key(k), "must be one of " + list);
    out = v->get<std::string>();
    for (const char* a : allowed)
      if (out == a) return;
    fail(key(k), "must be one of " + list + " (got \"" + out + "\")");
  }

  void string_list(std::string_view k, std::vector<std::string>& out) {
    const json* v = find(k);
    if (!v) return;
    if (!v->is_array()) fail(key(k), "must be an array of strings");
    out.clear();
    for (std::size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string())
        fail(key(k) + "[" + std::to_string(i) + "]", "must be a string");
      out.push_back((*v)[i].get<std::string>());
    }
  }

  // Rejects any key not in keys before a value is read, so an unknown (often misspelt) key is
  // reported as such rather than as the required key it was meant to be.
  void known(std::initializer_list<std::string_view> keys) const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (std::find(keys.begin(), keys.end(), std::string_view(it.key())) == keys.end())
        fail(key(it.key()), "unknown key");
  }

  void finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!seen_.count(it.key())) fail(key(it.key()), "unknown key");
  }

private:
  const json& j_;
  std::string path_;
  std::set<std::string, std::less<>> seen_;
};

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

// Checks a time's syntax now (against epoch 0) and, when both ends can be compared (both
// absolute or both relative to the same first start), that the end comes after the start.
void check_window(const std::string& path, const std::string& start_at,
                  const std::string& end_at) {
  if (start_at.empty()) fail(join(path, "start_at"), "is required");
  if (end_at.empty()) fail(join(path, "end_at"), "is required");
  std::int64_t start = resolve_time(start_at, 0, join(path, "start_at"));
  std::int64_t end = resolve_time(end_at, 0, join(path, "end_at"));
  if (is_relative_time(start_at) == is_relative_time(end_at) && end <= start)
    fail(join(path, "end_at"), "must be after start_at");
}

void read_listen(const json& j, listen_cfg& out) {
  section s(j, "listen");
  s.known({"address", "port"});
  s.non_empty_string("address", out.address);
  s.uint("port", out.port, 0, 65535, "an integer port 0..65535");
  s.finish();
}

void read_log(const json& j, log_cfg& out) {
  section s(j, "log");
  s.known({"level", "format", "file"});
  s.one_of("level", out.level, {"trace", "debug", "info", "warn", "error", "critical", "off"});
  s.one_of("format", out.format, {"text", "json"});
  s.string("file", out.file);
  s.finish();
}

void read_limits(const json& j, limits_cfg& out) {
  section s(j, "limits");
  s.known({"max_header_bytes", "max_body_bytes", "max_ws_message_bytes", "max_connections",
           "max_connections_per_ip", "max_queue_bytes", "handshake_timeout_ms",
           "idle_timeout_ms", "max_long_poll_ms", "max_publish_backlog",
           "max_publish_wait_ms", "max_topics_per_connection"});
  s.uint("max_header_bytes", out.max_header_bytes, 1024, 1 << 20,
         "an integer between 1024 and 1048576");
  s.positive_size("max_body_bytes", out.max_body_bytes);
  s.uint("max_ws_message_bytes", out.max_ws_message_bytes, 128, max_i64,
         "an integer of at least 128");
  s.positive_size("max_connections", out.max_connections);
  s.positive_size("max_connections_per_ip", out.max_connections_per_ip);
  s.uint("max_queue_bytes", out.max_queue_bytes, 1024, max_i64, "an integer of at least 1024");
  s.uint("max_topics_per_connection", out.max_topics_per_connection, 1, 1 << 20,
         "an integer between 1 and 1048576");
  s.positive_ms("handshake_timeout_ms", out.handshake_timeout_ms);
  s.positive_ms("idle_timeout_ms", out.idle_timeout_ms);
  s.uint("max_long_poll_ms", out.max_long_poll_ms, 1, 30000,
         "an integer of milliseconds between 1 and 30000");
  s.uint("max_publish_backlog", out.max_publish_backlog, 1, 1 << 20,
         "an integer between 1 and 1048576");
  s.uint("max_publish_wait_ms", out.max_publish_wait_ms, 0, 60000,
         "an integer of milliseconds between 0 and 60000");
  s.finish();
}

void read_websocket(const json& j, websocket_cfg& out) {
  section s(j, "websocket");
  s.known({"paths", "ping_ms"});
  s.string_list("paths", out.paths);
  if (s.find("paths")) {
    if (out.paths.empty()) fail("websocket.paths", "must name at least one path");
    for (std::size_t i = 0; i < out.paths.size(); ++i)
      if (out.paths[i].empty() || out.paths[i].front() != '/')
        fail("websocket.paths[" + std::to_string(i) + "]", "must start with /");
  }
  s.positive_ms("ping_ms", out.ping_ms);
  s.finish();
}

void read_auth(const json& j, auth_cfg& out) {
  section s(j, "auth");
  s.known({"mode", "jwt_secret", "publish_key"});
  s.one_of("mode", out.mode, {"off", "jwt"});
  s.string("jwt_secret", out.jwt_secret);
  s.string("publish_key", out.publish_key);
  s.finish();
}

void read_rate_limit(const json& j, rate_limit_cfg& out) {
  section s(j, "rate_limit");
  s.known({"per_user_per_s", "per_user_burst", "per_ip_per_s", "per_ip_burst",
           "ws_abuse_strikes"});
  s.number("per_user_per_s", out.per_user_per_s, 0.001, "a positive number");
  s.number("per_user_burst", out.per_user_burst, 1, "a number of at least 1");
  s.number("per_ip_per_s", out.per_ip_per_s, 0.001, "a positive number");
  s.number("per_ip_burst", out.per_ip_burst, 1, "a number of at least 1");
  s.uint("ws_abuse_strikes", out.ws_abuse_strikes, 1, max_u32, "a positive integer");
  s.finish();
}

void read_storage(const json& j, storage_cfg& out) {
  section s(j, "storage");
  s.known({"backend", "path", "redis_url", "synchronous", "group_commit_max", "min_free_bytes",
           "checkpoint_ms"});
  s.one_of("backend", out.backend, {"sqlite", "redis"});
  s.non_empty_string("path", out.path);
  s.string("redis_url", out.redis_url);
  s.one_of("synchronous", out.synchronous, {"full", "normal"});
  s.uint("group_commit_max", out.group_commit_max, 1, 100000,
         "an integer between 1 and 100000");
  s.uint("min_free_bytes", out.min_free_bytes, 0, max_i64, "an integer of bytes, 0 or more");
  s.positive_ms("checkpoint_ms", out.checkpoint_ms);
  s.finish();
}

sale_cfg read_sale(const json& j, const std::string& path) {
  sale_cfg out;
  section s(j, path);
  s.known({"id", "name", "stock", "start_at", "end_at", "per_user_limit", "process_rate_per_s"});
  s.string("id", out.id);
  if (!s.find("id")) fail(s.key("id"), "is required");
  if (!valid_id(out.id)) fail(s.key("id"), "must match [A-Za-z0-9_-]{1,64}");
  s.string("name", out.name);
  if (out.name.empty()) out.name = out.id;
  if (!s.find("stock")) fail(s.key("stock"), "is required");
  s.integer("stock", out.stock, 1, 1'000'000'000, "an integer between 1 and 1000000000");
  s.string("start_at", out.start_at);
  s.string("end_at", out.end_at);
  s.integer("per_user_limit", out.per_user_limit, 1, 1'000'000, "a positive integer");
  s.integer("process_rate_per_s", out.process_rate_per_s, 0, 1'000'000,
            "an integer between 0 and 1000000 (0 = as fast as the store commits)");
  s.finish();
  check_window(path, out.start_at, out.end_at);
  return out;
}

auction_cfg read_auction(const json& j, const std::string& path) {
  auction_cfg out;
  section s(j, path);
  s.known({"id", "name", "start_price", "min_increment", "reserve_price", "start_at", "end_at",
           "extend_window_ms", "extend_by_ms"});
  s.string("id", out.id);
  if (!s.find("id")) fail(s.key("id"), "is required");
  if (!valid_id(out.id)) fail(s.key("id"), "must match [A-Za-z0-9_-]{1,64}");
  s.string("name", out.name);
  if (out.name.empty()) out.name = out.id;
  constexpr std::int64_t max_amount = 1'000'000'000'000'000;
  s.integer("start_price", out.start_price, 0, max_amount, "a non-negative integer amount");
  s.integer("min_increment", out.min_increment, 1, max_amount, "a positive integer amount");
  s.integer("reserve_price", out.reserve_price, 0, max_amount, "a non-negative integer amount");
  s.string("start_at", out.start_at);
  s.string("end_at", out.end_at);
  s.integer("extend_window_ms", out.extend_window_ms, 0, max_ms,
            "an integer of milliseconds between 0 and 86400000");
  s.integer("extend_by_ms", out.extend_by_ms, 0, max_ms,
            "an integer of milliseconds between 0 and 86400000");
  s.finish();
  check_window(path, out.start_at, out.end_at);
  return out;
}

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

std::uint32_t parse_port(const std::string& s, const std::string& key) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || v > 65535)
    fail(key, "port must be an integer 0..65535 (got \"" + s + "\")");
  return v;
}

// "HOST:PORT" or "[V6]:PORT" into out; key names the flag or config key in errors.
void parse_listen(const std::string& value, const std::string& key, listen_cfg& out) {
  std::string host;
  std::string port;
  std::size_t colon = std::string::npos;
  if (value.starts_with("[")) {
    auto close = value.find("]:");
    if (close != std::string::npos) {
      host = value.substr(1, close - 1);
      colon = close + 1;
    }
  } else {
    colon = value.rfind(':');
    if (colon != std::string::npos) host = value.substr(0, colon);
  }
  if (colon == std::string::npos || host.empty())
    fail(key, "must be HOST:PORT (got \"" + value + "\")");
  port = value.substr(colon + 1);
  out.address = host;
  out.port = static_cast<std::uint16_t>(parse_port(port, key));
}


// Written as the listener prints a peer (asio's to_string), so a plain string compare matches.
bool valid_ip(const std::string& s) {
  unsigned char buf[16];
  char back[64];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1)
    return inet_ntop(AF_INET, buf, back, sizeof back) && s == back;
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1)
    return inet_ntop(AF_INET6, buf, back, sizeof back) && s == back;
  return false;
}

}  // namespace

config parse(const std::string& json_text) {
  json j = parse_strict(json_text);
  config c;
  section s(j, "");
  s.known({"listen", "threads", "log", "limits", "heartbeat_ms", "coalesce_ms",
           "countdown_sync_ms", "shutdown_timeout_ms", "default_topics", "trusted_proxies", "sse", "websocket",
           "history", "auth", "cors", "rate_limit", "storage", "data_dir", "static_dir", "sales",
           "auctions"});
  if (const json* v = s.find("listen")) {
    // "HOST:PORT" is accepted too, the form --listen takes.
    if (v->is_string()) {
      parse_listen(v->get<std::string>(), "listen", c.listen);
    } else {
      read_listen(*v, c.listen);
    }
  }
  s.uint("threads", c.threads, 0, 256, "an integer between 0 (= cores) and 256");
  if (const json* v = s.find("log")) read_log(*v, c.log);
  if (const json* v = s.find("limits")) read_limits(*v, c.limits);
  s.positive_ms("heartbeat_ms", c.heartbeat_ms);
  s.uint("coalesce_ms", c.coalesce_ms, 0, 60000,
         "an integer of milliseconds between 0 and 60000 (0 = no coalescing)");
  s.positive_ms("countdown_sync_ms", c.countdown_sync_ms);
  s.positive_ms("shutdown_timeout_ms", c.shutdown_timeout_ms);
  if (s.find("default_topics")) {
    auto& topics = c.default_topics.emplace();
    s.string_list("default_topics", topics);
    for (std::size_t i = 0; i < topics.size(); ++i)
      if (!core::valid_topic(topics[i]))
        fail("default_topics[" + std::to_string(i) + "]", "must match [A-Za-z0-9:_.-]{1,128}");
  }
  s.string_list("trusted_proxies", c.trusted_proxies);
  for (std::size_t i = 0; i < c.trusted_proxies.size(); ++i)
    if (!valid_ip(c.trusted_proxies[i]))
      fail("trusted_proxies[" + std::to_string(i) + "]",
           "must be an IPv4 or IPv6 address such as 127.0.0.1 (no names, no ranges)");
  if (const json* v = s.find("sse")) {
    section ss(*v, "sse");
    ss.known({"retry_ms"});
    ss.positive_ms("retry_ms", c.sse.retry_ms);
    ss.finish();
  }
  if (const json* v = s.find("websocket")) read_websocket(*v, c.websocket);
  if (const json* v = s.find("history")) {
    section hs(*v, "history");
    hs.known({"max_events_per_topic", "max_age_ms", "sweep_interval_ms", "max_removed_topics"});
    hs.uint("max_events_per_topic", c.history.max_events_per_topic, 1, 10'000'000,
            "an integer between 1 and 10000000");
    hs.positive_ms("max_age_ms", c.history.max_age_ms);
    hs.uint("sweep_interval_ms", c.history.sweep_interval_ms, 10, 3'600'000,
            "an integer of milliseconds between 10 and 3600000");
    hs.uint("max_removed_topics", c.history.max_removed_topics, 0, 100'000'000,
            "an integer between 0 and 100000000");
    hs.finish();
  }
  if (const json* v = s.find("auth")) read_auth(*v, c.auth);
  if (const json* v = s.find("cors")) {
    section cs(*v, "cors");
    cs.known({"allow_origins"});
    cs.string_list("allow_origins", c.cors.allow_origins);
    for (std::size_t i = 0; i < c.cors.allow_origins.size(); ++i)
      if (c.cors.allow_origins[i].empty())
        fail("cors.allow_origins[" + std::to_string(i) + "]", "must not be empty");
    cs.finish();
  }
  if (const json* v = s.find("rate_limit")) read_rate_limit(*v, c.rate_limit);
  if (const json* v = s.find("storage")) read_storage(*v, c.storage);
  s.non_empty_string("data_dir", c.data_dir);
  s.string("static_dir", c.static_dir);

  if (const json* v = s.find("sales")) {
    if (!v->is_array()) fail("sales", "must be an array of objects");
    std::set<std::string> ids;
    for (std::size_t i = 0; i < v->size(); ++i) {
      std::string path = "sales[" + std::to_string(i) + "]";
      c.sales.push_back(read_sale((*v)[i], path));
      if (!ids.insert(c.sales.back().id).second)
        fail(path + ".id", "duplicate sale id \"" + c.sales.back().id + "\"");
    }
  }
  if (const json* v = s.find("auctions")) {
    if (!v->is_array()) fail("auctions", "must be an array of objects");
    std::set<std::string> ids;
    for (std::size_t i = 0; i < v->size(); ++i) {
      std::string path = "auctions[" + std::to_string(i) + "]";
      c.auctions.push_back(read_auction((*v)[i], path));
      if (!ids.insert(c.auctions.back().id).second)
        fail(path + ".id", "duplicate auction id \"" + c.auctions.back().id + "\"");
    }
  }
  s.finish();

  // Rules across keys.
  if (c.auth.mode == "jwt" && c.auth.jwt_secret.empty())
    fail("auth.jwt_secret", "is required when auth.mode is jwt");
  if (c.storage.backend == "redis")
    fail("storage.backend", "redis is not available in this build (use sqlite)");
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

cli_options parse_cli(int argc, char** argv) {
  cli_options o;
  static const std::set<std::string, std::less<>> value_flags{
      "--config", "--port-file", "--listen", "--log-level", "--data-dir", "--threads",
      "--static-dir"};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string name = arg;
    std::optional<std::string> value;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (name == "--check-config" || name == "--version" || name == "--help" || name == "-h") {
      if (value) fail(name, "takes no value");
      if (name == "--check-config") o.check_config = true;
      else if (name == "--version") o.show_version = true;
      else o.show_help = true;
      continue;
    }
    if (!value_flags.count(name)) fail(name, "unknown flag (see --help)");
    if (!value) {
      if (i + 1 >= argc) fail(name, "needs a value");
      value = argv[++i];
    }
    if (name == "--config") {
      if (value->empty()) fail(name, "needs a file name");
      o.config_path = *value;
    } else if (name == "--port-file") {
      if (value->empty()) fail(name, "needs a file name");
      o.port_file = *value;
    } else {
      o.overrides.emplace_back(name, *value);
    }
  }
  // Validate override values now, so a bad flag is reported before the file is read.
  config probe;
  apply_overrides(probe, o);
  return o;
}

void apply_overrides(config& c, const cli_options& o) {
  for (const auto& [flag, value] : o.overrides) {
    if (flag == "--listen") {
      parse_listen(value, flag, c.listen);
    } else if (flag == "--log-level") {
      static const std::set<std::string, std::less<>> levels{
          "trace", "debug", "info", "warn", "error", "critical", "off"};
      if (!levels.count(value))
        fail(flag, "must be one of trace|debug|info|warn|error|critical|off");
      c.log.level = value;
    } else if (flag == "--data-dir") {
      if (value.empty()) fail(flag, "must not be empty");
      c.data_dir = value;
    } else if (flag == "--static-dir") {
      c.static_dir = value;
    } else if (flag == "--threads") {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || ec != std::errc{} || p != value.data() + value.size() || v > 256)
        fail(flag, "must be an integer between 0 (= cores) and 256");
      c.threads = v;
    } else {
      fail(flag, "unknown flag (see --help)");
    }
  }
}

std::string help_text() {
  return "Usage: rushcast [options]\n"
         "\n"
         "Real-time push server: SSE, WebSocket and long-poll on one port.\n"
         "\n"
         "Options:\n"
         "  --config FILE        JSON configuration (default: the built-in demo)\n"
         "  --check-config       validate the configuration and exit (0 good, 2 bad)\n"
         "  --version            print the version and exit\n"
         "  --help, -h           print this help and exit\n"
         "  --listen HOST:PORT   override listen (port 0 = any free port)\n"
         "  --log-level LEVEL    trace|debug|info|warn|error|critical|off\n"
         "  --data-dir DIR       where the store lives\n"
         "  --threads N          worker threads (0 = one per core)\n"
         "  --static-dir DIR     demo pages served for unrouted GET paths\n"
         "  --port-file FILE     write the bound port to FILE once listening\n"
         "\n"
         "Flags also take the --flag=value form. Exit codes: 0 clean stop, 2 bad config or\n"
         "flags, 1 any other fatal error. See docs/CONFIG.md.\n";
}

bool is_relative_time(const std::string& value) { return value.starts_with("+"); }

std::int64_t resolve_time(const std::string& value, std::int64_t now_ms, const std::string& key) {
  const std::string form =
      " (expected \"+30s\", \"+5m\", \"+2h\", \"+1d\" or ISO-8601 UTC like "
      "\"2026-11-25T20:00:00Z\")";
  if (is_relative_time(value)) {
    if (value.size() < 3) fail(key, "bad time \"" + value + "\"" + form);
    std::int64_t n = 0;
    const char* first = value.data() + 1;
    const char* last = value.data() + value.size() - 1;
    auto [p, ec] = std::from_chars(first, last, n);
    if (ec != std::errc{} || p != last || n < 0) fail(key, "bad time \"" + value + "\"" + form);
    std::int64_t unit = 0;
    switch (value.back()) {
      case 's': unit = 1000; break;
      case 'm': unit = 60'000; break;
      case 'h': unit = 3'600'000; break;
      case 'd': unit = 86'400'000; break;
      default: fail(key, "bad time unit in \"" + value + "\"" + form);
    }
    // Ten years is far beyond any sale; it also keeps the arithmetic far from overflow.
    if (n > 10LL * 366 * 86'400'000 / unit) fail(key, "relative time is too far: \"" + value + "\"");
    return now_ms + n * unit;
  }
  // YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z
  auto digits = [&](std::size_t pos, std::size_t n, int& out) {
    if (pos + n > value.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (value[i] < '0' || value[i] > '9') return false;
      out = out * 10 + (value[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, s;
  bool ok = value.size() >= 20 && digits(0, 4, y) && value[4] == '-' && digits(5, 2, mo) &&
            value[7] == '-' && digits(8, 2, d) && value[10] == 'T' && digits(11, 2, h) &&
            value[13] == ':' && digits(14, 2, mi) && value[16] == ':' && digits(17, 2, s);
  std::int64_t ms = 0;
  std::size_t pos = 19;
  if (ok && pos < value.size() && value[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    int scale = 100;
    while (pos < value.size() && value[pos] >= '0' && value[pos] <= '9') {
      if (scale > 0) ms += (value[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start || pos - start > 9) ok = false;
  }
  ok = ok && pos + 1 == value.size() && value[pos] == 'Z';
  if (!ok) fail(key, "bad time \"" + value + "\"" + form);
  auto leap = [](int yr) { return (yr % 4 == 0 && yr % 100 != 0) || yr % 400 == 0; };
  static constexpr int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
      d > mdays[mo - 1] + (mo == 2 && leap(y) ? 1 : 0) || h > 23 || mi > 59 || s > 59)
    fail(key, "bad date or time in \"" + value + "\"" + form);
  // days_from_civil (H. Hinnant): days since 1970-01-01 of a proleptic Gregorian date.
  int yy = y - (mo <= 2 ? 1 : 0);
  int era = yy / 400;
  unsigned yoe = static_cast<unsigned>(yy - era * 400);
  unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60'000 + s * 1000LL + ms;
}

}  // namespace rushcast::config
