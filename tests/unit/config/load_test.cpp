// Config loading: the demo, overrides, and that each bad input is refused naming its key.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rushcast/config/load.hpp"

using namespace rushcast::config;

namespace {

// The error text of parse(text), or "" when it parsed.
std::string parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const config_error& e) {
    return e.what();
  }
  return {};
}

std::string cli_error(std::vector<std::string> args) {
  std::vector<char*> argv{const_cast<char*>("rushcast")};
  for (auto& a : args) argv.push_back(a.data());
  try {
    parse_cli(static_cast<int>(argv.size()), argv.data());
  } catch (const config_error& e) {
    return e.what();
  }
  return {};
}

cli_options cli(std::vector<std::string> args) {
  std::vector<char*> argv{const_cast<char*>("rushcast")};
  for (auto& a : args) argv.push_back(a.data());
  return parse_cli(static_cast<int>(argv.size()), argv.data());
}

constexpr const char* good_sale =
    R"({"id":"s1","stock":5,"start_at":"+0s","end_at":"+1h"})";

}  // namespace

TEST(ConfigLoad, EmptyObjectGivesDefaults) {
  config c = parse("{}");
  EXPECT_EQ(c.listen.port, 8080);
  EXPECT_EQ(c.listen.address, "0.0.0.0");
  EXPECT_EQ(c.limits.max_body_bytes, 65536u);
  EXPECT_EQ(c.heartbeat_ms, 15000u);
  EXPECT_EQ(c.storage.backend, "sqlite");
  EXPECT_TRUE(c.sales.empty());
}

TEST(ConfigLoad, EmbeddedDefaultIsTheDemo) {
  config c = embedded_default();
  ASSERT_EQ(c.sales.size(), 1u);
  EXPECT_EQ(c.sales[0].id, "demo");
  EXPECT_EQ(c.sales[0].stock, 100);
  EXPECT_EQ(c.sales[0].start_at, "+20s");
  EXPECT_EQ(c.sales[0].end_at, "+1h");
  EXPECT_EQ(c.sales[0].per_user_limit, 1);
  EXPECT_EQ(c.sales[0].process_rate_per_s, 20);
  ASSERT_EQ(c.auctions.size(), 1u);
  EXPECT_EQ(c.auctions[0].name, "Vintage watch");
  EXPECT_EQ(c.auctions[0].start_price, 10000);
  EXPECT_EQ(c.auctions[0].min_increment, 500);
  EXPECT_EQ(c.auctions[0].reserve_price, 20000);
  EXPECT_EQ(c.auctions[0].end_at, "+10m");
  EXPECT_EQ(c.auctions[0].extend_window_ms, 30000);
  EXPECT_EQ(c.auctions[0].extend_by_ms, 30000);
  // Absent, so a bare SSE stream shows the sale and a bare WebSocket the auction (seed clients).
  EXPECT_FALSE(c.default_topics.has_value());
  EXPECT_EQ(c.auth.mode, "off");
  EXPECT_EQ(c.auth.publish_key, "demo-publish-key");
  EXPECT_EQ(c.static_dir, "web");
  EXPECT_EQ(c.data_dir, "data");
  EXPECT_EQ(c.listen.address, "0.0.0.0");
  EXPECT_EQ(c.listen.port, 8080);
}

