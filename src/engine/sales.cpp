// Owns the start-up and drain of every configured sale runner: store tables, "+30s" times
// resolved once and stored, recovery, registration. Used by app/server.
#include "rushcast/engine/sales.hpp"

#include <memory>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "rushcast/core/clock.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/config/load.hpp"
#include "rushcast/engine/cluster_sales.hpp"
#include "rushcast/engine/registry.hpp"
#include "rushcast/engine/sale_runner.hpp"
#include "rushcast/store/sqlite_sale_store.hpp"

namespace rushcast::engine {

namespace {

// A relative time ("+30s") keeps the value stored on the first start; an absolute one is
// the operator's word and wins over what was stored.
std::int64_t pick_time(const std::string& value, std::optional<std::int64_t> stored,
                       std::int64_t now, const std::string& key) {
  if (config::is_relative_time(value) && stored) return *stored;
  return config::resolve_time(value, now, key);
}

}  // namespace

void start_sales(registry& reg, const engine_deps& deps) {
  if (deps.cfg.sales.empty()) return;
  if (deps.cfg.storage.backend == "redis") return start_cluster_sales(reg, deps);
  auto st = std::make_shared<store::sqlite_sale_store>(deps.db);
  const std::int64_t now = core::now_ms();
  for (std::size_t i = 0; i < deps.cfg.sales.size(); ++i) {
    const auto& sc = deps.cfg.sales[i];
    const std::string key = "sales[" + std::to_string(i) + "]";
    store::recovered_sale rec = st->load(sc.id);

    store::sale_meta meta;
    meta.start_ms = pick_time(sc.start_at, rec.meta ? std::optional(rec.meta->start_ms)
                                                    : std::nullopt,
                              now, key + ".start_at");
    meta.end_ms = pick_time(sc.end_at, rec.meta ? std::optional(rec.meta->end_ms) : std::nullopt,
                            now, key + ".end_at");
    meta.stock_total = sc.stock;
    if (meta.end_ms <= meta.start_ms)
      throw std::runtime_error(key + ".end_at: must be after start_at");
    if (!rec.meta || rec.meta->start_ms != meta.start_ms || rec.meta->end_ms != meta.end_ms ||
        rec.meta->stock_total != meta.stock_total)
      st->set_meta(sc.id, meta);

    sale_params p{sc.id, sc.name.empty() ? sc.id : sc.name, sc.stock, meta.start_ms,
                  meta.end_ms, sc.per_user_limit};
    sale_runner_options opt;
    opt.process_rate_per_s = sc.process_rate_per_s;
    opt.coalesce = std::chrono::milliseconds(deps.cfg.coalesce_ms);
    opt.countdown_sync = std::chrono::milliseconds(deps.cfg.countdown_sync_ms);
    opt.max_in_flight = std::max<std::size_t>(64, 2 * deps.cfg.storage.group_commit_max);
    opt.max_batch = std::max<std::size_t>(1, deps.cfg.storage.group_commit_max);
    auto runner = std::make_shared<sale_runner>(deps.executor, deps.hub, deps.metrics, st,
                                                std::move(p), opt, [] { return core::now_ms(); });
    runner->recover(rec);
    runner->run();
    if (reg.default_sale.empty()) reg.default_sale = sc.id;
    reg.sales[sc.id] = runner;
    spdlog::info("sale {}: stock {}, start {}, end {}, {} order(s)/s", sc.id, sc.stock,
                 meta.start_ms, meta.end_ms, sc.process_rate_per_s);
  }
}

void stop_sales(registry& reg) {
  for (auto& [id, runner] : reg.sales) runner->stop();
}

}  // namespace rushcast::engine
