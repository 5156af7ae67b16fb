// Owns the listening socket: accepts each connection onto the next shard (round-robin),
// enforces the connection caps (503) and hands the socket to an http_session.
// Used by app/server (start-up, drain).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "rushcast/net/services.hpp"
#include "rushcast/obs/log_limiter.hpp"

namespace rushcast::net {

class listener : public std::enable_shared_from_this<listener> {
public:
  // Opens, binds (reuse_address) and listens (SOMAXCONN) on ep at once; throws
  // boost::system::system_error at start-up when the address cannot be bound.
  listener(services& svc, boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& ep);

  std::uint16_t port() const { return port_; }
  void run();
  // Stops accepting (drain); safe from any thread.
  void stop();

private:
  void do_accept();
  void on_accept(std::size_t shard_index, boost::system::error_code ec,
                 boost::asio::ip::tcp::socket socket);

  services& svc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  std::uint16_t port_ = 0;
  std::size_t next_ = 0;
  bool stopped_ = false;
  bool accept_failing_ = false;
  // Out of descriptors, accept fails every retry (50 ms): one line per interval, with a count.
  obs::log_limiter accept_fail_log_{std::chrono::seconds(5)};
};

}  // namespace rushcast::net