TEST(ConfigLoad, ShippedFileMatchesEmbeddedDemo) {
  // Found by walking up from the test's directory or the working directory (the build tree
  // usually sits inside the source tree); __FILE__ may be relative under ccache.
  std::filesystem::path found;
  for (auto start : {std::filesystem::absolute(std::filesystem::path(__FILE__)).parent_path(),
                     std::filesystem::current_path()}) {
    for (auto dir = start; !dir.empty(); dir = dir.parent_path()) {
      if (std::filesystem::exists(dir / "config/rushcast.json") &&
          std::filesystem::exists(dir / "docs/CONFIG.md")) {
        found = dir / "config/rushcast.json";
        break;
      }
      if (dir == dir.parent_path()) break;
    }
    if (!found.empty()) break;
  }
  if (found.empty()) GTEST_SKIP() << "source tree not reachable from here";
  config f = load_file(found.string());
  config e = embedded_default();
  ASSERT_EQ(f.sales.size(), e.sales.size());
  ASSERT_EQ(f.auctions.size(), e.auctions.size());
  EXPECT_EQ(f.sales[0].id, e.sales[0].id);
  EXPECT_EQ(f.sales[0].stock, e.sales[0].stock);
  EXPECT_EQ(f.sales[0].start_at, e.sales[0].start_at);
  EXPECT_EQ(f.sales[0].end_at, e.sales[0].end_at);
  EXPECT_EQ(f.sales[0].process_rate_per_s, e.sales[0].process_rate_per_s);
  EXPECT_EQ(f.auctions[0].name, e.auctions[0].name);
  EXPECT_EQ(f.auctions[0].start_price, e.auctions[0].start_price);
  EXPECT_EQ(f.auctions[0].reserve_price, e.auctions[0].reserve_price);
  EXPECT_EQ(f.auctions[0].end_at, e.auctions[0].end_at);
  EXPECT_EQ(f.auth.publish_key, e.auth.publish_key);
  EXPECT_EQ(f.auth.mode, e.auth.mode);
  EXPECT_EQ(f.listen.address, e.listen.address);
  EXPECT_EQ(f.listen.port, e.listen.port);
  EXPECT_EQ(f.default_topics, e.default_topics);
  EXPECT_EQ(f.static_dir, e.static_dir);
  EXPECT_EQ(f.data_dir, e.data_dir);
  EXPECT_EQ(f.limits.max_body_bytes, e.limits.max_body_bytes);
  EXPECT_EQ(f.limits.max_publish_backlog, e.limits.max_publish_backlog);
  EXPECT_EQ(f.limits.max_publish_wait_ms, e.limits.max_publish_wait_ms);
  EXPECT_EQ(f.heartbeat_ms, e.heartbeat_ms);
}

TEST(ConfigLoad, ReadsEveryNestedSection) {
  config c = parse(R"({
    "listen": {"address": "127.0.0.1", "port": 0},
    "threads": 2,
    "log": {"level": "debug", "format": "json", "file": "/tmp/x.log"},
    "limits": {"max_body_bytes": 1000, "max_long_poll_ms": 5000},
    "websocket": {"paths": ["/live"], "ping_ms": 1000},
    "storage": {"backend": "sqlite", "path": "a.db", "synchronous": "normal", "group_commit_max": 8},
    "rate_limit": {"per_user_per_s": 0.5, "per_user_burst": 2},
    "cors": {"allow_origins": ["https://shop.example"]},
    "auth": {"mode": "jwt", "jwt_secret": "s3cret"}
  })");
  EXPECT_EQ(c.listen.address, "127.0.0.1");
  EXPECT_EQ(c.listen.port, 0);
  EXPECT_EQ(c.threads, 2u);
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.limits.max_body_bytes, 1000u);
  EXPECT_EQ(c.limits.max_long_poll_ms, 5000u);
  EXPECT_EQ(c.websocket.paths, std::vector<std::string>{"/live"});
  EXPECT_EQ(c.storage.synchronous, "normal");
  EXPECT_EQ(c.storage.group_commit_max, 8u);
  EXPECT_DOUBLE_EQ(c.rate_limit.per_user_per_s, 0.5);
  EXPECT_EQ(c.cors.allow_origins, std::vector<std::string>{"https://shop.example"});
  EXPECT_EQ(c.auth.jwt_secret, "s3cret");
}

TEST(ConfigLoad, BidBatchWaitIsReadWithItsDefaultAndBounds) {
  EXPECT_EQ(parse("{}").storage.bid_batch_wait_us, 2000u);
  EXPECT_EQ(parse(R"({"storage": {"bid_batch_wait_us": 0}})").storage.bid_batch_wait_us, 0u);
  EXPECT_EQ(parse(R"({"storage": {"bid_batch_wait_us": 500}})").storage.bid_batch_wait_us, 500u);
  EXPECT_NE(parse_error(R"({"storage": {"bid_batch_wait_us": 100001}})")
                .find("storage.bid_batch_wait_us"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"storage": {"bid_batch_wait_us": -1}})").find("bid_batch_wait_us"),
            std::string::npos);
}

