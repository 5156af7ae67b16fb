// Owns one pipelined connection to Redis on a given executor: hiredis as the RESP codec under an
// Asio socket, AUTH/SELECT from storage.redis_url, reconnect with backoff, bounded pending work.
// Used by app/ (start-up check), store/redis_* and cluster/bus; one client per io_context.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "rushcast/config/config.hpp"
#include "rushcast/config/redis_url.hpp"
#include "rushcast/redis/error.hpp"
#include "rushcast/redis/reply.hpp"

namespace rushcast::redis {

struct client_options {
  config::redis_url endpoint;
  std::size_t max_pending_commands = 65536;   // storage.redis_max_pending_commands
  std::size_t max_pending_bytes = 64u << 20;  // storage.redis_max_pending_bytes
  std::chrono::milliseconds timeout{5000};    // storage.redis_timeout_ms
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{2000};  // storage.redis_reconnect_max_ms

  // From the storage section (its redis_url was checked at load; throws config_error if not).
  static client_options from(const config::storage_cfg& s);
};

// Pipelined: every command is written as soon as the previous write completes (all commands
// queued meanwhile leave in one gathered write), and replies are matched to commands in order.
//
// Threads: the executor must be a strand or an io_context run by one thread. execute() may be
// called from any thread; every callback runs on the client's executor, never inside execute().
//
// Errors are values: a callback gets (ec, reply). ec is error::server_error when Redis answered
// with an error reply (its text in reply.str), or one of the other redis::error values when
// there is no reply (the command was not sent, or its outcome is unknown: see error.hpp).
// While not connected, commands fail at once with error::not_connected (nothing is queued for
// later: a caller decides itself whether to retry). When the connection drops, every pending
// command fails with error::connection_lost (or error::timeout), then the client reconnects:
// reconnect_min, doubling up to reconnect_max, reset after a successful handshake.
// A blocking command (XREAD BLOCK, BLPOP) holds up every reply behind it on this connection, and
// must block for less than timeout, or the watchdog takes it for a dead server: give blocking
// reads a client of their own.
class client : public std::enable_shared_from_this<client> {
public:
  using handler = std::function<void(boost::system::error_code, reply)>;
  // Called on the executor with true once connected and ready (AUTH, SELECT and PING done),
  // false when a ready connection is lost.
  using state_handler = std::function<void(bool connected)>;

  static std::shared_ptr<client> create(boost::asio::any_io_executor ex, client_options opts);
  ~client();

  // Starts connecting (and reconnecting until close()). Call once.
  void run(state_handler on_state = {});
  // Stops: pending commands fail with error::closed, the socket closes, no reconnect. Any thread.
  void close();
  // close() done here and now, for teardown once no thread runs the executor any more (a
  // close() posted then would never run, and pending handlers holding their owners would keep
  // both alive in a cycle).
  void close_stopped() { close_now(); }

  // Sends one command, e.g. execute({"FCALL", "rc_sale_admit", "1", key, ...}, cb).
  void execute(std::span<const std::string_view> args, handler h);
  void execute(std::initializer_list<std::string_view> args, handler h) {
    execute(std::span<const std::string_view>(args.begin(), args.size()), std::move(h));
  }
  void execute(const std::vector<std::string>& args, handler h);

  // Ready to take commands now (any thread; a hint: a command may still fail).
  bool connected() const noexcept { return connected_.load(std::memory_order_relaxed); }
  const boost::asio::any_io_executor& get_executor() const noexcept { return ex_; }
  const client_options& options() const noexcept { return opts_; }

private:
  client(boost::asio::any_io_executor ex, client_options opts);

  enum class state { idle, connecting, handshake, ready, backoff, closed };
  struct pending_command {
    handler h;
    std::size_t bytes = 0;
  };

  void enqueue(std::string cmd, handler h);
  void send(std::string cmd, handler h);
  void do_connect();
  void on_connected();
  void do_write();
  void do_read();
  void on_reply(reply r);
  void fail_connection(boost::system::error_code ec, const char* where);
  void schedule_reconnect();
  void do_watchdog();
  void close_now();

  boost::asio::any_io_executor ex_;
  client_options opts_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer watchdog_;
  state state_ = state::idle;
  std::uint64_t generation_ = 0;  // bumped per connection: late handlers of an old one return
  std::string out_;      // formatted commands waiting for the write in flight
  std::string writing_;  // the write in flight
  bool write_in_flight_ = false;
  std::deque<pending_command> pending_;  // in the order they were written: replies match it
  std::size_t pending_bytes_ = 0;
  std::unique_ptr<reply_reader> reader_;
  std::vector<char> read_buf_;
  std::chrono::steady_clock::time_point last_progress_{};
  std::chrono::milliseconds backoff_{0};
  std::atomic<bool> connected_{false};
  state_handler on_state_;
  bool failure_logged_ = false;  // one warning per outage, not one per attempt
};

}  // namespace rushcast::redis
