// Owns the start-up and drain of every configured auction runner.
// Used by app/server through engine::start_auctions / stop_auctions.
#include "rushcast/engine/auctions.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "rushcast/core/clock.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/config/load.hpp"
#include "rushcast/engine/auction_runner.hpp"
#include "rushcast/engine/registry.hpp"
#include "rushcast/store/sqlite_auction_store.hpp"

namespace rushcast::engine {
namespace {

// A relative time ("+30s") keeps the value stored on the first start; an absolute one follows
// the file, so an operator can move an auction by editing its config.
std::int64_t resolve(const std::string& value, std::optional<std::int64_t> stored,
                     std::int64_t now, const std::string& key) {
  if (stored && config::is_relative_time(value)) return *stored;
  return config::resolve_time(value, now, key);
}

}  // namespace

void start_auctions(registry& reg, const engine_deps& deps) {
  if (deps.cfg.auctions.empty()) return;
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