TEST(ConfigLoad, DefaultTopicsAbsentIsNotEmpty) {
  // Absent: the seed's defaults (every sale, every auction); [] explicitly subscribes nothing.
  EXPECT_FALSE(parse("{}").default_topics.has_value());
  auto empty = parse(R"({"default_topics": []})").default_topics;
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
  auto listed = parse(R"({"default_topics": ["sale:a", "news"]})").default_topics;
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(*listed, (std::vector<std::string>{"sale:a", "news"}));
  EXPECT_NE(parse_error(R"({"default_topics": null})").find("default_topics"), std::string::npos);
}

TEST(ConfigLoad, ListenAcceptsHostPortString) {
  config c = parse(R"({"listen": "127.0.0.1:9000"})");
  EXPECT_EQ(c.listen.address, "127.0.0.1");
  EXPECT_EQ(c.listen.port, 9000);
}

TEST(ConfigLoad, UnknownKeysNameTheirFullPath) {
  EXPECT_EQ(parse_error(R"({"heartbeat_msx": 5})"), "heartbeat_msx: unknown key");
  EXPECT_EQ(parse_error(R"({"limits": {"max_body": 5}})"), "limits.max_body: unknown key");
  EXPECT_EQ(parse_error(R"({"sales": [{"id":"a","stok":5,"stock":1,"start_at":"+0s","end_at":"+1h"}]})"),
            "sales[0].stok: unknown key");
  // Reported as unknown even though the key it replaces ("stock") is required.
  EXPECT_EQ(parse_error(R"({"sales": [{"id":"a","stok":5}]})"), "sales[0].stok: unknown key");
  // A misspelt top-level key is reported before a later section's error.
  EXPECT_EQ(parse_error(R"({"sales": [{"id":"a"}], "zzz": 1})"), "zzz: unknown key");
  EXPECT_EQ(parse_error(std::string(R"({"sales": [)") + good_sale +
                        R"(, {"id":"b","stock":1,"start_at":"+0s","end_at":"+1h","x":1}]})"),
            "sales[1].x: unknown key");
  EXPECT_EQ(parse_error(R"({"auctions": [{"id":"a","start_at":"+0s","end_at":"+1h","reserve":1}]})"),
            "auctions[0].reserve: unknown key");
}

TEST(ConfigLoad, WrongTypesAreRefused) {
  EXPECT_NE(parse_error(R"({"limits": {"max_body_bytes": "lots"}})")
                .find("limits.max_body_bytes: must be"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"heartbeat_ms": 1.5})").find("heartbeat_ms"), std::string::npos);
  EXPECT_NE(parse_error(R"({"heartbeat_ms": true})").find("heartbeat_ms"), std::string::npos);
  EXPECT_NE(parse_error(R"({"log": {"level": 3}})").find("log.level"), std::string::npos);
  EXPECT_NE(parse_error(R"({"default_topics": "sale:demo"})").find("default_topics"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"websocket": {"paths": ["/ws", 5]}})").find("websocket.paths[1]"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"limits": 5})").find("limits: must be a JSON object"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"sales": {}})").find("sales"), std::string::npos);
  EXPECT_NE(parse_error(R"([1,2])").find("must be a JSON object"), std::string::npos);
}

