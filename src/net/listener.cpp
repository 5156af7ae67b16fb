// Accepts directly onto the shard's io_context, so a connection's every handler runs on one
// thread and needs no strand.
#include "rushcast/net/listener.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/api/context.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/limits/connection_limiter.hpp"
#include "rushcast/net/http_session.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

listener::listener(services& svc, asio::io_context& ioc, const tcp::endpoint& ep)
    : svc_(svc), acceptor_(ioc), retry_(ioc) {
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
}

void listener::run() { do_accept(); }

void listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    self->stopped_ = true;
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    self->retry_.cancel();
  });
}

void listener::do_accept() {
  if (stopped_) return;
  std::size_t i = next_;
  next_ = (next_ + 1) % svc_.shards.size();
  acceptor_.async_accept(svc_.shards[i]->ioc(),
                         [self = shared_from_this(), i](boost::system::error_code ec,
                                                         tcp::socket socket) {
                           self->on_accept(i, ec, std::move(socket));
                         });
}

void listener::on_accept(std::size_t shard_index, boost::system::error_code ec,
                         tcp::socket socket) {
  if (stopped_ || ec == asio::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors and the like: pause instead of spinning on the error.
    accept_failing_ = true;
    if (auto n = accept_fail_log_.admit())
      spdlog::warn("accept: {} ({} time(s) since the last such line; retrying every 50 ms)",
                   ec.message(), n);
    retry_.expires_after(std::chrono::milliseconds(50));
    retry_.async_wait([self = shared_from_this()](boost::system::error_code e) {
      if (!e) self->do_accept();
    });
    return;
  }
  if (accept_failing_) {
    accept_failing_ = false;
    spdlog::info("accept: accepting again ({} failure(s) not logged since the last line)",
                 accept_fail_log_.take_suppressed());
  }
  do_accept();

  boost::system::error_code e;
  auto remote = socket.remote_endpoint(e);
  if (e) return;
  socket.set_option(tcp::no_delay(true), e);
  auto ip = remote.address().to_string();
  auto& m = svc_.ctx.metrics;
  auto* sh = svc_.shards[shard_index].get();
  const auto& trusted = svc_.ctx.cfg.trusted_proxies;
  bool proxied = std::find(trusted.begin(), trusted.end(), ip) != trusted.end();
  if (!(proxied ? svc_.conns.try_acquire_total() : svc_.conns.try_acquire(ip))) {
    m.connections_rejected.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("accept {}: over capacity", ip);
    auto none = std::make_unique<conn_slot>(std::move(ip));
    asio::post(sh->ioc(), [&svc = svc_, sh, s = std::move(socket), slot = std::move(none)]() mutable {
      std::make_shared<http_session>(svc, *sh, std::move(s), std::move(slot), true)->run();
    });
    return;
  }
  m.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  auto slot = std::make_unique<conn_slot>(svc_.conns, std::move(ip), proxied);
  asio::post(sh->ioc(), [&svc = svc_, sh, s = std::move(socket), slot = std::move(slot)]() mutable {
    std::make_shared<http_session>(svc, *sh, std::move(s), std::move(slot))->run();
  });
}

}  // namespace rushcast::net
