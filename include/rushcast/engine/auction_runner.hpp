// Owns one live auction: its strand, end and countdown timers, store commits and publishing.
// Built by engine::start_auctions; called by api/auction_routes (HTTP and WebSocket bids).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json_fwd.hpp>

#include "rushcast/core/errc.hpp"
#include "rushcast/engine/auction.hpp"
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
};

class auction_runner : public std::enable_shared_from_this<auction_runner> {
public:
  // What the bidder is told. code ok = accepted (after the store committed it).
  struct bid_reply {
    errc code = errc::ok;
    std::string auction_id;
    std::int64_t bid_amount = 0;
    std::int64_t current_price = 0;
    std::int64_t min_increment = 0;
    std::int64_t min_acceptable = 0;
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;
  };
  using bid_done = std::function<void(bid_reply)>;

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
  void stop();

  // Thread-safe. Runs the rules on the strand; an accepted bid is committed to the store
  // before done() is called and before any watcher hears of it. done runs on the strand.
  // While the store cannot write (store::auction_store::accepting() false, or a commit failed
  // and the bids still in flight behind it have not all come back), every bid is refused with
  // errc::unavailable and the committed price; once the in-flight bids are back the auction
  // falls back to its committed state and takes bids again as soon as the store accepts them.
  void bid(std::string user, std::int64_t amount, bid_done done);

  // Thread-safe: the committed state with the last `last_bids` bids (GET /api/auctions/ID).
  nlohmann::json state_json(std::size_t last_bids) const;

  const std::string& id() const { return id_; }
  std::int64_t min_increment() const { return rules_.min_increment; }
  std::string topic() const { return "auction:" + id_; }

private:
  struct view;  // the committed state, copied for other threads under view_mu_
  struct timers;

  void on_bid(std::string user, std::int64_t amount, bid_done done);
  void on_committed(bid_accepted acc, boost::system::error_code ec, bid_done done);
  void resync_if_drained();
  void store_end();
  void on_end_stored(boost::system::error_code ec);
  void arm_end_timer();
  void arm_start_timer();
  void arm_sync_timer();
  void on_end();
  void publish_countdown();
  void publish_price();
  std::string countdown_json(const view& v, std::int64_t now) const;
  std::string price_json(const view& v) const;

  const std::string id_;
  const std::string name_;
  const auction_rules rules_;
  const auction_runner_options opt_;
  const auction::clock_fn clock_;
  hub::hub& hub_;
  obs::metrics& metrics_;
  std::shared_ptr<store::auction_store> store_;
  std::unique_ptr<timers> t_;  // strand, timers, coalescer
  // Strand only. auction_ decides: every accepted bid, committed or in flight. durable_ holds
  // only the committed ones: the answer while the store fails, and what auction_ falls back to.
  auction auction_;
  auction durable_;
  std::size_t in_flight_ = 0;  // bids handed to the store, not yet back
  bool resync_ = false;        // a commit failed: auction_ is ahead of the store
  bool ending_ = false;        // the end is decided; storing it may still be retried
  obs::log_limiter store_fail_log_{std::chrono::seconds(5)};
  std::string price_gauge_labels_;

  mutable std::mutex view_mu_;
  std::unique_ptr<view> view_;
};

}  // namespace rushcast::engine