TEST(ConfigLoad, OutOfRangeValuesAreRefused) {
  EXPECT_NE(parse_error(R"({"listen": {"port": 65536}})").find("listen.port"), std::string::npos);
  EXPECT_NE(parse_error(R"({"listen": {"port": -1}})").find("listen.port"), std::string::npos);
  EXPECT_NE(parse_error(R"({"listen": "host:70000"})").find("listen"), std::string::npos);
  EXPECT_NE(parse_error(R"({"limits": {"max_body_bytes": 0}})").find("limits.max_body_bytes"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"limits": {"max_connections": -5}})").find("limits.max_connections"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"limits": {"max_long_poll_ms": 60000}})").find("max_long_poll_ms"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"heartbeat_ms": 0})").find("heartbeat_ms"), std::string::npos);
  EXPECT_NE(parse_error(R"({"heartbeat_ms": 18446744073709551615})").find("heartbeat_ms"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"threads": 1000})").find("threads"), std::string::npos);
  EXPECT_NE(parse_error(R"({"rate_limit": {"per_user_per_s": 0}})").find("rate_limit.per_user_per_s"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"rate_limit": {"per_ip_burst": 0.5}})").find("rate_limit.per_ip_burst"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"sales": [{"id":"a","stock":0,"start_at":"+0s","end_at":"+1h"}]})")
                .find("sales[0].stock"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"sales": [{"id":"a","stock":1,"per_user_limit":0,"start_at":"+0s","end_at":"+1h"}]})")
                .find("sales[0].per_user_limit"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"auctions": [{"id":"a","min_increment":0,"start_at":"+0s","end_at":"+1h"}]})")
                .find("auctions[0].min_increment"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"auctions": [{"id":"a","start_price":-1,"start_at":"+0s","end_at":"+1h"}]})")
                .find("auctions[0].start_price"),
            std::string::npos);
}

TEST(ConfigLoad, PublishBacklogLimitsAreReadAndBounded) {
  config d = parse("{}");
  EXPECT_EQ(d.limits.max_publish_backlog, 256u);
  EXPECT_EQ(d.limits.max_publish_wait_ms, 5000u);
  config c = parse(R"({"limits": {"max_publish_backlog": 1, "max_publish_wait_ms": 0}})");
  EXPECT_EQ(c.limits.max_publish_backlog, 1u);
  EXPECT_EQ(c.limits.max_publish_wait_ms, 0u);
  EXPECT_NE(parse_error(R"({"limits": {"max_publish_backlog": 0}})")
                .find("limits.max_publish_backlog"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"limits": {"max_publish_backlog": 1048577}})")
                .find("limits.max_publish_backlog"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"limits": {"max_publish_backlog": "64"}})")
                .find("limits.max_publish_backlog"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"limits": {"max_publish_wait_ms": 60001}})")
                .find("limits.max_publish_wait_ms"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"limits": {"max_publish_wait_ms": -1}})")
                .find("limits.max_publish_wait_ms"),
            std::string::npos);
  EXPECT_EQ(embedded_default().limits.max_publish_backlog, 256u);
}

TEST(ConfigLoad, TopicsPerConnectionLimitIsReadAndBounded) {
  EXPECT_EQ(parse("{}").limits.max_topics_per_connection, 256u);
  EXPECT_EQ(parse(R"({"limits": {"max_topics_per_connection": 3}})").limits.max_topics_per_connection,
            3u);
  for (const char* bad : {"0", "1048577", "-1", "\"8\""})
    EXPECT_NE(parse_error(std::string(R"({"limits": {"max_topics_per_connection": )") + bad + "}}")
                  .find("limits.max_topics_per_connection"),
              std::string::npos)
        << bad;
}

TEST(ConfigLoad, HistorySweepKeysAreReadAndBounded) {
  config d = parse("{}");
  EXPECT_EQ(d.history.sweep_interval_ms, 1000u);
  EXPECT_EQ(d.history.max_removed_topics, 65536u);
  config c = parse(R"({"history": {"sweep_interval_ms": 100, "max_removed_topics": 0}})");
  EXPECT_EQ(c.history.sweep_interval_ms, 100u);
  EXPECT_EQ(c.history.max_removed_topics, 0u);
  EXPECT_NE(parse_error(R"({"history": {"sweep_interval_ms": 9}})")
                .find("history.sweep_interval_ms"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"history": {"max_removed_topics": -1}})")
                .find("history.max_removed_topics"),
            std::string::npos);
}

