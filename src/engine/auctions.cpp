// Owns the start-up and drain of every configured auction runner.
// Used by app/server through engine::start_auctions / stop_auctions.
#include "rushcast/engine/auctions.hpp"

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>

#include <boost/asio/io_context.hpp>

#include <spdlog/spdlog.h>

#include "rushcast/core/clock.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/config/load.hpp"
#include "rushcast/engine/auction_runner.hpp"
#include "rushcast/engine/cluster_auction_runner.hpp"
#include "rushcast/engine/registry.hpp"
#include "rushcast/store/sqlite_auction_store.hpp"

namespace rushcast::engine {
namespace {

struct redis_outcome {
  boost::system::error_code ec;
  redis::reply r;
};

// A relative time ("+30s") keeps the value stored on the first start; an absolute one follows
// the file, so an operator can move an auction by editing its config.
std::int64_t resolve(const std::string& value, std::optional<std::int64_t> stored,
                     std::int64_t now, const std::string& key) {
  if (stored && config::is_relative_time(value)) return *stored;
  return config::resolve_time(value, now, key);
}

// A configured time as rc_auction_init takes it: "rel:MS" is resolved by the first node to
// store the auction, on Redis TIME; "abs:MS" as written.
std::string redis_time(const std::string& value, const std::string& key) {
  if (config::is_relative_time(value))
    return "rel:" + std::to_string(config::resolve_time(value, 0, key));
  return "abs:" + std::to_string(config::resolve_time(value, 0, key));
}

// Cluster mode: every configured auction is stored in Redis by the first node that starts
// (later nodes and restarts find it there and take what is stored), then read once, blocking,
// before the node serves; each runner then runs on its own connection.
void start_cluster_auctions(registry& reg, const engine_deps& deps) {
  const auto opts = redis::client_options::from(deps.cfg.storage);
  boost::asio::io_context ioc;
  auto c = redis::client::create(ioc.get_executor(), opts);
  c->run();
  auto run_until = [&](auto pred) {
    const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
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
      ioc.run_for(std::chrono::milliseconds(200));
    }
  } close_at_exit{c, ioc};
  if (!run_until([&] { return c->connected(); }))
    throw std::runtime_error("auctions: cannot reach Redis to load them");

  for (std::size_t i = 0; i < deps.cfg.auctions.size(); ++i) {
    const config::auction_cfg& a = deps.cfg.auctions[i];
    const std::string key = "auctions[" + std::to_string(i) + "]";
    const std::string base = store::redis_auction_base(a.id);
    std::vector<std::string> init{"FCALL",
                                  "rc_auction_init",
                                  "1",
                                  base,
                                  std::to_string(a.start_price),
                                  std::to_string(a.min_increment),
                                  std::to_string(a.reserve_price),
                                  redis_time(a.start_at, key + ".start_at"),
                                  redis_time(a.end_at, key + ".end_at"),
                                  std::to_string(a.extend_window_ms),
                                  std::to_string(a.extend_by_ms)};
    // Pipelined: stored (or found), then read in that order.
    // Shared: after a timeout the callbacks still run (failed by close()) once this threw.
    auto got = std::make_shared<std::array<std::optional<redis_outcome>, 3>>();
    auto keep = [got](std::size_t k) {
      return [got, k](boost::system::error_code ec, redis::reply r) {
        (*got)[k] = redis_outcome{ec, std::move(r)};
      };
    };
    c->execute(init, keep(0));
    c->execute({"FCALL_RO", "rc_auction_state", "1", base}, keep(1));
    c->execute({"LRANGE", base + ":bids",
                std::to_string(-static_cast<long>(auction::recent_capacity)), "-1"},
               keep(2));
    if (!run_until([&] { return (*got)[0] && (*got)[1] && (*got)[2]; }))
      throw std::runtime_error(key + ": Redis did not answer while loading the auction");
    for (auto& g : *got)
      if (g->ec)
        throw std::runtime_error(key + ": loading the auction from Redis failed: " +
                                 (g->r.str.empty() ? g->ec.message() : g->r.str));
    auto stored = store::parse_init((*got)[0]->r);
    auto state = store::parse_state((*got)[1]->r);
    auto recent = store::parse_bid_list((*got)[2]->r);
    if (!stored || !state || !recent)
      throw std::runtime_error(key + ": Redis answered the auction's loading unexpectedly");
    if (stored->end_ms <= stored->start_ms)
      throw std::runtime_error(key + ".end_at: must be after start_at");
    if (!stored->created &&
        (stored->start_price != a.start_price || stored->min_increment != a.min_increment ||
         stored->reserve_price != a.reserve_price))
      spdlog::warn("auction {}: Redis holds it with other prices than the config; the stored "
                   "ones apply (the first node to start stored them)",
                   a.id);

    auction_rules rules;
    rules.start_price = stored->start_price;
    rules.min_increment = stored->min_increment;
    rules.reserve_price = stored->reserve_price;
    rules.start_ms = stored->start_ms;
    rules.end_ms = stored->end_ms;
    rules.extend_window_ms = stored->extend_window_ms;
    rules.extend_by_ms = stored->extend_by_ms;

    cluster_auction_options opt;
    opt.coalesce = std::chrono::milliseconds(deps.cfg.coalesce_ms);
    opt.countdown_sync = std::chrono::milliseconds(deps.cfg.countdown_sync_ms);
    opt.view_refresh = std::chrono::milliseconds(deps.cfg.storage.redis_view_refresh_ms);
    opt.outcome_deadline = std::chrono::milliseconds(deps.cfg.storage.redis_timeout_ms);
    opt.batch_max = deps.cfg.storage.redis_bid_batch_max;
    opt.bus_stream_key = deps.cfg.bus.stream_key;
    opt.bus_maxlen = deps.cfg.bus.stream_maxlen;
    opt.init_command = init;
    auto runner = std::make_shared<cluster_auction_runner>(
        deps.executor, deps.hub, deps.metrics, opts, a.id, a.name, rules, std::move(opt));
    runner->start(*state, *recent);
    spdlog::info("auction {}: in Redis{}, {} bid(s), price {}, end {}", a.id,
                 stored->created ? " (stored by this node)" : "", state->head.bid_count,
                 state->head.current_price, state->head.end_ms);
    reg.auctions[a.id] = std::move(runner);
    if (reg.default_auction.empty()) reg.default_auction = a.id;
  }
}

}  // namespace

