// A shard's session registry (drain) and its one keep-alive timer for WebSocket sessions.
#include "rushcast/net/shard.hpp"

#include <vector>

namespace rushcast::net {

void shard::drain_all() {
  std::vector<std::shared_ptr<drainable>> all;
  all.reserve(live_.size());
  for (auto& [p, w] : live_)
    if (auto s = w.lock()) all.push_back(std::move(s));
  for (auto& s : all) s->drain();
}

void shard::add_keepalive(std::chrono::milliseconds period) {
  if (stopped_) return;
  ++keepalive_users_;
  if (timer_) return;  // already ticking (every WebSocket session has the same period)
  period_ = period;
  timer_ = std::make_unique<boost::asio::steady_timer>(ioc_);
  timer_->expires_after(period_);
  arm_keepalive();
}

void shard::remove_keepalive() {
  if (keepalive_users_ > 0) --keepalive_users_;
  // The timer stops at its next tick once nobody needs it (see sweep).
}

void shard::arm_keepalive() {
  timer_->async_wait([this](boost::system::error_code ec) {
    if (ec || !timer_) return;
    sweep();
  });
}

void shard::sweep() {
  if (keepalive_users_ == 0) {
    timer_.reset();
    return;
  }
  // Fixed cadence: the next tick is one period after this one was due, not after it ran
  // (unless the thread fell a whole period behind: then no burst of catch-up ticks).
  auto now = std::chrono::steady_clock::now();
  auto next = timer_->expiry() + period_;
  timer_->expires_at(next > now ? next : now + period_);
  // A copy: keepalive() may end a session, and its destructor removes it from live_.
  std::vector<std::shared_ptr<drainable>> all;
  all.reserve(live_.size());
  for (auto& [p, w] : live_)
    if (auto s = w.lock()) all.push_back(std::move(s));
  for (auto& s : all) s->keepalive(now);
  all.clear();
  if (timer_) arm_keepalive();
}

}  // namespace rushcast::net
