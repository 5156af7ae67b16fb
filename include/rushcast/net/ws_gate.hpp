// Owns the write interlock between Beast and ws_session's raw frame writes on one socket.
// Used by net::ws_session as the next layer of its beast::websocket::stream.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/system/error_code.hpp>

namespace rushcast::net {

// ws_session writes the hub's pre-encoded data frames straight to the socket (many per
// writev), while Beast keeps the handshake, reads, pongs, pings and the close frame. Two writes
// interleaved on one socket would splice frames, so this layer lets exactly one side write at a
// time: a Beast write that arrives during a raw write is parked and started when the raw write
// ends; a raw write that would start during a Beast write waits for it (wait_beast). Beast's
// composed writes call async_write_some again from inside their completion, so the waiter runs
// only once no Beast write is in flight after that completion. All on one shard thread.
class ws_gate {
public:
  // The shard's own executor type, not any_io_executor: every Beast operation and every Asio
  // reactor operation pending on this connection stores a copy of it (and of its work guard),
  // and the idle connection keeps one read and one timer wait pending for its whole life.
  using executor_type = boost::asio::io_context::executor_type;
  using socket_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp, executor_type>;

  explicit ws_gate(socket_type s) : socket_(std::move(s)) {}

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  // Beast's lowest layer (it closes this socket on a timeout).
  socket_type& next_layer() noexcept { return socket_; }
  const socket_type& next_layer() const noexcept { return socket_; }

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& b, Handler&& h) {
    return socket_.async_read_some(b, std::forward<Handler>(h));
  }

  // Beast's writes (control frames, close). Parked while a raw write is in flight.
  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& b, Handler&& h) {
    return boost::asio::async_initiate<Handler, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& bufs) {
          if (raw_writing_) {
            parked_ = make_pending([this, bufs, h = std::move(handler)]() mutable {
              start_beast_write(bufs, std::move(h));
            });
            return;
          }
          start_beast_write(bufs, std::move(handler));
        },
        h, b);
  }

  // Raw side (ws_session). begin_raw() only when !beast_writing().
  bool beast_writing() const { return beast_writing_; }
  void begin_raw() { raw_writing_ = true; }
  // Ends a raw write and lets a parked Beast write go.
  void end_raw() {
    raw_writing_ = false;
    if (parked_) std::exchange(parked_, nullptr)->run();
  }
  // Runs f once the Beast write in flight has completed.
  template <class F>
  void wait_beast(F f) {
    raw_waiter_ = make_pending(std::move(f));
  }

private:
  // A parked callback, heap-allocated only while something is parked: the gate lives inside
  // Beast's stream state for the connection's whole life, where two std::function members
  // would cost 64 bytes per idle connection.
  struct pending {
    virtual ~pending() = default;
    virtual void run() = 0;
  };
  template <class F>
  static std::unique_ptr<pending> make_pending(F f) {
    struct impl final : pending {
      explicit impl(F fn) : fn(std::move(fn)) {}
      void run() override { fn(); }
      F fn;
    };
    return std::make_unique<impl>(std::move(f));
  }

  template <class ConstBuffers, class Handler>
  void start_beast_write(const ConstBuffers& bufs, Handler handler) {
    beast_writing_ = true;
    socket_.async_write_some(
        bufs, [this, h = std::move(handler)](boost::system::error_code ec, std::size_t n) mutable {
          beast_writing_ = false;
          h(ec, n);
          if (!beast_writing_ && raw_waiter_) std::exchange(raw_waiter_, nullptr)->run();
        });
  }

  socket_type socket_;
  bool raw_writing_ = false;
  bool beast_writing_ = false;
  std::unique_ptr<pending> parked_;
  std::unique_ptr<pending> raw_waiter_;
};

// Beast's close handshake ends with a teardown of the next layer. Like Beast's own TCP teardown
// it sends FIN and reads until the peer's EOF before closing: closing with unread input would
// reset the connection and could destroy the close frame (1009 after a too-big message) before
// the peer reads it. Bounded by Beast's close timeout, which closes the socket.
void teardown(boost::beast::role_type role, ws_gate& g, boost::system::error_code& ec);

template <class Handler>
class ws_teardown_op : public std::enable_shared_from_this<ws_teardown_op<Handler>> {
public:
  ws_teardown_op(ws_gate& g, Handler h) : g_(g), h_(std::move(h)) {}
  void read() {
    g_.next_layer().async_read_some(
        boost::asio::buffer(buf_),
        [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
          if (!ec) return self->read();
          boost::system::error_code ignored;
          self->g_.next_layer().close(ignored);
          self->h_(boost::system::error_code{});
        });
  }

private:
  ws_gate& g_;
  Handler h_;
  char buf_[256];
};

template <class TeardownHandler>
void async_teardown(boost::beast::role_type, ws_gate& g, TeardownHandler&& handler) {
  boost::system::error_code ec;
  g.next_layer().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  std::make_shared<ws_teardown_op<std::decay_t<TeardownHandler>>>(
      g, std::forward<TeardownHandler>(handler))
      ->read();
}

}  // namespace rushcast::net
