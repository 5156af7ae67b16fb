// Owns one shard's bookkeeping: its io_context and the sessions living on it (for drain).
// Used by app/server (creates one per thread), net::listener and every session.
#pragma once

#include <cstddef>
#include <memory>
#include <unordered_map>

#include <boost/asio/io_context.hpp>

namespace rushcast::net {

// A session that can be asked to end gracefully (SIGTERM drain).
class drainable {
public:
  virtual ~drainable() = default;
  // On the shard thread. Ends the session the way the contract says for its transport
  // (WebSocket close 1001, end of the SSE stream, empty long-poll answer, idle HTTP closed).
  virtual void drain() = 0;
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

private:
  std::size_t index_;
  boost::asio::io_context& ioc_;
  std::unordered_map<drainable*, std::weak_ptr<drainable>> live_;
};

}  // namespace rushcast::net
