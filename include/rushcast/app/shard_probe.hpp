// Owns the liveness rule of the systemd watchdog: every shard must run a posted handler.
// Used by app/server on its watchdog timer: WATCHDOG=1 is sent only when all shards answered.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

namespace rushcast::app {

class shard_probe {
public:
  explicit shard_probe(std::vector<boost::asio::any_io_executor> shards);

  // Any one thread (the watchdog timer's). Posts a ping to every shard and returns true; when
  // the last of them has run, calls on_alive once, on that shard's thread. While a previous
  // round is still unanswered (a shard is wedged, or slower than the watchdog interval) posts
  // nothing, returns false, and that round's on_alive stays the only one due, so a wedged
  // shard stops the WATCHDOG=1 datagrams and systemd restarts the daemon.
  bool round(std::function<void()> on_alive);

  // True while a round started and its on_alive has not returned yet.
  bool pending() const { return state_->in_flight.load(std::memory_order_acquire); }

private:
  struct state {
    std::atomic<bool> in_flight{false};   // cleared after on_alive returned
    std::atomic<std::size_t> remaining{0};  // shards of this round yet to answer
    std::function<void()> on_alive;        // written by round() only while nothing is in flight
  };
  std::vector<boost::asio::any_io_executor> shards_;
  std::shared_ptr<state> state_ = std::make_shared<state>();
};

}  // namespace rushcast::app
