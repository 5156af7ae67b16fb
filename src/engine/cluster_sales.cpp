// Starts the cluster-mode sales: rc_sale_init for each (blocking, on a start-up connection),
// then one runner per sale sharing a connection on the engines' executor.
#include "rushcast/engine/cluster_sales.hpp"

#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/config/config.hpp"
#include "rushcast/config/time.hpp"
#include "rushcast/core/clock.hpp"
#include "rushcast/engine/cluster_sale_runner.hpp"
#include "rushcast/engine/registry.hpp"
#include "rushcast/redis/client.hpp"
#include "rushcast/store/redis_sale_calls.hpp"

namespace rushcast::engine {
namespace {

// A configured time as rc_sale_init takes it: "+30s" stays relative to Redis TIME at the
// first node's start; an ISO time is absolute.
std::string redis_time(const std::string& value, std::int64_t now, const std::string& key) {
  if (config::is_relative_time(value))
    return "rel:" + std::to_string(config::resolve_time(value, 0, key));
  return "abs:" + std::to_string(config::resolve_time(value, now, key));
}

// 64 random bits in hex: this process among the cluster's nodes (request ids, lease holder).
std::string make_node_id() {
  std::random_device rd;
  const std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

void start_cluster_sales(registry& reg, const engine_deps& deps) {
  const auto& cfg = deps.cfg;
  if (cfg.sales.empty()) return;
  auto opts = redis::client_options::from(cfg.storage);

  // Every sale's init in one pipeline on a start-up connection run by this thread.
  boost::asio::io_context ioc;
  auto c = redis::client::create(ioc.get_executor(), opts);
  c->run();
  const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  auto run_until = [&](auto pred) {
    while (!pred() && std::chrono::steady_clock::now() < deadline)
      ioc.run_one_for(std::chrono::milliseconds(10));
    return pred();
  };
  struct closer {
    std::shared_ptr<redis::client> c;
    boost::asio::io_context& ioc;
    ~closer() {
      c->close();
      ioc.restart();
      ioc.run_for(std::chrono::seconds(1));
    }
  } close_at_exit{c, ioc};
  if (!run_until([&] { return c->connected(); }))
    throw std::runtime_error("sales: Redis did not answer within storage.redis_timeout_ms");

  struct answer {
    boost::system::error_code ec;
    redis::reply r;
    std::int64_t local_ms = 0;
  };
  auto got = std::make_shared<std::vector<std::optional<answer>>>(cfg.sales.size());
  const std::int64_t now = core::now_ms();
  for (std::size_t i = 0; i < cfg.sales.size(); ++i) {
    const auto& sc = cfg.sales[i];
    const std::string key = "sales[" + std::to_string(i) + "]";
    c->execute(store::sale_init_command(sc.id, sc.stock, redis_time(sc.start_at, now, key + ".start_at"),
                                        redis_time(sc.end_at, now, key + ".end_at"),
                                        sc.per_user_limit, sc.process_rate_per_s),
               [got, i](boost::system::error_code ec, redis::reply r) {
                 (*got)[i] = answer{ec, std::move(r), core::now_ms()};
               });
  }
  if (!run_until([&] {
        for (auto& g : *got)
          if (!g) return false;
        return true;
      }))
    throw std::runtime_error("sales: Redis did not answer rc_sale_init");

  auto shared_client = redis::client::create(deps.executor, opts);
  shared_client->run();
  const std::string node_id = make_node_id();
  for (std::size_t i = 0; i < cfg.sales.size(); ++i) {
    const auto& sc = cfg.sales[i];
    const auto& a = *(*got)[i];
    auto meta = a.ec ? std::nullopt : store::parse_sale_init(a.r);
    if (!meta)
      throw std::runtime_error("sale " + sc.id + ": rc_sale_init failed: " +
                               (a.r.str.empty() ? a.ec.message() : a.r.str));
    if (meta->end_ms <= meta->start_ms)
      throw std::runtime_error("sales[" + std::to_string(i) + "].end_at: must be after start_at");
    if (!meta->created && (meta->total != sc.stock || meta->per_user_limit != sc.per_user_limit ||
                           meta->rate != sc.process_rate_per_s))
      spdlog::warn("sale {}: Redis holds it with stock {}, per_user_limit {}, process_rate_per_s "
                   "{} (stored by the first node); this node's config differs and is not used",
                   sc.id, meta->total, meta->per_user_limit, meta->rate);

    sale_params p{sc.id, sc.name.empty() ? sc.id : sc.name, meta->total, meta->start_ms,
                  meta->end_ms, meta->per_user_limit};
    cluster_sale_options opt;
    opt.process_rate_per_s = meta->rate;
    opt.poll = std::max(std::chrono::milliseconds(cfg.coalesce_ms), std::chrono::milliseconds(10));
    opt.complete_idle = opt.poll;
    opt.countdown_sync = std::chrono::milliseconds(cfg.countdown_sync_ms);
    opt.max_batch = std::min<std::size_t>(1000, std::max<std::size_t>(1, cfg.storage.group_commit_max));
    opt.node_id = node_id;
    opt.outcome_deadline = std::chrono::milliseconds(cfg.storage.redis_timeout_ms);
    auto runner = std::make_shared<cluster_sale_runner>(deps.executor, deps.hub, deps.metrics,
                                                        shared_client, std::move(p), opt,
                                                        meta->now_ms - a.local_ms);
    runner->run();
    if (reg.default_sale.empty()) reg.default_sale = sc.id;
    reg.sales[sc.id] = runner;
    spdlog::info("sale {}: decided in Redis (node {}); stock {}, start {}, end {}, {} order(s)/s",
                 sc.id, node_id, meta->total, meta->start_ms, meta->end_ms, meta->rate);
  }
}

}  // namespace rushcast::engine