TEST(ConfigLoad, BusKeysAreReadAndBounded) {
  config d = parse("{}");
  EXPECT_EQ(d.bus.stream_key, "rushcast:bus");
  EXPECT_EQ(d.bus.stream_maxlen, 100000u);
  EXPECT_EQ(d.bus.read_batch, 1024u);
  EXPECT_EQ(d.bus.read_block_ms, 1000u);
  EXPECT_EQ(d.bus.max_resume_ahead, 10000u);
  config c = parse(R"({"bus": {"stream_key": "shop:bus", "stream_maxlen": 5000,
                               "read_batch": 64, "read_block_ms": 200, "max_resume_ahead": 0}})");
  EXPECT_EQ(c.bus.stream_key, "shop:bus");
  EXPECT_EQ(c.bus.stream_maxlen, 5000u);
  EXPECT_EQ(c.bus.read_batch, 64u);
  EXPECT_EQ(c.bus.read_block_ms, 200u);
  EXPECT_EQ(c.bus.max_resume_ahead, 0u);
  for (const char* bad : {R"({"bus": {"stream_key": ""}})", R"({"bus": {"stream_maxlen": 10}})",
                          R"({"bus": {"read_batch": 0}})", R"({"bus": {"read_block_ms": 5}})",
                          R"({"bus": {"nope": 1}})"})
    EXPECT_NE(parse_error(bad).find("bus."), std::string::npos) << bad;
}

TEST(ConfigLoad, BusPresenceKeysAreReadAndBounded) {
  config d = parse("{}");
  EXPECT_EQ(d.bus.presence_ttl_ms, 10000u);
  EXPECT_EQ(d.bus.presence_heartbeat_ms, 2000u);
  EXPECT_EQ(d.bus.presence_max_rooms, 10000u);
  EXPECT_EQ(d.bus.presence_max_members, 10000u);
  EXPECT_EQ(d.bus.publish_dedup_ms, 300000u);
  EXPECT_EQ(parse(R"({"bus": {"publish_dedup_ms": 1000}})").bus.publish_dedup_ms, 1000u);
  EXPECT_NE(parse_error(R"({"bus": {"publish_dedup_ms": 999}})").find("bus.publish_dedup_ms"),
            std::string::npos);
  config c = parse(R"({"bus": {"presence_ttl_ms": 3000, "presence_heartbeat_ms": 1500,
                               "presence_max_rooms": 5, "presence_max_members": 7}})");
  EXPECT_EQ(c.bus.presence_ttl_ms, 3000u);
  EXPECT_EQ(c.bus.presence_heartbeat_ms, 1500u);
  EXPECT_EQ(c.bus.presence_max_rooms, 5u);
  EXPECT_EQ(c.bus.presence_max_members, 7u);
  for (const char* bad : {R"({"bus": {"presence_ttl_ms": 999}})",
                          R"({"bus": {"presence_heartbeat_ms": 50}})",
                          R"({"bus": {"presence_max_rooms": 0}})",
                          R"({"bus": {"presence_max_members": 0}})"})
    EXPECT_NE(parse_error(bad).find("bus.presence_"), std::string::npos) << bad;
  // A heartbeat must come at least twice per lifetime, or one late beat drops the members.
  EXPECT_NE(parse_error(R"({"bus": {"presence_ttl_ms": 3000, "presence_heartbeat_ms": 1501}})")
                .find("bus.presence_heartbeat_ms"),
            std::string::npos);
}

TEST(ConfigLoad, EnumeratedValuesAreChecked) {
  EXPECT_NE(parse_error(R"({"log": {"level": "verbose"}})").find("log.level"), std::string::npos);
  EXPECT_NE(parse_error(R"({"log": {"format": "xml"}})").find("log.format"), std::string::npos);
  EXPECT_NE(parse_error(R"({"auth": {"mode": "basic"}})").find("auth.mode"), std::string::npos);
  EXPECT_NE(parse_error(R"({"storage": {"synchronous": "off"}})").find("storage.synchronous"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"storage": {"backend": "postgres"}})").find("storage.backend"),
            std::string::npos);
}

TEST(ConfigLoad, RedisBackendReadsItsKeys) {
  auto c = parse(R"({"storage": {"backend": "redis", "redis_url": "redis://:pw@10.0.0.5:6380/2",
    "redis_allow_unsafe": true, "redis_max_pending_commands": 10, "redis_max_pending_bytes": 4096,
    "redis_timeout_ms": 750, "redis_reconnect_max_ms": 100}})");
  EXPECT_EQ(c.storage.backend, "redis");
  EXPECT_EQ(c.storage.redis_url, "redis://:pw@10.0.0.5:6380/2");
  EXPECT_TRUE(c.storage.redis_allow_unsafe);
  EXPECT_EQ(c.storage.redis_max_pending_commands, 10u);
  EXPECT_EQ(c.storage.redis_max_pending_bytes, 4096u);
  EXPECT_EQ(c.storage.redis_timeout_ms, 750u);
  EXPECT_EQ(c.storage.redis_reconnect_max_ms, 100u);
}

