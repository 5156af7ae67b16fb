// Owns one sale in cluster mode (storage.backend redis): admissions batched into rc_sale_admit
// calls and answered from Redis, the queue worked off through rc_sale_complete (with the
// buyers' result events), the view polled from rc_sale_state, countdowns on Redis time, and
// the stock/queue events of the node holding the sale's publisher lease.
// Built by engine::start_cluster_sales; called by api/sale_routes through engine::sale_engine.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "rushcast/engine/sale_engine.hpp"
#include "rushcast/obs/log_limiter.hpp"

namespace rushcast {
namespace hub { class hub; }
namespace obs { class metrics; }
namespace redis { class client; struct reply; }
namespace store { struct redis_sale_counts; struct redis_admit_reply; }
}  // namespace rushcast

namespace rushcast::engine {

struct cluster_sale_options {
  std::int64_t process_rate_per_s = 0;  // as stored in Redis (the first node's config)
  // The view's poll (rc_sale_state) and so the stock/queue events' coalescing; at least 10 ms.
  std::chrono::milliseconds poll{50};
  std::chrono::milliseconds countdown_sync{10000};
  // Requests per rc_sale_admit call (the Function takes at most 1000) and calls in flight at
  // once on the connection; requests beyond them wait for the next call, and beyond
  // max_waiting are refused (unavailable).
  std::size_t max_batch = 512;
  std::size_t max_calls_in_flight = 4;
  std::size_t max_waiting = 65536;
  // A call whose outcome is unknown (sent, then the connection was lost or timed out) is sent
  // again with the same request ids, retry_tick apart, until outcome_deadline after that
  // failure (storage.redis_timeout_ms, as for bids): a reconnect slower than a few quick tries
  // still gives its buyers the answer Redis holds. A call that was never sent (not connected,
  // too many pending) is tried for unsent_grace only: while Redis is away, new buyers hear
  // 503 at once. After either, its buyers are told unavailable.
  std::chrono::milliseconds outcome_deadline{5000};
  std::chrono::milliseconds unsent_grace{300};
  std::chrono::milliseconds retry_tick{50};
  // While the queue is empty (or process_rate_per_s is 0 and a call completed nothing), the
  // next rc_sale_complete waits this long.
  std::chrono::milliseconds complete_idle{50};
  // The publisher lease: renewed every lease / 3; a dead holder's lapses after lease.
  std::chrono::milliseconds lease{3000};
  // Orders worked off this long ago whose results their node never announced (it died in
  // between) are announced by the lease holder, at its next renewal.
  std::chrono::milliseconds unannounced_after{2000};
  std::string node_id;  // unique per process: request ids and the lease holder
};

class cluster_sale_runner : public sale_engine,
                            public std::enable_shared_from_this<cluster_sale_runner> {
public:
  // params: the sale as Redis stores it (rc_sale_init's answer); clock_offset_ms: Redis TIME
  // minus this node's clock, from that answer. client: a connection on a one-thread executor.
  cluster_sale_runner(boost::asio::any_io_executor executor, hub::hub& h, obs::metrics& m,
                      std::shared_ptr<redis::client> client, sale_params params,
                      cluster_sale_options opt, std::int64_t clock_offset_ms);
  ~cluster_sale_runner() override;

  // Registers the snapshot, sends the first countdown (to this node's subscribers), starts the
  // poll, lease, completion and phase timers.
  void run();
  void stop() override;

  // Every answer comes from rc_sale_admit's reply: "queued" once Redis has it (durable: Redis
  // runs appendfsync always). request_id: the client's Idempotency-Key, else the node makes
  // one; a retry sends the same one, so a lost reply never admits twice. done runs on home
  // (one post per shard per call) or, without home, on the runner's strand.
  void admit(std::string user_id, admit_done done, boost::asio::io_context* home = nullptr,
             std::string request_id = {}) override;
  // Read from Redis (rc_sale_user); unavailable when it cannot be reached.
  void result_for(std::string user_id, std::function<void(user_answer)> done) override;
  sale_view view() const override;
  const std::string& id() const noexcept override { return id_; }

  // Redis time now, as this node estimates it (its clock plus the last offset seen).
  std::int64_t now_ms() const;
  bool holds_lease() const { return leader_.load(std::memory_order_relaxed); }

private:
  struct waiter {
    std::string user_id;
    std::string request_id;
    boost::asio::io_context* home = nullptr;
    admit_done done;
  };
  struct batch;

  void schedule_flush();
  void flush();
  void send(std::shared_ptr<batch> b);
  void on_admit(std::shared_ptr<batch> b, boost::system::error_code ec, const redis::reply& r);
  void answer_all(batch& b, const store::redis_admit_reply* reply, errc failure);
  void apply_counts(const store::redis_sale_counts& c);
  void note_time(std::int64_t redis_now_ms);
  void note_server_error(const std::string& text);
  void refresh_gauges(const sale_view& v);

  void arm_poll(std::chrono::milliseconds after);
  void poll();
  void arm_lease(std::chrono::milliseconds after);
  void renew_lease();
  void arm_complete(std::chrono::milliseconds after);
  void complete();
  void announce(std::int64_t first, const std::vector<std::string>& users);
  void sweep_unannounced();
  void arm_phase_timer();
  void arm_sync_timer();
  void note_phase();
  void publish_countdown();

  const std::string id_;
  const std::string topic_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  hub::hub& hub_;
  obs::metrics& metrics_;
  std::shared_ptr<redis::client> client_;
  sale_params params_;
  cluster_sale_options opt_;
  std::atomic<std::int64_t> offset_ms_;
  std::atomic<bool> leader_{false};

  struct shared_view {
    mutable std::mutex mu;
    sale_view v;
  };
  std::shared_ptr<shared_view> view_;

  // Strand only.
  std::deque<waiter> waiting_;
  std::size_t calls_in_flight_ = 0;
  bool flush_posted_ = false;
  bool stopped_ = false;
  bool reinit_in_flight_ = false;
  std::uint64_t next_request_ = 0;
  std::int64_t published_stock_ = -1;  // what this node last published as the lease holder
  std::int64_t published_queued_ = -1;
  std::int64_t published_head_ = -1;
  sale_phase last_phase_ = sale_phase::upcoming;
  boost::asio::steady_timer poll_timer_;
  boost::asio::steady_timer lease_timer_;
  boost::asio::steady_timer complete_timer_;
  boost::asio::steady_timer phase_timer_;
  boost::asio::steady_timer sync_timer_;
  std::atomic<std::int64_t>* stock_gauge_ = nullptr;
  std::atomic<std::int64_t>* queued_gauge_ = nullptr;
  obs::log_limiter fail_log_{std::chrono::seconds(5)};
};

}  // namespace rushcast::engine
