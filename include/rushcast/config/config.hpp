// Owns the typed view of config/rushcast.json after validation; read-only after start-up.
// Used by app/ to build every module, and by modules to read their own section.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rushcast::config {

struct listen_cfg {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;  // 0 = ephemeral (tests); the bound port goes to --port-file
};

struct log_cfg {
  std::string level = "info";   // trace|debug|info|warn|error|critical|off
  std::string format = "text";  // text|json
  std::string file;             // empty = stderr; reopened on SIGHUP
};

// Every bound of the daemon: what it is, and (docs/CONFIG.md) what happens at it.
struct limits_cfg {
  std::size_t max_header_bytes = 8192;          // 431
  std::size_t max_body_bytes = 65536;           // 413
  std::size_t max_ws_message_bytes = 65536;     // close 1009
  std::size_t max_connections = 100000;         // 503 + Retry-After
  std::size_t max_connections_per_ip = 50000;   // 503 + Retry-After
  std::size_t max_queue_bytes = 1048576;        // per-connection send queue: close 4008 / end SSE
  std::uint32_t handshake_timeout_ms = 10000;   // request head must arrive within this
  std::uint32_t idle_timeout_ms = 60000;        // idle keep-alive HTTP connection closed
  std::uint32_t max_long_poll_ms = 30000;       // long-poll timeout clamp
  // Events a shard may hold not yet swept to its subscribers before POST /api/publish waits
  // (engines never wait); after max_publish_wait_ms of waiting: 503 + Retry-After.
  std::size_t max_publish_backlog = 256;
  std::uint32_t max_publish_wait_ms = 5000;
  // Subscriptions one connection may hold: a WebSocket subscribe beyond it gets the error
  // too_many_topics; a topics= list beyond it is refused with 400.
  std::size_t max_topics_per_connection = 256;
};

struct sse_cfg {
  std::uint32_t retry_ms = 3000;  // sent as "retry:" at stream start
};

struct websocket_cfg {
  std::vector<std::string> paths{"/ws", "/"};
  std::uint32_t ping_ms = 25000;  // a peer silent for two intervals is dropped
};

struct history_cfg {
  std::size_t max_events_per_topic = 1000;
  std::uint32_t max_age_ms = 300000;
  // How often the hub removes topics with no subscribers and no event younger than max_age_ms.
  std::uint32_t sweep_interval_ms = 1000;
  // Removed topics whose last event id is remembered, so that a Last-Event-ID resume across a
  // removal still answers resync (docs/CONFIG.md).
  std::size_t max_removed_topics = 65536;
};

// The cluster's event bus, a Redis Stream (storage.backend "redis"; docs/ARCHITECTURE.md,
// "Cluster event bus"). Unused with sqlite.
struct bus_cfg {
  // The stream; the epoch and the seq counter are the keys KEY:epoch and KEY:seq.
  std::string stream_key = "rushcast:bus";
  // XADD MAXLEN ~ this: how far back a node that was away can catch up without resync.
  std::size_t stream_maxlen = 100000;
  std::size_t read_batch = 1024;       // XREAD COUNT: events handed to the hub in one call
  std::uint32_t read_block_ms = 1000;  // XREAD BLOCK; below storage.redis_timeout_ms
  // A Last-Event-ID at most this many events beyond what a node has read resumes live there
  // (the client came from a node that read the bus sooner) instead of answering resync.
  std::size_t max_resume_ahead = 10000;
  // Chat presence across the cluster (cluster/presence): a node's membership lives as long as
  // its heartbeat (refreshed every presence_heartbeat_ms, expiring after presence_ttl_ms);
  // a node that stops refreshing has its members removed by the others.
  std::uint32_t presence_ttl_ms = 10000;
  std::uint32_t presence_heartbeat_ms = 2000;  // below presence_ttl_ms / 2
  std::size_t presence_max_rooms = 10000;      // rooms with members, cluster-wide
  std::size_t presence_max_members = 10000;    // members listed per room, cluster-wide
  // How long the bus remembers a publish's Idempotency-Key (a retry within it is not
  // published again): one small key in Redis per keyed publish, for this long.
  std::uint32_t publish_dedup_ms = 300000;
};

struct auth_cfg {
  std::string mode = "off";  // off|jwt
  std::string jwt_secret;    // HS256 secret, required when mode == jwt
  std::string publish_key;   // bearer key for POST /api/publish; empty = publish API disabled
};

struct cors_cfg {
  std::vector<std::string> allow_origins{"*"};
};

struct rate_limit_cfg {
  double per_user_per_s = 5;     // token bucket refill per user (seckill, bid, publish by clients)
  double per_user_burst = 10;
  double per_ip_per_s = 2000;    // token bucket per remote address over all requests
  double per_ip_burst = 4000;
  std::uint32_t ws_abuse_strikes = 20;  // rate-limited WS messages in a row before close 4029
};

