// Owns one shard's bookkeeping: its io_context and the sessions living on it (for drain).
// Used by app/server (creates one per thread), net::listener and every session.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace rushcast::net {

// A session that can be asked to end gracefully (SIGTERM drain).
class drainable {
public:
  virtual ~drainable() = default;
  // On the shard thread. Ends the session the way the contract says for its transport
  // (WebSocket close 1001, end of the SSE stream, empty long-poll answer, idle HTTP closed).
  virtual void drain() = 0;
  // On the shard thread, every keep-alive period while the shard has keep-alive sessions (see
  // shard::add_keepalive). WebSocket sessions ping here and drop a silent peer.
  virtual void keepalive(std::chrono::steady_clock::time_point) {}
};

// A shard = one io_context run by one thread; everything registered here is touched only on
// that thread, so no lock.
class shard {
public:
  shard(std::size_t index, boost::asio::io_context& ioc) : index_(index), ioc_(ioc) {}
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;

  std::size_t index() const { return index_; }
  boost::asio::io_context& ioc() { return ioc_; }
  boost::asio::io_context::executor_type executor() { return ioc_.get_executor(); }

  // Shard thread only. add() from a session's run(), remove() from its destructor.
  void add(const std::shared_ptr<drainable>& s) { live_[s.get()] = s; }
  void remove(drainable* s) { live_.erase(s); }
  std::size_t live() const { return live_.size(); }
  // Shard thread only: drains every live session (a copy: drain() may remove).
  void drain_all();

  // WebSocket keep-alive: ONE timer per shard, not one per connection (a pending timer wait
  // costs every idle connection memory). While at least one session needs it, every period
  // the timer calls keepalive() on every live session. A session calls add_keepalive once
  // when it opens and remove_keepalive once when it ends.
  void add_keepalive(std::chrono::milliseconds period);
  void remove_keepalive();
  // Before the io_context is destroyed (server teardown, threads joined): drops the timer.
  void stop_keepalive() {
    stopped_ = true;
    timer_.reset();
  }

private:
  void arm_keepalive();
  void sweep();

  std::size_t index_;
  boost::asio::io_context& ioc_;
  std::unordered_map<drainable*, std::weak_ptr<drainable>> live_;
  std::unique_ptr<boost::asio::steady_timer> timer_;  // only while keep-alive sessions exist
  std::chrono::milliseconds period_{0};
  std::size_t keepalive_users_ = 0;
  bool stopped_ = false;
};

}  // namespace rushcast::net
