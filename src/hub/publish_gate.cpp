// Bounded publishes: the external publish API waits for the fan-out instead of running ahead.
//
// publish() ignores the shards' backlog (engines must never wait or lose an event);
// publish_bounded(), the external publish API's entry, publishes only while every shard is
// below max_backlog. Otherwise the event waits in this gate's FIFO until a flush round brings
// every shard below the bound again, or until max_wait expires (a timer on shard 0; nothing is
// published then). So an HTTP publisher's answer, and with it its next request on a
// keep-alive connection, waits for the fan-out instead of running thousands of events ahead.
// The gate's mutex is taken only while someone waits.
// No lost wake-up: a waiter sets "waiting" and then re-checks the backlog; a round lowers the
// backlog and then reads "waiting" (both sequentially consistent), so one of them admits.
// Why 256 by default (hub::default_max_backlog): the bound must leave a sweep many frames to
// deliver before the sessions' flushes run, or each flush gathers few frames per write (see
// dispatcher::default_sweep_budget and docs/BENCHMARKS.md); a flush gathers at most 64 frames,
// and 256 keeps S1's throughput while capping how far publishers run ahead (docs/CONFIG.md,
// limits.max_publish_backlog).
#include "rushcast/hub/publish_gate.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "rushcast/core/errc.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::hub {

// A bounded publish waiting for room; its timer runs on shard 0's executor.
struct publish_gate::waiter {
  waiter(boost::asio::any_io_executor ex, std::string t, std::string n, std::string d,
         bounded_publish_handler h)
      : timer(std::move(ex)),
        topic(std::move(t)),
        name(std::move(n)),
        data(std::move(d)),
        done(std::move(h)) {}
  boost::asio::steady_timer timer;
  std::string topic, name, data;
  bounded_publish_handler done;
};

publish_gate::publish_gate(std::vector<std::shared_ptr<dispatcher>> shards,
                           std::size_t max_backlog, publish_fn publish)
    : shards_(std::move(shards)),
      max_backlog_(max_backlog == 0 ? 1 : max_backlog),
      publish_(std::move(publish)) {}

void publish_gate::attach() {
  for (auto& s : shards_) s->watch_room(waiting_, weak_from_this());
}

bool publish_gate::backlog_full() const {
  for (const auto& s : shards_)
    if (s->backlog(std::memory_order_seq_cst) >= max_backlog_) return true;
  return false;
}

std::size_t publish_gate::waiting() const {
  std::lock_guard lk(mu_);
  return waiters_.size();
}

void publish_gate::wait(std::string topic, std::string name, std::string data_json,
                        std::chrono::milliseconds max_wait, bounded_publish_handler done) {
  if (max_wait <= std::chrono::milliseconds::zero()) {
    // Configured not to wait: refused at once, nothing published.
    if (metrics_) metrics_->publishes_rejected.fetch_add(1, std::memory_order_relaxed);
    done(make_error_code(errc::over_capacity));
    return;
  }
  // Timers on shard 0, like the engines' strands: at most one per waiting HTTP request.
  auto w = std::make_shared<waiter>(shards_.front()->executor(), std::move(topic),
                                    std::move(name), std::move(data_json), std::move(done));
  {
    std::lock_guard lk(mu_);
    if (closed_) {
      auto d = std::move(w->done);
      d(make_error_code(errc::unavailable));
      return;
    }
    // Armed before the waiter is visible: only its expiry or finish() touch it afterwards.
    w->timer.expires_after(max_wait);
    w->timer.async_wait([w, weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;  // cancelled: admitted or closed
      if (auto self = weak.lock()) self->expire(w);
    });
    waiters_.push_back(w);
    waiting_->store(true, std::memory_order_seq_cst);
  }
  if (metrics_) metrics_->publishes_deferred.fetch_add(1, std::memory_order_relaxed);
  // The sweep may have made room before it could see "waiting".
  admit();
}

// Any thread, no lock held. Publishes waiting events, oldest first, while every shard is
// below the bound; answers them outside the lock.
void publish_gate::admit() {
  thread_local std::vector<std::pair<waiter_ptr, publish_result>> admitted;
  admitted.clear();
  {
    std::lock_guard lk(mu_);
    while (!waiters_.empty() && !backlog_full()) {
      waiter_ptr w = std::move(waiters_.front());
      waiters_.pop_front();
      auto r = publish_(w->topic, w->name, w->data);
      admitted.emplace_back(std::move(w), std::move(r));
    }
    if (waiters_.empty()) waiting_->store(false, std::memory_order_seq_cst);
  }
  for (auto& [w, r] : admitted) finish(w, std::move(r));
  admitted.clear();
}

// Cancels w's timer on its own executor (a timer is not thread-safe) and answers.
void publish_gate::finish(const waiter_ptr& w, boost::system::result<publish_result> r) {
  boost::asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
  auto done = std::move(w->done);
  done(std::move(r));
}

// On the timer's executor: max_wait passed. The waiter may have been admitted meanwhile.
void publish_gate::expire(const waiter_ptr& w) {
  {
    std::lock_guard lk(mu_);
    auto it = std::find(waiters_.begin(), waiters_.end(), w);
    if (it == waiters_.end()) return;
    waiters_.erase(it);
    if (waiters_.empty()) waiting_->store(false, std::memory_order_seq_cst);
  }
  if (metrics_) metrics_->publishes_rejected.fetch_add(1, std::memory_order_relaxed);
  auto done = std::move(w->done);
  done(make_error_code(errc::over_capacity));
}

void publish_gate::close() {
  std::deque<waiter_ptr> refused;
  {
    std::lock_guard lk(mu_);
    closed_ = true;
    refused.swap(waiters_);
    waiting_->store(false, std::memory_order_seq_cst);
  }
  if (metrics_ && !refused.empty())
    metrics_->publishes_rejected.fetch_add(refused.size(), std::memory_order_relaxed);
  for (auto& w : refused) finish(w, make_error_code(errc::unavailable));
}

}  // namespace rushcast::hub
