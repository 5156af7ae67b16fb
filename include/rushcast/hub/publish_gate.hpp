// Owns bounded publishes: the callers waiting for the shards' backlog to fall below the bound,
// their timers, and the drain that refuses them.
// Used by hub::publish_bounded (POST /api/publish); told of room by the shards' dispatchers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/result.hpp>

#include "rushcast/hub/dispatcher.hpp"

namespace rushcast::obs {
class metrics;
}

namespace rushcast::hub {

struct publish_result {
  std::string id;
  std::uint64_t seq = 0;
};

// What a bounded publish ends with: the published event, or no event at all and
// errc::over_capacity (the backlog stayed at its bound for max_wait) or errc::unavailable (the
// hub is draining). An event is published only together with a success.
using bounded_publish_handler = std::function<void(boost::system::result<publish_result>)>;

class publish_gate final : public room_listener, public std::enable_shared_from_this<publish_gate> {
public:
  // The publish an admitted event goes through (the hub's ordering publish). Called under the
  // gate's mutex; the hub closes the gate before it goes away, and a closed gate calls it no
  // more.
  using publish_fn = std::function<publish_result(std::string_view topic, std::string_view name,
                                                  std::string_view data_json)>;

  // shards: every shard's dispatcher, whose backlogs are compared with max_backlog (0 counts
  // as 1). Waiters' timers run on shards.front()'s executor.
  publish_gate(std::vector<std::shared_ptr<dispatcher>> shards, std::size_t max_backlog,
               publish_fn publish);
  // Makes every shard tell this gate when a round made room. Call once, before publishing.
  void attach();

  // True when a bounded publish may go through at once: nobody waits and every shard is below
  // the bound. Any thread. The bound is soft by at most one event per concurrent caller.
  bool open() const {
    return !waiting_->load(std::memory_order_seq_cst) && !backlog_full();
  }
  // Any thread; for a publish that found the gate shut. With max_wait <= 0 refuses at once
  // (errc::over_capacity); on a closed gate answers errc::unavailable; else waits in arrival
  // order until every shard's backlog is below the bound (published from the thread whose
  // round made room) or until max_wait (errc::over_capacity, nothing published). done runs
  // exactly once, on any thread.
  void wait(std::string topic, std::string name, std::string data_json,
            std::chrono::milliseconds max_wait, bounded_publish_handler done);
  // Drain: answers every waiter errc::unavailable, and every later one that would wait, at
  // once. Thread-safe.
  void close();

  std::size_t max_backlog() const { return max_backlog_; }
  std::size_t waiting() const;  // bounded publishes waiting now; thread-safe
  // Counts waits into m->publishes_deferred and refusals into m->publishes_rejected; nullptr
  // counts nothing. Call before the first publish.
  void set_metrics(obs::metrics* m) { metrics_ = m; }

  // room_listener: a shard's round lowered its backlog while someone waits.
  void on_room() override { admit(); }

private:
  struct waiter;
  using waiter_ptr = std::shared_ptr<waiter>;

  bool backlog_full() const;
  void admit();
  void expire(const waiter_ptr& w);
  static void finish(const waiter_ptr& w, boost::system::result<publish_result> r);

  std::vector<std::shared_ptr<dispatcher>> shards_;
  std::size_t max_backlog_;
  publish_fn publish_;
  obs::metrics* metrics_ = nullptr;

  // Shared with the dispatchers, which read it once per round without any lock.
  std::shared_ptr<std::atomic<bool>> waiting_ = std::make_shared<std::atomic<bool>>(false);
  // Lock order: mu_, then whatever publish_ locks.
  mutable std::mutex mu_;
  std::deque<waiter_ptr> waiters_;
  bool closed_ = false;
};

}  // namespace rushcast::hub