TEST(ConfigLoad, RedisDefaultsAreSafe) {
  auto c = parse("{}");
  EXPECT_FALSE(c.storage.redis_allow_unsafe);
  EXPECT_EQ(c.storage.redis_max_pending_commands, 65536u);
  EXPECT_EQ(c.storage.redis_max_pending_bytes, 64u << 20);
}

TEST(ConfigLoad, RedisBackendNeedsAUrl) {
  EXPECT_EQ(parse_error(R"({"storage": {"backend": "redis"}})"),
            "storage.redis_url: is required when storage.backend is redis");
}

TEST(ConfigLoad, BadRedisKeysAreNamed) {
  EXPECT_EQ(parse_error(R"({"storage": {"redis_url": "http://x"}})"),
            "storage.redis_url: must start with redis:// (redis://[:password@]host:port/db)");
  EXPECT_EQ(parse_error(R"({"storage": {"redis_url": "redis://h:99999"}})"),
            "storage.redis_url: has a port that is not an integer between 1 and 65535");
  EXPECT_EQ(parse_error(R"({"storage": {"redis_allow_unsafe": "yes"}})"),
            "storage.redis_allow_unsafe: must be true or false");
  EXPECT_NE(parse_error(R"({"storage": {"redis_max_pending_commands": 0}})")
                .find("storage.redis_max_pending_commands"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"storage": {"redis_timeout_ms": 0}})").find("storage.redis_timeout_ms"),
            std::string::npos);
}

TEST(ConfigLoad, JwtModeNeedsASecret) {
  EXPECT_NE(parse_error(R"({"auth": {"mode": "jwt"}})").find("auth.jwt_secret"),
            std::string::npos);
  EXPECT_EQ(parse_error(R"({"auth": {"mode": "jwt", "jwt_secret": "k"}})"), "");
}

TEST(ConfigLoad, IdsAreCheckedAndUnique) {
  EXPECT_NE(parse_error(R"({"sales": [{"id":"a b","stock":1,"start_at":"+0s","end_at":"+1h"}]})")
                .find("sales[0].id"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"sales": [{"id":"","stock":1,"start_at":"+0s","end_at":"+1h"}]})")
                .find("sales[0].id"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"sales": [{"stock":1,"start_at":"+0s","end_at":"+1h"}]})")
                .find("sales[0].id: is required"),
            std::string::npos);
  std::string long_id(65, 'x');
  EXPECT_NE(parse_error(R"({"sales": [{"id":")" + long_id +
                        R"(","stock":1,"start_at":"+0s","end_at":"+1h"}]})")
                .find("sales[0].id"),
            std::string::npos);
  EXPECT_NE(parse_error(std::string(R"({"sales": [)") + good_sale + "," + good_sale + "]}")
                .find("sales[1].id: duplicate"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"auctions": [{"id":"a","start_at":"+0s","end_at":"+1h"},{"id":"a","start_at":"+0s","end_at":"+1h"}]})")
                .find("auctions[1].id: duplicate"),
            std::string::npos);
  // A sale and an auction may share an id: they live in different namespaces.
  EXPECT_EQ(parse_error(R"({"sales": [{"id":"x","stock":1,"start_at":"+0s","end_at":"+1h"}],
                            "auctions": [{"id":"x","start_at":"+0s","end_at":"+1h"}]})"),
            "");
}

