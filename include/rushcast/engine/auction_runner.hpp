// Owns one live auction: its decisions (one writer at a time, under the runner's lock), the
// batches of bids it hands the store, its strand for the end and countdown timers and the
// coalesced price events. Built by engine::start_auctions; called by api/auction_routes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json_fwd.hpp>

#include "rushcast/core/errc.hpp"
#include "rushcast/engine/auction.hpp"
#include "rushcast/engine/auction_engine.hpp"
#include "rushcast/obs/log_limiter.hpp"

namespace rushcast {
namespace hub { class hub; }
namespace obs { class metrics; }
namespace store { class auction_store; struct recovered_auction; }
}  // namespace rushcast

namespace rushcast::engine {

// Copied into the runner: it keeps no reference to the caller's settings.
struct auction_runner_options {
  std::chrono::milliseconds coalesce{50};
  std::chrono::milliseconds countdown_sync{10000};  // 0 = no periodic countdown
  std::chrono::milliseconds store_retry{500};       // an end that failed to store, retried
  // storage.bid_batch_wait_us. 0: a write takes whatever bids are open when the store begins
  // it. Above 0: while a write runs, bids wait for the next one, and after a commit that
  // answered n bids the next write waits until n more bids were decided (the bidders just
  // answered, coming back) or for at most this long and no longer than the last write took,
  // so that closed-loop bidders share one commit instead of alternating between two.
  std::chrono::microseconds batch_wait{0};
};

class auction_runner : public auction_engine,
                       public std::enable_shared_from_this<auction_runner> {
public:
  using bid_reply = auction_engine::bid_reply;
  using bid_done = auction_engine::bid_done;

  // hub and metrics outlive every runner (app/server owns them); everything else the runner
  // needs is copied or shared, so nothing it holds points into its caller's stack.
  auction_runner(boost::asio::any_io_executor executor, hub::hub& h, obs::metrics& m,
                 std::shared_ptr<store::auction_store> store, std::string id, std::string name,
                 auction_rules rules, auction_runner_options opt,
                 auction::clock_fn clock = {});
  ~auction_runner();

  // Start-up, before any bid: replays the stored history, registers the snapshot of
  // "auction:ID" with the hub, arms the timers (an auction whose end passed while the process
  // was down ends at once).
  void start(const store::recovered_auction& rec, std::int64_t current_end_ms, bool ended);
  // Drain: cancels the timers and flushes coalesced state. Commits in flight still finish.
  void stop() override;

  // Thread-safe. Decides now, on the calling thread, under the runner's lock (the single
  // writer of the auction's state). A refusal is returned at once and done is left as it was
  // (the caller may use it to answer). An accepted bid returns nullopt, done is moved from: the
  // bid joins the batch the store takes next, and done runs
  // once the commit holding it is durable — before any watcher hears of it — on the shard
  // thread that called bid (this_thread_shard(), one post per shard per commit), or on the
  // store thread when the caller runs no shard.
  // While the store cannot write (store::auction_store::accepting() false, or a commit failed
  // and the bids still in flight behind it have not all come back), every bid is refused with
  // errc::unavailable and the committed price; once the in-flight bids are back the auction
  // falls back to its committed state and takes bids again as soon as the store accepts them.
  std::optional<bid_reply> bid(std::string_view user, std::int64_t amount, bid_done& done);
  // auction_engine: the request id plays no part here (see auction_engine::bid).
  std::optional<bid_reply> bid(std::string_view user, std::int64_t amount,
                               std::string_view request_id, bid_done& done) override {
    (void)request_id;
    return bid(user, amount, done);
  }

  // Thread-safe: the committed state with the last `last_bids` bids (GET /api/auctions/ID).
  nlohmann::json state_json(std::size_t last_bids) const override;

  const std::string& id() const override { return id_; }
  const std::string& id_json() const override { return id_json_; }
  std::int64_t min_increment() const override { return rules_.min_increment; }
  std::string topic() const { return "auction:" + id_; }

private:
  struct view;  // the committed state, copied for other threads under view_mu_
  struct timers;
  struct pending;  // an accepted bid waiting for its commit
  struct batch;    // the bids one store write took

  bid_reply reply_base(std::int64_t amount) const;
  void submit_locked();
  void submit_if_due_locked();
  void count_decision_locked();
  void hold_next_write_locked(std::size_t answered);
  void on_hold_expired(std::uint64_t generation);
  void on_committed(batch& b, boost::system::error_code ec);
  bool resync_if_drained_locked();
  void post_price();
  void store_end();
  void on_end_stored(boost::system::error_code ec);
  void arm_end_timer();
  void arm_start_timer();
  void arm_sync_timer();
  void on_end();
  void publish_countdown();
  std::string countdown_json(const view& v, std::int64_t now) const;
  std::string price_json(const view& v) const;

  const std::string id_;
  const std::string id_json_;
  const std::string name_;
  const auction_rules rules_;
  const auction_runner_options opt_;
  const auction::clock_fn clock_;
  hub::hub& hub_;
  obs::metrics& metrics_;
  std::shared_ptr<store::auction_store> store_;
  std::unique_ptr<timers> t_;  // strand, timers, coalescer

  // Guards the deciding state below. Taken by bid() on shard threads, by the store thread as a
  // commit completes and by the strand's timers; held only for in-memory work.
  mutable std::mutex mu_;
  // auction_ decides: every accepted bid, committed or in flight. durable_ holds only the
  // committed ones: the answer while the store fails, and what auction_ falls back to.
  auction auction_;
  auction durable_;
  std::size_t in_flight_ = 0;  // bids decided, not yet back from the store
  bool resync_ = false;        // a commit failed: auction_ is ahead of the store
  bool ending_ = false;        // the end is decided; storing it may still be retried
  bool stopped_ = false;       // stop() was called: bids are refused
  std::vector<pending> open_;  // accepted, not yet taken by a store write
  bool write_submitted_ = false;  // a write was submitted and has not taken open_ yet
  // opt_.batch_wait > 0 only (see auction_runner_options::batch_wait):
  bool write_running_ = false;  // a write took its bids and has not completed
  std::size_t hold_for_ = 0;    // decisions the next write still waits for; 0: not holding
  std::uint64_t hold_generation_ = 0;  // which hold the strand's timer ends
  std::chrono::steady_clock::time_point write_began_{};  // when the running write took its bids
  obs::log_limiter store_fail_log_{std::chrono::seconds(5)};

  std::atomic<bool> price_post_pending_{false};  // a price event is posted to the strand
  std::string price_gauge_labels_;

  mutable std::mutex view_mu_;  // after mu_ when both are held
  std::unique_ptr<view> view_;
};

}  // namespace rushcast::engine
