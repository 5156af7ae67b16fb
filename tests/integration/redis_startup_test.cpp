// storage.backend "redis" at start-up (CONTRACT section 8, issue 12): a Redis that could lose
// acknowledged writes is refused with exit 2 naming the setting unless redis_allow_unsafe; a
// durable one gets the Functions library loaded; an unreachable one is exit 1.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "harness_redis.hpp"

namespace rushcast::test {
namespace {

struct run_result {
  int status;
  std::string output;
};

// Runs the daemon with this config until it exits by itself (start-up refusals only).
run_result run_daemon(const nlohmann::json& cfg, const std::string& name) {
  const std::string dir = "/tmp/rushcast-redis-start-" + std::to_string(::getpid()) + "-" + name;
  const std::string path = dir + ".json";
  std::ofstream(path) << cfg.dump();
  std::string cmd = std::string(RUSHCAST_BIN) + " --config " + path + " --data-dir " + dir +
                    " --listen 127.0.0.1:0 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int st = ::pclose(p);
  std::remove(path.c_str());
  std::system(("rm -rf " + dir).c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

nlohmann::json redis_config(const std::string& url, bool allow_unsafe = false) {
  return {{"log", {{"level", "info"}}},
          {"sales", nlohmann::json::array()},
          {"auctions", nlohmann::json::array()},
          {"storage",
           {{"backend", "redis"},
            {"redis_url", url},
            {"redis_allow_unsafe", allow_unsafe},
            {"redis_timeout_ms", 1000}}}};
}

void expect_refused(const std::string& setting_line, const std::string& named) {
  redis_server srv({.password = "", .extra = {setting_line}});
  auto r = run_daemon(redis_config(srv.url()), named);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("config error: storage.backend"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(named), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("storage.redis_allow_unsafe"), std::string::npos) << r.output;
  // Refused before loading anything.
  EXPECT_EQ(srv.command({"FUNCTION", "LIST"}), "*0\r\n");
}

TEST(RedisStartup, AppendonlyOffIsRefusedWithExitTwo) { expect_refused("appendonly no", "appendonly=no"); }

TEST(RedisStartup, AppendfsyncEverysecIsRefusedWithExitTwo) {
  expect_refused("appendfsync everysec", "appendfsync=everysec");
}

TEST(RedisStartup, EvictionPolicyIsRefusedWithExitTwo) {
  expect_refused("maxmemory-policy allkeys-lru", "maxmemory-policy=allkeys-lru");
}

TEST(RedisStartup, DurableRedisGetsTheLibraryAndTheDaemonServes) {
  redis_server srv;
  daemon d(redis_config(srv.url()));
  EXPECT_EQ(http(d.port(), "GET", "/healthz").status, 200u);
  EXPECT_EQ(srv.command({"FCALL_RO", "rc_version", "0"}), "$1\r\n2\r\n");
  EXPECT_NE(d.log().find("Functions library rushcast version 2 loaded"), std::string::npos)
      << d.log();
}

TEST(RedisStartup, AllowUnsafeStartsAndWarnsPerSetting) {
  redis_server srv({.password = "pw", .extra = {"appendonly no", "appendfsync no"}});
  daemon d(redis_config(srv.url(), true));
  EXPECT_EQ(http(d.port(), "GET", "/healthz").status, 200u);
  const std::string log = d.log();
  EXPECT_NE(log.find("appendonly=no (needs yes); running anyway"), std::string::npos) << log;
  EXPECT_NE(log.find("appendfsync=no (needs always); running anyway"), std::string::npos) << log;
  EXPECT_EQ(srv.command({"FCALL_RO", "rc_version", "0"}), "$1\r\n2\r\n");
}

TEST(RedisStartup, UnreachableRedisExitsOne) {
  std::uint16_t port = 0;
  {
    redis_server gone;
    port = gone.port();
  }
  auto r = run_daemon(redis_config("redis://127.0.0.1:" + std::to_string(port)), "unreachable");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("cannot reach Redis at 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << r.output;
}

TEST(RedisStartup, WrongPasswordExitsOneWithoutRepeatingIt) {
  redis_server srv({.password = "right-one", .extra = {}});
  auto r = run_daemon(
      redis_config("redis://:wrong-one@127.0.0.1:" + std::to_string(srv.port())), "password");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(r.output.find("wrong-one"), std::string::npos) << r.output;
}

TEST(RedisStartup, RedisBackendWithoutUrlIsAConfigError) {
  auto cfg = redis_config("");
  cfg["storage"].erase("redis_url");
  auto r = run_daemon(cfg, "nourl");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("storage.redis_url: is required when storage.backend is redis"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace rushcast::test
