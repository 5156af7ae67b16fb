// Owns one running sale: its strand, the pure engine::sale, durable admissions and orders via
// store::sale_store, phase/countdown timers, coalesced stock/queue events and metrics.
// Built by engine::start_sales; called by api/sale_routes (HTTP and WebSocket seckill).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "rushcast/core/errc.hpp"
#include "rushcast/engine/sale.hpp"
#include "rushcast/engine/sale_engine.hpp"
#include "rushcast/obs/log_limiter.hpp"

namespace boost::asio { class io_context; }
namespace rushcast {
namespace hub { class hub; class coalescer; }
namespace obs { class metrics; }
namespace store { class sale_store; struct recovered_sale; struct sale_batch_result; }
}  // namespace rushcast

namespace rushcast::engine {

struct sale_runner_options {
  std::int64_t process_rate_per_s = 0;  // 0 = as fast as the store commits
  std::chrono::milliseconds coalesce{50};
  std::chrono::milliseconds countdown_sync{10000};
  std::size_t max_in_flight = 1024;     // order commits outstanding at once
  // Admissions handed to the store in one batch at most (storage.group_commit_max); the
  // rest wait for the next batch.
  std::size_t max_batch = 512;
  // After an order's commit failed: one order at a time is retried this often until one is
  // stored, then the queue is worked off at full speed again.
  std::chrono::milliseconds store_retry{200};
};

class sale_runner : public sale_engine, public std::enable_shared_from_this<sale_runner> {
public:
  using clock_fn = sale::clock_fn;

  sale_runner(boost::asio::any_io_executor executor, hub::hub& h, obs::metrics& m,
              std::shared_ptr<store::sale_store> st, sale_params params,
              sale_runner_options opt, clock_fn clock);
  ~sale_runner();

  // Start-up, before run(): the durable admissions found in the store.
  void recover(const store::recovered_sale& r);
  // Registers the snapshot, publishes the first countdown, starts timers and processing.
  void run();
  // Cancels timers, flushes coalesced events; commits in flight still complete. Thread-safe;
  // returns once the strand has done it (or after a short bound when the strand is not run).
  void stop() override;

  // Thread-safe. done runs once the answer is known: for "queued" only after the batch holding
  // the admission is durable. While the store does not accept writes
  // (store::sale_store::accepting()), or when this admission could not be stored, the answer
  // is errc::unavailable and nothing stays reserved.
  // home: the io_context of the caller's shard (the caller runs on it), or nullptr. With home,
  // the decision is taken right here on the caller's thread under the sale's mutex (no hop to
  // the strand), an answer that needs no write is given before admit returns, and a queued one
  // later on home's thread, the answers of one batch reaching each shard in ONE post. Without
  // home, the decision and done run on the sale's strand.
  // request_id is not stored here: a repeated purchase answers duplicate with the earlier
  // position (one node's SQLite; cluster_sale_runner stores request ids in Redis).
  void admit(std::string user_id, admit_done done, boost::asio::io_context* home = nullptr,
             std::string request_id = {}) override;
  // Thread-safe. done runs on the strand with the user's latest answer.
  void result_for(std::string user_id, std::function<void(user_answer)> done) override;

  sale_view view() const override;  // thread-safe
  const std::string& id() const noexcept override { return id_; }

private:
  struct shared_view {
    mutable std::mutex mu;
    sale_view v;
  };

  void refresh_view();
  void publish_countdown();
  void publish_state();
  void note_phase();
  void arm_phase_timer();
  void arm_sync_timer();
  void arm_process_timer();
  // schedule false: the caller flushes itself.
  void pump(std::int64_t budget, bool schedule = true);
  // An admission decided and reserved, waiting for its batch to be durable.
  struct waiter {
    std::int64_t position = 0;
    boost::asio::io_context* home = nullptr;
    admit_done done;
    std::string user;         // for the result event, published on home's thread
    bool with_order = false;  // its order rides in the same write (orders_ride_along_)
  };
  // A result event due once its order is durable, published where its answer goes.
  struct due_result {
    std::string user;
    std::int64_t position = 0;
    std::int64_t stock = 0;  // the stock right after this order
  };
  void publish_result(const due_result& r);
  void publish_results(std::vector<due_result>& due);
  struct batch_in_flight;
  // Under mu_. The answer when it is known now; nullopt when the admission waits for its
  // batch (done is kept with it, and user may be moved from).
  std::optional<admit_reply> decide(std::string& user, boost::asio::io_context* home,
                                    admit_done& done);
  void note_phase_soon();
  void schedule_flush(boost::asio::io_context* home);
  void flush();
  void finish_batch(batch_in_flight& b, store::sale_batch_result& r, bool on_strand);
  void strand_upkeep();
  // Under mu_, on any thread (no coalescer, no timer); the answers without a home go to
  // direct.
  void on_batch_durable(batch_in_flight& b, store::sale_batch_result& r,
                        std::vector<std::pair<admit_done, admit_reply>>& direct);
  // false: the order failed and waits for a retry.
  bool on_order_durable(std::int64_t position, boost::system::error_code ec);
  void arm_retry_timer();

  const std::string id_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  hub::hub& hub_;
  obs::metrics& metrics_;
  std::shared_ptr<store::sale_store> store_;
  sale_runner_options opt_;
  clock_fn clock_;
  sale sale_;
  std::unique_ptr<hub::coalescer> coalescer_;
  boost::asio::steady_timer phase_timer_;
  boost::asio::steady_timer sync_timer_;
  boost::asio::steady_timer process_timer_;
  std::shared_ptr<shared_view> view_;
  std::string topic_;
  sale_phase last_phase_ = sale_phase::upcoming;
  std::size_t in_flight_ = 0;  // orders handed to pump() and not yet answered by the store
  // Decided since the last batch went out (store::sale_batch and one waiter per admission).
  std::unique_ptr<batch_in_flight> next_;
  // Guards the sale's state (sale_, next_, the flags and counters below it): taken by every
  // strand handler and by admit() on a shard thread. The coalescer and the timers are only
  // touched on the strand (with mu_ held). Innermost locks under it: the view's, the store's
  // queue and read connection, the hub's.
  std::mutex mu_;
  bool phase_post_pending_ = false;
  bool writing_ = false;        // a batch is with the store: the next one waits for it
  bool flush_posted_ = false;
  bool upkeep_posted_ = false;  // strand_upkeep() is posted and has not run yet
  bool retry_wanted_ = false;   // an order failed: strand_upkeep() arms the retry timer
  // Cells of this sale's gauges: set with one store each, no label string per call.
  std::atomic<std::int64_t>* stock_gauge_ = nullptr;
  std::atomic<std::int64_t>* queued_gauge_ = nullptr;
  std::atomic<std::int64_t>* in_memory_gauge_ = nullptr;
  double credit_ = 0;  // orders the rate allows now (process_rate_per_s > 0)
  std::chrono::steady_clock::time_point last_tick_{};
  bool stopped_ = false;
  bool retry_armed_ = false;
  bool orders_failing_ = false;  // the last order commit failed: retry one at a time
  // process_rate_per_s 0 and a store that writes an admission already done: an admission next
  // in line goes to the store with its order (one row written once, no second write).
  bool orders_ride_along_ = false;
  obs::log_limiter admit_fail_log_{std::chrono::seconds(5)};
  obs::log_limiter order_fail_log_{std::chrono::seconds(5)};
};

}  // namespace rushcast::engine