struct storage_cfg {
  std::string backend = "sqlite";  // sqlite|redis (cluster mode, docs/CONFIG.md)
  std::string path = "rushcast.db";  // relative to data_dir
  // redis://[:password@]host:port/db, checked at load (config/redis_url); required for redis.
  std::string redis_url;
  // Start even when Redis is not configured to keep acknowledged writes (appendonly yes,
  // appendfsync always, maxmemory-policy noeviction); off: such a Redis is refused (exit 2).
  bool redis_allow_unsafe = false;
  // Bounds of one Redis connection: commands sent or queued and not yet answered, and their
  // bytes; a command beyond either fails at once (redis::error::too_many_pending).
  std::size_t redis_max_pending_commands = 65536;
  std::size_t redis_max_pending_bytes = 64u << 20;
  // Connect and reply timeout: a connection that has not answered a pending command for this
  // long is dropped (its commands fail) and made again.
  std::uint32_t redis_timeout_ms = 5000;
  // Reconnect backoff: 50 ms doubling up to this.
  std::uint32_t redis_reconnect_max_ms = 2000;
  std::string synchronous = "full";  // full|normal: SQLite PRAGMA synchronous
  std::uint32_t group_commit_max = 512;  // requests per transaction at most
  // After a commit answered n bids of an auction, its next write waits for n more bids to be
  // decided (the bidders just answered coming back), for at most this long and never longer
  // than the last write took; 0 = no wait (engine::auction_runner_options::batch_wait).
  std::uint32_t bid_batch_wait_us = 2000;
  // Below this much free space on the data dir's file system, new admissions and bids are
  // refused (503 unavailable) so that orders in the queue and checkpoints can still be written.
  std::uint64_t min_free_bytes = 64ull << 20;
  std::uint32_t checkpoint_ms = 1000;  // the WAL is checkpointed and truncated this often
  // Cluster auctions: bids decided in one FCALL rc_auction_bid at most (a burst is split into
  // several pipelined calls), and how often a node reads an auction's state from Redis for its
  // snapshots and GET answers (bids made on other nodes show up within this).
  std::uint32_t redis_bid_batch_max = 256;
  std::uint32_t redis_view_refresh_ms = 100;
};

struct sale_cfg {
  std::string id;
  std::string name;
  std::int64_t stock = 0;
  std::string start_at;  // ISO-8601 UTC or "+30s"; resolved once on first start and stored
  std::string end_at;
  std::int64_t per_user_limit = 1;
  std::int64_t process_rate_per_s = 0;  // 0 = as fast as the store commits
};

struct auction_cfg {
  std::string id;
  std::string name;
  std::int64_t start_price = 0;
  std::int64_t min_increment = 1;
  std::int64_t reserve_price = 0;
  std::string start_at;
  std::string end_at;
  std::int64_t extend_window_ms = 0;
  std::int64_t extend_by_ms = 0;
};

// What the pages show about the thing a sale sells or an auction auctions (docs/CONFIG.md,
// "Products"). Optional, read apart from the engines' keys (src/config/read_product.cpp); the
// engines never see it, the sale and auction info endpoints return it.
struct product_cfg {
  std::string description;      // plain text, at most 2000 bytes
  std::string image;            // an http(s) URL, or the path of a file under static_dir
  // In the currency's smallest unit, like every amount (4999 = 49.99 EUR); requires currency.
  std::optional<std::int64_t> price;
  std::string currency;         // ISO 4217 code, e.g. "EUR"
};

struct config {
  listen_cfg listen;
  unsigned threads = 0;  // 0 = number of cores
  log_cfg log;
  limits_cfg limits;
  std::uint32_t heartbeat_ms = 15000;
  std::uint32_t coalesce_ms = 50;
  std::uint32_t countdown_sync_ms = 10000;
  std::uint32_t shutdown_timeout_ms = 5000;
  // Topics of a connection that names none. Absent (the key not in the file) is not the same as
  // empty: absent means the seed's defaults, every sale for SSE and long-poll and every auction
  // for a WebSocket (CONTRACT section 2); a list, even [], is used as it is for all three.
  std::optional<std::vector<std::string>> default_topics;
  // Peers whose X-Real-IP / X-Forwarded-For name the client (rate and connection limits, logs).
  std::vector<std::string> trusted_proxies{"127.0.0.1", "::1"};
  sse_cfg sse;
  websocket_cfg websocket;
  history_cfg history;
  bus_cfg bus;
  auth_cfg auth;
  cors_cfg cors;
  rate_limit_cfg rate_limit;
  storage_cfg storage;
  std::string data_dir = "data";
  std::string static_dir = "web";
  std::vector<sale_cfg> sales;
  std::vector<auction_cfg> auctions;
  // Product fields by topic: "sale:ID" and "auction:ID" (a sale and an auction may share an id).
  std::map<std::string, product_cfg> products;
};

}  // namespace rushcast::config
