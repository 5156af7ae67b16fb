// Owns the watchdog's shard pings: one posted handler per shard per round.
// Used by app/server's watchdog timer.
#include "rushcast/app/shard_probe.hpp"

#include <boost/asio/post.hpp>

namespace rushcast::app {

shard_probe::shard_probe(std::vector<boost::asio::any_io_executor> shards)
    : shards_(std::move(shards)) {}

bool shard_probe::round(std::function<void()> on_alive) {
  if (state_->in_flight.load(std::memory_order_acquire)) return false;
  if (shards_.empty()) {
    on_alive();
    return true;
  }
  state_->on_alive = std::move(on_alive);
  state_->remaining.store(shards_.size(), std::memory_order_relaxed);
  state_->in_flight.store(true, std::memory_order_release);
  for (auto& ex : shards_) {
    // post() orders round()'s writes before the handler runs; acq_rel between the shards makes
    // the last one see every other's answer.
    boost::asio::post(ex, [s = state_] {
      if (s->remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
      s->on_alive();
      s->in_flight.store(false, std::memory_order_release);
    });
  }
  return true;
}

}  // namespace rushcast::app