TEST(ConfigLoad, SaleWindowMustBeOrdered) {
  EXPECT_NE(parse_error(R"({"sales": [{"id":"a","stock":1,"start_at":"2026-11-25T20:00:00Z","end_at":"2026-11-25T19:00:00Z"}]})")
                .find("sales[0].end_at: must be after start_at"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"sales": [{"id":"a","stock":1,"start_at":"+1h","end_at":"+5m"}]})")
                .find("sales[0].end_at"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"sales": [{"id":"a","stock":1,"start_at":"+0s"}]})")
                .find("sales[0].end_at: is required"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"sales": [{"id":"a","stock":1,"start_at":"tomorrow","end_at":"+1h"}]})")
                .find("sales[0].start_at"),
            std::string::npos);
  // Mixed forms cannot be compared until first start: accepted.
  EXPECT_EQ(parse_error(R"({"sales": [{"id":"a","stock":1,"start_at":"+0s","end_at":"2030-01-01T00:00:00Z"}]})"),
            "");
}

TEST(ConfigLoad, MalformedJsonAndDuplicateKeysAreRefused) {
  EXPECT_NE(parse_error(R"({"listen": )").find("invalid JSON"), std::string::npos);
  EXPECT_NE(parse_error("").find("invalid JSON"), std::string::npos);
  EXPECT_NE(parse_error(R"({"a": 1 // comment
  })").find("invalid JSON"), std::string::npos);
  EXPECT_NE(parse_error(R"({"heartbeat_ms": 1, "heartbeat_ms": 2})").find("heartbeat_ms: duplicate key"),
            std::string::npos);
}

TEST(ConfigLoad, DefaultTopicsMustBeValidTopics) {
  EXPECT_NE(parse_error(R"({"default_topics": ["sale:demo", "bad topic"]})").find("default_topics[1]"),
            std::string::npos);
}

TEST(ConfigLoad, TrustedProxiesAreLiteralAddresses) {
  EXPECT_EQ(parse("{}").trusted_proxies, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_TRUE(parse(R"({"trusted_proxies": []})").trusted_proxies.empty());
  EXPECT_EQ(parse(R"({"trusted_proxies": ["10.0.0.7", "fd00::1"]})").trusted_proxies.size(), 2u);
  EXPECT_NE(parse_error(R"({"trusted_proxies": ["10.0.0.7", "nginx.local"]})")
                .find("trusted_proxies[1]"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"trusted_proxies": ["10.0.0.0/8"]})").find("trusted_proxies[0]"),
            std::string::npos);
  // Only the form the listener prints would ever match a peer.
  EXPECT_NE(parse_error(R"({"trusted_proxies": ["::0001"]})").find("trusted_proxies[0]"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"trusted_proxies": "127.0.0.1"})").find("trusted_proxies"),
            std::string::npos);
}

TEST(ConfigLoad, MissingFileIsAConfigError) {
  EXPECT_THROW(load_file("/nonexistent/rushcast.json"), config_error);
}

TEST(ConfigTime, RelativeTimesResolveAgainstNow) {
  EXPECT_EQ(resolve_time("+30s", 1000, "k"), 31000);
  EXPECT_EQ(resolve_time("+5m", 0, "k"), 300000);
  EXPECT_EQ(resolve_time("+2h", 0, "k"), 7200000);
  EXPECT_EQ(resolve_time("+1d", 0, "k"), 86400000);
  EXPECT_EQ(resolve_time("+0s", 42, "k"), 42);
  EXPECT_TRUE(is_relative_time("+30s"));
  EXPECT_FALSE(is_relative_time("2026-11-25T20:00:00Z"));
}

TEST(ConfigTime, IsoTimesAreUtcEpochMs) {
  EXPECT_EQ(resolve_time("1970-01-01T00:00:00Z", 0, "k"), 0);
  EXPECT_EQ(resolve_time("2026-11-25T20:00:00Z", 0, "k"), 1795636800000LL);
  EXPECT_EQ(resolve_time("2026-11-25T20:00:00.123Z", 0, "k"), 1795636800123LL);
  EXPECT_EQ(resolve_time("2026-11-25T20:00:00.5Z", 0, "k"), 1795636800500LL);
  EXPECT_EQ(resolve_time("2024-02-29T00:00:00Z", 0, "k"), 1709164800000LL);
}

