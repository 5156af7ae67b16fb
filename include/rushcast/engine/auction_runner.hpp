// Owns one live auction: its strand, end and countdown timers, store commits and publishing.
// Built by engine::start_auctions; called by api/auction_routes (HTTP and WebSocket bids).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rushcast/api/errc.hpp"
#include "rushcast/engine/auction.hpp"
#include "rushcast/engine/engines.hpp"

namespace rushcast::store {
class auction_store;
struct recovered_auction;
}  // namespace rushcast::store

namespace rushcast::engine {

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

  auction_runner(std::string id, std::string name, auction_rules rules, engine_deps& deps,
                 std::shared_ptr<store::auction_store> store);
  ~auction_runner();

  // Start-up, before any bid: replays the stored history, registers the snapshot of
  // "auction:ID" with the hub, arms the timers (an auction whose end passed while the process
  // was down ends at once).
  void start(const store::recovered_auction& rec, std::int64_t current_end_ms, bool ended);
  // Drain: cancels the timers and flushes coalesced state. Commits in flight still finish.
  void stop();

  // Thread-safe. Runs the rules on the strand; an accepted bid is committed to the store
  // before done() is called and before any watcher hears of it. done runs on the strand.
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
  engine_deps& deps_;
  std::shared_ptr<store::auction_store> store_;
  std::unique_ptr<timers> t_;  // strand, timers, coalescer
  auction auction_;            // touched on the strand only
  bool store_failed_ = false;  // a commit failed: memory is ahead of the store, refuse bids
  bool ending_ = false;        // mark_ended submitted
  std::string price_gauge_labels_;

  mutable std::mutex view_mu_;
  std::unique_ptr<view> view_;
};

}  // namespace rushcast::engine
