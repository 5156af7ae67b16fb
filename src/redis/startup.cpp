// Start-up with storage.backend redis: connect, check durability settings, load the library.
#include "rushcast/redis/startup.hpp"

#include <memory>
#include <optional>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/config/load.hpp"
#include "rushcast/redis/client.hpp"
#include "rushcast/redis/functions.hpp"

namespace rushcast::redis {
namespace {

struct outcome {
  boost::system::error_code ec;
  reply r;
};

// The settings an acknowledged write depends on, and the value each must have: without the
// AOF, or with it fsynced only every second, a crash loses answered orders; an eviction
// policy may drop a stock or queue key under memory pressure and oversell.
struct required_setting {
  const char* name;
  const char* value;
};
constexpr required_setting required[] = {
    {"appendonly", "yes"},
    {"appendfsync", "always"},
    {"maxmemory-policy", "noeviction"},
};

}  // namespace

durability_report prepare_redis(const config::storage_cfg& storage) {
  auto opts = client_options::from(storage);
  const std::string where = opts.endpoint.host + ":" + std::to_string(opts.endpoint.port);
  boost::asio::io_context ioc;
  auto c = client::create(ioc.get_executor(), opts);
  c->run();
  auto run_until = [&](auto pred) {
    const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
    while (!pred() && std::chrono::steady_clock::now() < deadline)
      ioc.run_one_for(std::chrono::milliseconds(10));
    return pred();
  };
  struct closer {
    std::shared_ptr<client> c;
    boost::asio::io_context& ioc;
    ~closer() {
      c->close();
      ioc.restart();
      ioc.run_for(std::chrono::seconds(1));
    }
  } close_at_exit{c, ioc};

  if (!run_until([&] { return c->connected(); }))
    throw std::runtime_error("storage.redis_url: cannot reach Redis at " + where + " within " +
                             std::to_string(storage.redis_timeout_ms) + " ms");

  // Sends the commands in one pipeline and waits for every reply.
  auto call_all = [&](const std::vector<std::vector<std::string_view>>& commands) {
    // Shared: after a timeout the callbacks still run (failed by close()) once this returned.
    auto got = std::make_shared<std::vector<std::optional<outcome>>>(commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i)
      c->execute(std::span<const std::string_view>(commands[i]),
                 [got, i](boost::system::error_code ec, reply r) {
                   (*got)[i] = outcome{ec, std::move(r)};
                 });
    if (!run_until([&] {
          for (auto& g : *got)
            if (!g) return false;
          return true;
        }))
      throw std::runtime_error("Redis at " + where + " did not answer the start-up checks");
    std::vector<outcome> out;
    for (auto& g : *got) out.push_back(std::move(*g));
    return out;
  };

  // The settings first: a Redis that is refused gets nothing loaded into it.
  std::vector<std::vector<std::string_view>> config_gets;
  for (const auto& req : required) config_gets.push_back({"CONFIG", "GET", req.name});
  const auto settings = call_all(config_gets);
  durability_report report;
  for (std::size_t i = 0; i < std::size(required); ++i) {
    const auto& g = settings[i];
    const std::string name = required[i].name;
    if (g.ec) {
      // A managed Redis may rename or forbid CONFIG: durability cannot be verified.
      report.unsafe.push_back(name + " unreadable (CONFIG GET: " +
                              (g.r.str.empty() ? g.ec.message() : g.r.str) + ")");
      continue;
    }
    const std::string value = g.r.at(1).str;
    if (value != required[i].value)
      report.unsafe.push_back(name + "=" + (value.empty() ? "(none)" : value) + " (needs " +
                              required[i].value + ")");
  }
  if (!report.unsafe.empty()) {
    if (!storage.redis_allow_unsafe)
      throw config::config_error(
          "storage.backend: Redis at " + where + " may lose acknowledged writes: " +
          report.unsafe.front() +
          "; fix redis.conf (deploy/redis/rushcast-redis.conf) or set "
          "storage.redis_allow_unsafe");
    for (const auto& u : report.unsafe)
      spdlog::warn("redis {}: {}; running anyway (storage.redis_allow_unsafe)", where, u);
  }

  const auto loaded = call_all(
      {{"FUNCTION", "LOAD", "REPLACE", functions_library()}, {"FCALL_RO", "rc_version", "0"}});
  const auto& load = loaded[0];
  if (load.ec)
    throw std::runtime_error("Redis at " + where + " refused the Functions library: " +
                             (load.r.str.empty() ? load.ec.message() : load.r.str));
  const auto& version = loaded[1];
  if (version.ec)
    throw std::runtime_error("Redis at " + where + ": the Functions library does not answer: " +
                             (version.r.str.empty() ? version.ec.message() : version.r.str));
  spdlog::info("redis {}: durable settings checked; Functions library {} version {} loaded",
               where, functions_library_name, version.r.str);
  return report;
}

}  // namespace rushcast::redis
