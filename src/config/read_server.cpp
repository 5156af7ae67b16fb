// Owns reading the server-wide sections of the config (see read_server.hpp).
// Used by config/load at start-up only: every error names the key (exit 2).
#include "rushcast/config/read_server.hpp"

#include <charconv>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "rushcast/config/redis_url.hpp"
#include "rushcast/core/ids.hpp"

namespace rushcast::config::detail {
namespace {

void read_listen_object(const json& j, listen_cfg& out) {
  section s(j, "listen");
  s.known({"address", "port"});
  s.non_empty_string("address", out.address);
  s.uint("port", out.port, 0, 65535, "an integer port 0..65535");
  s.finish();
}

std::uint32_t parse_port(const std::string& s, const std::string& key) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || v > 65535)
    fail(key, "port must be an integer 0..65535 (got \"" + s + "\")");
  return v;
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

void read_listen(const json& j, listen_cfg& out) {
  if (j.is_string()) {
    parse_listen(j.get<std::string>(), "listen", out);
  } else {
    read_listen_object(j, out);
  }
}

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
  s.known({"backend", "path", "redis_url", "redis_allow_unsafe", "redis_max_pending_commands",
           "redis_max_pending_bytes", "redis_timeout_ms", "redis_reconnect_max_ms",
           "synchronous", "group_commit_max", "bid_batch_wait_us", "min_free_bytes",
           "checkpoint_ms", "redis_bid_batch_max", "redis_view_refresh_ms"});
  s.one_of("backend", out.backend, {"sqlite", "redis"});
  s.non_empty_string("path", out.path);
  s.string("redis_url", out.redis_url);
  if (!out.redis_url.empty()) {
    std::string why;
    if (!parse_redis_url(out.redis_url, &why)) fail(s.key("redis_url"), why);
  }
  s.boolean("redis_allow_unsafe", out.redis_allow_unsafe);
  s.uint("redis_max_pending_commands", out.redis_max_pending_commands, 1, 10'000'000,
         "an integer between 1 and 10000000");
  s.uint("redis_max_pending_bytes", out.redis_max_pending_bytes, 1024, max_i64,
         "an integer of bytes, at least 1024");
  s.positive_ms("redis_timeout_ms", out.redis_timeout_ms);
  s.uint("redis_reconnect_max_ms", out.redis_reconnect_max_ms, 50, 600'000,
         "an integer of milliseconds between 50 and 600000");
  s.one_of("synchronous", out.synchronous, {"full", "normal"});
  s.uint("group_commit_max", out.group_commit_max, 1, 100000,
         "an integer between 1 and 100000");
  s.uint("bid_batch_wait_us", out.bid_batch_wait_us, 0, 100'000,
         "an integer of microseconds between 0 and 100000");
  s.uint("min_free_bytes", out.min_free_bytes, 0, max_i64, "an integer of bytes, 0 or more");
  s.positive_ms("checkpoint_ms", out.checkpoint_ms);
  // rc_auction_bid takes at most 1000 bids per call (src/redis/rushcast.lua).
  s.uint("redis_bid_batch_max", out.redis_bid_batch_max, 1, 1000,
         "an integer between 1 and 1000");
  s.uint("redis_view_refresh_ms", out.redis_view_refresh_ms, 10, 60'000,
         "an integer of milliseconds between 10 and 60000");
  s.finish();
}

void read_bus(const json& j, bus_cfg& out) {
  section s(j, "bus");
  s.known({"stream_key", "stream_maxlen", "read_batch", "read_block_ms", "max_resume_ahead",
           "presence_ttl_ms", "presence_heartbeat_ms", "presence_max_rooms",
           "presence_max_members", "publish_dedup_ms"});
  s.non_empty_string("stream_key", out.stream_key);
  s.uint("stream_maxlen", out.stream_maxlen, 1000, 100'000'000,
         "an integer between 1000 and 100000000");
  s.uint("read_batch", out.read_batch, 1, 100'000, "an integer between 1 and 100000");
  s.uint("read_block_ms", out.read_block_ms, 10, 60'000,
         "an integer of milliseconds between 10 and 60000");
  s.uint("max_resume_ahead", out.max_resume_ahead, 0, 100'000'000,
         "an integer between 0 and 100000000");
  s.uint("presence_ttl_ms", out.presence_ttl_ms, 1000, 600'000,
         "an integer of milliseconds between 1000 and 600000");
  s.uint("presence_heartbeat_ms", out.presence_heartbeat_ms, 100, 300'000,
         "an integer of milliseconds between 100 and 300000");
  s.uint("presence_max_rooms", out.presence_max_rooms, 1, 1'000'000,
         "an integer between 1 and 1000000");
  s.uint("presence_max_members", out.presence_max_members, 1, 1'000'000,
         "an integer between 1 and 1000000");
  s.uint("publish_dedup_ms", out.publish_dedup_ms, 1000, 86'400'000,
         "an integer of milliseconds between 1000 and 86400000");
  s.finish();
}

void read_sse(const json& j, sse_cfg& out) {
  section s(j, "sse");
  s.known({"retry_ms"});
  s.positive_ms("retry_ms", out.retry_ms);
  s.finish();
}

void read_history(const json& j, history_cfg& out) {
  section s(j, "history");
  s.known({"max_events_per_topic", "max_age_ms", "sweep_interval_ms", "max_removed_topics"});
  s.uint("max_events_per_topic", out.max_events_per_topic, 1, 10'000'000,
         "an integer between 1 and 10000000");
  s.positive_ms("max_age_ms", out.max_age_ms);
  s.uint("sweep_interval_ms", out.sweep_interval_ms, 10, 3'600'000,
         "an integer of milliseconds between 10 and 3600000");
  s.uint("max_removed_topics", out.max_removed_topics, 0, 100'000'000,
         "an integer between 0 and 100000000");
  s.finish();
}

void read_cors(const json& j, cors_cfg& out) {
  section s(j, "cors");
  s.known({"allow_origins"});
  s.string_list("allow_origins", out.allow_origins);
  for (std::size_t i = 0; i < out.allow_origins.size(); ++i)
    if (out.allow_origins[i].empty())
      fail("cors.allow_origins[" + std::to_string(i) + "]", "must not be empty");
  s.finish();
}

void read_default_topics(section& s, std::optional<std::vector<std::string>>& out) {
  if (!s.find("default_topics")) return;
  auto& topics = out.emplace();
  s.string_list("default_topics", topics);
  for (std::size_t i = 0; i < topics.size(); ++i)
    if (!core::valid_topic(topics[i]))
      fail("default_topics[" + std::to_string(i) + "]", "must match [A-Za-z0-9:_.-]{1,128}");
}

void read_trusted_proxies(section& s, std::vector<std::string>& out) {
  s.string_list("trusted_proxies", out);
  for (std::size_t i = 0; i < out.size(); ++i)
    if (!valid_ip(out[i]))
      fail("trusted_proxies[" + std::to_string(i) + "]",
           "must be an IPv4 or IPv6 address such as 127.0.0.1 (no names, no ranges)");
}

}  // namespace rushcast::config::detail
