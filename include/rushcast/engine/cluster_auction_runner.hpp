// Owns one auction in cluster mode (storage.backend "redis"): the bids of this node's clients
// batched into pipelined FCALL rc_auction_bid calls (Redis decides, on Redis TIME, for every
// node), the end decided once by rc_auction_finish, the events appended to the cluster's bus in
// state order, and a cached view of the Redis state for snapshots and GET. Built by
// engine::start_auctions; called by api/auction_routes through engine::auction_engine.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "rushcast/engine/auction.hpp"
#include "rushcast/engine/auction_engine.hpp"
#include "rushcast/obs/log_limiter.hpp"
#include "rushcast/redis/client.hpp"
#include "rushcast/store/redis_auction_calls.hpp"

namespace rushcast {
namespace hub { class hub; }
namespace obs { class metrics; }
}  // namespace rushcast

namespace rushcast::engine {

// Copied into the runner.
struct cluster_auction_options {
  std::chrono::milliseconds coalesce{50};           // coalesce_ms: price and countdown events
  std::chrono::milliseconds countdown_sync{10000};  // countdown_sync_ms; 0 = none
  std::chrono::milliseconds retry{500};             // a failed finish or end announcement
  std::chrono::milliseconds view_refresh{100};      // storage.redis_view_refresh_ms
  // A call whose outcome is unknown (its connection dropped) is sent again with the same
  // request ids until this long after the first failure (storage.redis_timeout_ms); then 503.
  std::chrono::milliseconds outcome_deadline{5000};
  std::size_t batch_max = 256;                      // storage.redis_bid_batch_max
  std::string bus_stream_key = "rushcast:bus";      // bus.stream_key
  std::size_t bus_maxlen = 100000;                  // bus.stream_maxlen
  // The command rc_auction_init was called with at start, sent again should Redis have lost
  // the auction (answers "unknown auction").
  std::vector<std::string> init_command;
};

class cluster_auction_runner : public auction_engine,
                               public std::enable_shared_from_this<cluster_auction_runner> {
public:
  // rules: as stored in Redis by the first node (rc_auction_init). hub and metrics outlive
  // the runner. The runner makes its own strand on executor and its own Redis connection on
  // that strand.
  cluster_auction_runner(boost::asio::any_io_executor executor, hub::hub& h, obs::metrics& m,
                         redis::client_options redis_opts, std::string id, std::string name,
                         auction_rules rules, cluster_auction_options opt);
  ~cluster_auction_runner() override;

  // Start-up, with the state read from Redis before the node serves: the view, the snapshot
  // of "auction:ID", the connection and the timers (an auction whose end passed is finished
  // at once: by the node that gets there first, announced once).
  void start(const store::redis_auction_state& st,
             const std::vector<store::redis_stored_bid>& recent);

  // auction_engine. A bid is refused at once with unavailable while the node's connection to
  // Redis is down or the runner stopped; otherwise it joins the next call and is answered from
  // the call's result, on its shard.
  std::optional<bid_reply> bid(std::string_view user, std::int64_t amount,
                               std::string_view request_id, bid_done& done) override;
  nlohmann::json state_json(std::size_t last_bids) const override;
  void stop() override;
  const std::string& id() const override { return id_; }
  const std::string& id_json() const override { return id_json_; }
  std::int64_t min_increment() const override { return rules_.min_increment; }
  std::string topic() const { return "auction:" + id_; }

  // Redis TIME as this node estimates it (its clock plus the offset the last reply showed).
  std::int64_t now_ms() const;

private:
  struct view;
  struct queued;
  struct call;
  struct event {
    std::string topic, name, data;
    bool state = false;
  };

  bid_reply reply_base(std::int64_t amount) const;
  void drain();
  void send(std::vector<queued> bids);
  void on_bids(call& c, boost::system::error_code ec, const redis::reply& r);
  void apply(call& c, const store::redis_bid_call& res);
  void answer_unavailable(std::vector<queued>& bids);
  void arm_retry();
  void on_connection(bool up);
  void note_time(std::int64_t redis_now_ms);
  bool update_view(const store::redis_auction_head& h);
  void schedule_flush();
  void flush();
  void publish_guarded(const char* guard, std::int64_t version, std::vector<event> events,
                       std::function<void(bool ok)> done = {});
  void refresh();
  void arm_refresh();
  void arm_end_timer();
  void call_finish();
  void on_finish(const store::redis_finish& f);
  void announce(std::vector<event> events);
  void arm_start_timer();
  void arm_sync_timer();
  void reinit();
  std::string countdown_json(const view& v, std::int64_t now) const;
  std::string price_json(const view& v) const;
  view copy_view() const;

  const std::string id_;
  const std::string id_json_;
  const std::string name_;
  const auction_rules rules_;
  const cluster_auction_options opt_;
  const std::string base_;            // rc:auction:{ID}
  const std::string request_prefix_;  // node-made request ids: "n:<random>:<counter>"
  hub::hub& hub_;
  obs::metrics& metrics_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  std::shared_ptr<redis::client> client_;
  std::string epoch_candidate_;       // the bus epoch set when Redis has none

  std::atomic<bool> stopped_{false};
  std::atomic<bool> ever_connected_{false};
  std::atomic<std::uint64_t> next_request_{0};
  std::atomic<std::int64_t> offset_ms_{0};  // Redis TIME minus this node's clock

  // Bids from any thread, taken by one post to the strand per burst.
  std::mutex in_mu_;
  std::vector<queued> incoming_;
  bool drain_posted_ = false;

  // Strand only.
  std::vector<queued> retry_;  // outcome unknown: sent again with the same request ids
  boost::asio::steady_timer retry_timer_;
  bool retry_armed_ = false;
  boost::asio::steady_timer end_timer_;
  boost::asio::steady_timer start_timer_;
  boost::asio::steady_timer sync_timer_;
  boost::asio::steady_timer flush_timer_;
  boost::asio::steady_timer refresh_timer_;
  bool flush_armed_ = false;
  bool price_dirty_ = false;
  bool countdown_dirty_ = false;
  std::chrono::steady_clock::time_point last_flush_{};
  std::int64_t end_armed_for_ = -1;  // the end the end timer waits for
  bool finishing_ = false;           // an rc_auction_finish call is in flight
  bool finished_ = false;            // the outcome is known (view ended)
  bool refreshing_ = false;
  bool reinit_in_flight_ = false;
  obs::log_limiter fail_log_{std::chrono::seconds(5)};

  mutable std::mutex view_mu_;
  std::unique_ptr<view> view_;
};

}  // namespace rushcast::engine