TEST(ConfigTime, BadTimesNameTheKey) {
  for (std::string bad : {"", "+", "+s", "+30", "+30x", "+-5s", "+5.5m", "30s", "now",
                          "2026-11-25 20:00:00Z", "2026-11-25T20:00:00", "2026-11-25T20:00:00+01:00",
                          "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z",
                          "2026-11-25T24:00:00Z", "2026-11-25T20:60:00Z", "2026-11-25T20:00:00.Z",
                          "2026-11-25T20:00:00ZZ", "+99999999999d"}) {
    try {
      resolve_time(bad, 0, "sales[0].start_at");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const config_error& e) {
      EXPECT_NE(std::string(e.what()).find("sales[0].start_at"), std::string::npos) << bad;
    }
  }
}

TEST(ConfigCli, ParsesFlagsInBothForms) {
  auto o = cli({"--config", "a.json", "--check-config", "--port-file=/tmp/p", "--listen",
                "127.0.0.1:0", "--log-level=debug", "--data-dir", "d", "--threads=2",
                "--static-dir", "s"});
  EXPECT_EQ(o.config_path, "a.json");
  EXPECT_TRUE(o.check_config);
  EXPECT_EQ(o.port_file, "/tmp/p");
  config c = parse("{}");
  apply_overrides(c, o);
  EXPECT_EQ(c.listen.address, "127.0.0.1");
  EXPECT_EQ(c.listen.port, 0);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.data_dir, "d");
  EXPECT_EQ(c.threads, 2u);
  EXPECT_EQ(c.static_dir, "s");
}

TEST(ConfigCli, VersionAndHelp) {
  EXPECT_TRUE(cli({"--version"}).show_version);
  EXPECT_TRUE(cli({"--help"}).show_help);
  EXPECT_NE(help_text().find("--check-config"), std::string::npos);
}

TEST(ConfigCli, ListenTakesIpv6Brackets) {
  config c;
  apply_overrides(c, cli({"--listen", "[::1]:8081"}));
  EXPECT_EQ(c.listen.address, "::1");
  EXPECT_EQ(c.listen.port, 8081);
}

TEST(ConfigCli, BadFlagsAreConfigErrors) {
  EXPECT_NE(cli_error({"--no-such-flag"}).find("--no-such-flag"), std::string::npos);
  EXPECT_NE(cli_error({"--config"}).find("--config: needs a value"), std::string::npos);
  EXPECT_NE(cli_error({"--listen", "8080"}).find("--listen"), std::string::npos);
  EXPECT_NE(cli_error({"--listen", "host:99999"}).find("--listen"), std::string::npos);
  EXPECT_NE(cli_error({"--listen", ":80"}).find("--listen"), std::string::npos);
  EXPECT_NE(cli_error({"--log-level", "loud"}).find("--log-level"), std::string::npos);
  EXPECT_NE(cli_error({"--threads", "two"}).find("--threads"), std::string::npos);
  EXPECT_NE(cli_error({"--threads=-1"}).find("--threads"), std::string::npos);
  EXPECT_NE(cli_error({"--version=1"}).find("--version"), std::string::npos);
  EXPECT_NE(cli_error({"positional"}).find("positional"), std::string::npos);
  EXPECT_NE(cli_error({"--data-dir="}).find("--data-dir"), std::string::npos);
}

TEST(ConfigLoad, StorageHeadroomAndCheckpointKeys) {
  config c = parse(R"({"storage": {"min_free_bytes": 1048576, "checkpoint_ms": 250}})");
  EXPECT_EQ(c.storage.min_free_bytes, 1048576u);
  EXPECT_EQ(c.storage.checkpoint_ms, 250u);
  config d = parse("{}");
  EXPECT_EQ(d.storage.min_free_bytes, 64ull << 20);
  EXPECT_EQ(d.storage.checkpoint_ms, 1000u);
  EXPECT_NE(parse_error(R"({"storage": {"min_free_bytes": -1}})").find("storage.min_free_bytes"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"storage": {"checkpoint_ms": 0}})").find("storage.checkpoint_ms"),
            std::string::npos);
}

// Found by the config fuzzer: nlohmann reports a float that overflows as out_of_range, not as a
// parse error; it must still be a config_error (exit 2), never an escaped exception.
TEST(ConfigLoad, NumberOutOfRangeIsAConfigError) {
  EXPECT_NE(parse_error("3E500"), "");
  EXPECT_NE(parse_error(R"({"limits": {"max_body_bytes": 1E500}})"), "");
}