void start_auctions(registry& reg, const engine_deps& deps) {
  if (deps.cfg.auctions.empty()) return;
  if (deps.cfg.storage.backend == "redis") return start_cluster_auctions(reg, deps);
  auto store = std::make_shared<store::sqlite_auction_store>(deps.db);
  const std::int64_t now = core::now_ms();
  for (std::size_t i = 0; i < deps.cfg.auctions.size(); ++i) {
    const config::auction_cfg& a = deps.cfg.auctions[i];
    const std::string key = "auctions[" + std::to_string(i) + "]";
    store::recovered_auction rec = store->load(a.id);

    auction_rules rules;
    rules.start_price = a.start_price;
    rules.min_increment = a.min_increment;
    rules.reserve_price = a.reserve_price;
    rules.extend_window_ms = a.extend_window_ms;
    rules.extend_by_ms = a.extend_by_ms;
    std::optional<std::int64_t> stored_start, stored_end;
    if (rec.meta) {
      stored_start = rec.meta->start_ms;
      stored_end = rec.meta->end_ms;
    }
    rules.start_ms = resolve(a.start_at, stored_start, now, key + ".start_at");
    rules.end_ms = resolve(a.end_at, stored_end, now, key + ".end_at");
    if (rules.end_ms <= rules.start_ms)
      throw std::runtime_error(key + ".end_at: must be after start_at");

    store::auction_meta meta{rules.start_ms, rules.end_ms, rules.end_ms, false};
    if (rec.meta) {
      meta.ended = rec.meta->ended;
      // Extensions earned under the same configured end survive a restart.
      if (rec.meta->end_ms == rules.end_ms)
        meta.current_end_ms = std::max(rules.end_ms, rec.meta->current_end_ms);
    }
    if (!rec.meta || rec.meta->start_ms != meta.start_ms || rec.meta->end_ms != meta.end_ms ||
        rec.meta->current_end_ms != meta.current_end_ms)
      store->set_meta(a.id, meta);

    auction_runner_options opt;
    opt.coalesce = std::chrono::milliseconds(deps.cfg.coalesce_ms);
    opt.countdown_sync = std::chrono::milliseconds(deps.cfg.countdown_sync_ms);
    opt.batch_wait = std::chrono::microseconds(deps.cfg.storage.bid_batch_wait_us);
    auto runner = std::make_shared<auction_runner>(deps.executor, deps.hub, deps.metrics, store,
                                                   a.id, a.name, rules, opt);
    runner->start(rec, meta.current_end_ms, meta.ended);
    if (!rec.bids.empty())
      spdlog::info("auction {}: recovered {} bids, price {}, end {}", a.id, rec.bids.size(),
                   rec.bids.back().amount, meta.current_end_ms);
    reg.auctions[a.id] = std::move(runner);
    if (reg.default_auction.empty()) reg.default_auction = a.id;
  }
}

void stop_auctions(registry& reg) {
  for (auto& [id, runner] : reg.auctions) runner->stop();
}

}  // namespace rushcast::engine
