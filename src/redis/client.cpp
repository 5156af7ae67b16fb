// One pipelined Redis connection: connect (resolve, TCP, AUTH, SELECT, PING), gathered writes,
// replies matched in order, a watchdog for replies that do not come, reconnect with backoff.
// Everything below runs on ex_ (execute() and close() dispatch onto it).
#include "rushcast/redis/client.hpp"

#include <algorithm>

#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/config/load.hpp"

namespace rushcast::redis {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {
constexpr std::size_t read_chunk_bytes = 64 * 1024;
}

client_options client_options::from(const config::storage_cfg& s) {
  client_options o;
  std::string why;
  auto url = config::parse_redis_url(s.redis_url, &why);
  if (!url) throw config::config_error("storage.redis_url: " + why);
  o.endpoint = *url;
  o.max_pending_commands = s.redis_max_pending_commands;
  o.max_pending_bytes = s.redis_max_pending_bytes;
  o.timeout = std::chrono::milliseconds(s.redis_timeout_ms);
  o.reconnect_max = std::chrono::milliseconds(s.redis_reconnect_max_ms);
  return o;
}

std::shared_ptr<client> client::create(asio::any_io_executor ex, client_options opts) {
  return std::shared_ptr<client>(new client(std::move(ex), std::move(opts)));
}

client::client(asio::any_io_executor ex, client_options opts)
    : ex_(std::move(ex)),
      opts_(std::move(opts)),
      resolver_(ex_),
      socket_(ex_),
      reconnect_timer_(ex_),
      watchdog_(ex_),
      read_buf_(read_chunk_bytes) {
  opts_.reconnect_min = std::max(opts_.reconnect_min, std::chrono::milliseconds(1));
  opts_.reconnect_max = std::max(opts_.reconnect_max, opts_.reconnect_min);
}

client::~client() = default;

void client::run(state_handler on_state) {
  asio::dispatch(ex_, [self = shared_from_this(), on_state = std::move(on_state)]() mutable {
    if (self->state_ != state::idle) return;
    self->on_state_ = std::move(on_state);
    self->do_connect();
    self->do_watchdog();
  });
}

void client::close() {
  asio::dispatch(ex_, [self = shared_from_this()] { self->close_now(); });
}

void client::close_now() {
  if (state_ == state::closed) return;
  state_ = state::closed;
  ++generation_;
  connected_ = false;
  on_state_ = nullptr;
  error_code ignored;
  resolver_.cancel();
  socket_.close(ignored);
  reconnect_timer_.cancel();
  watchdog_.cancel();
  auto failed = std::move(pending_);
  pending_.clear();
  pending_bytes_ = 0;
  out_.clear();
  write_in_flight_ = false;
  for (auto& p : failed) p.h(make_error_code(error::closed), reply{});
}

void client::execute(std::span<const std::string_view> args, handler h) {
  // Formatting needs no state: it happens on the caller's thread.
  enqueue(format_command(args), std::move(h));
}

void client::execute(const std::vector<std::string>& args, handler h) {
  std::vector<std::string_view> views(args.begin(), args.end());
  enqueue(format_command(views), std::move(h));
}

void client::enqueue(std::string cmd, handler h) {
  asio::dispatch(ex_, [self = shared_from_this(), cmd = std::move(cmd), h = std::move(h)]() mutable {
    auto refuse = [&](error e) {
      asio::post(self->ex_, [h = std::move(h), e] { h(make_error_code(e), reply{}); });
    };
    if (self->state_ == state::closed) return refuse(error::closed);
    if (self->state_ != state::ready) return refuse(error::not_connected);
    if (self->pending_.size() >= self->opts_.max_pending_commands ||
        self->pending_bytes_ + cmd.size() > self->opts_.max_pending_bytes)
      return refuse(error::too_many_pending);
    self->send(std::move(cmd), std::move(h));
  });
}

// On ex_: queues a formatted command behind the write in flight (or writes it now).
void client::send(std::string cmd, handler h) {
  if (pending_.empty()) last_progress_ = steady::now();
  pending_bytes_ += cmd.size();
  pending_.push_back(pending_command{std::move(h), cmd.size()});
  out_ += cmd;
  if (!write_in_flight_) do_write();
}

void client::do_connect() {
  state_ = state::connecting;
  last_progress_ = steady::now();
  const std::uint64_t gen = ++generation_;
  reader_ = std::make_unique<reply_reader>();
  resolver_.async_resolve(
      opts_.endpoint.host, std::to_string(opts_.endpoint.port),
      [self = shared_from_this(), gen](error_code ec, tcp::resolver::results_type results) {
        if (gen != self->generation_) return;
        if (ec) return self->fail_connection(ec, "resolve");
        asio::async_connect(self->socket_, results,
                            [self, gen](error_code ec, const tcp::endpoint&) {
                              if (gen != self->generation_) return;
                              if (ec) return self->fail_connection(ec, "connect");
                              self->on_connected();
                            });
      });
}

// TCP is up: AUTH and SELECT as configured, then PING; ready once PING answers. The three go
// out in one write, and any error reply drops the connection (a wrong password is retried
// with backoff like an outage, and logged).
void client::on_connected() {
  state_ = state::handshake;
  error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  const std::uint64_t gen = generation_;
  auto step = [self = shared_from_this(), gen](const char* what) {
    return [self, gen, what](error_code ec, reply r) {
      if (gen != self->generation_) return;
      if (ec == error::server_error) {
        if (!self->failure_logged_)
          spdlog::error("redis {}:{}: {} refused: {}", self->opts_.endpoint.host,
                        self->opts_.endpoint.port, what, r.str);
        return self->fail_connection(ec, what);
      }
      if (ec) return;  // the connection already failed
      if (std::string_view(what) != "PING") return;
      self->state_ = state::ready;
      self->backoff_ = std::chrono::milliseconds(0);
      self->failure_logged_ = false;
      self->connected_ = true;
      spdlog::info("redis {}:{}: connected", self->opts_.endpoint.host, self->opts_.endpoint.port);
      if (self->on_state_) self->on_state_(true);
    };
  };
  const auto& e = opts_.endpoint;
  if (!e.password.empty()) {
    std::vector<std::string_view> auth{"AUTH"};
    if (!e.username.empty()) auth.push_back(e.username);
    auth.push_back(e.password);
    send(format_command(auth), step("AUTH"));
  }
  if (e.db != 0) {
    const std::string db = std::to_string(e.db);
    const std::string_view select[] = {"SELECT", db};
    send(format_command(select), step("SELECT"));
  }
  const std::string_view ping[] = {"PING"};
  send(format_command(ping), step("PING"));
  do_read();
}

void client::do_write() {
  write_in_flight_ = true;
  writing_.clear();
  std::swap(out_, writing_);
  const std::uint64_t gen = generation_;
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this(), gen](error_code ec, std::size_t) {
                      if (gen != self->generation_) return;
                      if (ec) return self->fail_connection(ec, "write");
                      self->write_in_flight_ = false;
                      if (!self->out_.empty()) self->do_write();
                    });
}

void client::do_read() {
  const std::uint64_t gen = generation_;
  socket_.async_read_some(
      asio::buffer(read_buf_), [self = shared_from_this(), gen](error_code ec, std::size_t n) {
        if (gen != self->generation_) return;
        if (ec) return self->fail_connection(ec, "read");
        self->reader_->feed(self->read_buf_.data(), n);
        for (;;) {
          error_code pec;
          auto r = self->reader_->next(pec);
          if (pec) {
            spdlog::error("redis {}:{}: protocol error: {}", self->opts_.endpoint.host,
                          self->opts_.endpoint.port, self->reader_->error_text());
            return self->fail_connection(make_error_code(error::protocol_error), "read");
          }
          if (!r) break;
          self->on_reply(std::move(*r));
          // A callback may have closed the client or dropped the connection.
          if (gen != self->generation_) return;
        }
        self->do_read();
      });
}

void client::on_reply(reply r) {
  if (pending_.empty()) {
    // RESP2 without SUBSCRIBE never sends a reply nobody asked for.
    spdlog::error("redis {}:{}: a reply with no command pending", opts_.endpoint.host,
                  opts_.endpoint.port);
    return fail_connection(make_error_code(error::protocol_error), "read");
  }
  pending_command p = std::move(pending_.front());
  pending_.pop_front();
  pending_bytes_ -= p.bytes;
  last_progress_ = steady::now();
  error_code ec;
  if (r.is_error()) ec = make_error_code(error::server_error);
  p.h(ec, std::move(r));
}

// The connection is unusable: every pending command fails (outcome unknown), then reconnect.
void client::fail_connection(error_code ec, const char* where) {
  if (state_ == state::closed || state_ == state::backoff) return;
  const bool was_ready = state_ == state::ready;
  ++generation_;
  connected_ = false;
  state_ = state::backoff;
  error_code ignored;
  resolver_.cancel();
  socket_.close(ignored);
  out_.clear();
  write_in_flight_ = false;
  if (was_ready || !failure_logged_) {
    spdlog::warn("redis {}:{}: {} failed: {}; reconnecting", opts_.endpoint.host,
                 opts_.endpoint.port, where, ec.message());
    failure_logged_ = true;
  }
  auto failed = std::move(pending_);
  pending_.clear();
  pending_bytes_ = 0;
  const error_code lost = ec == error::timeout ? ec : make_error_code(error::connection_lost);
  for (auto& p : failed) p.h(lost, reply{});
  if (state_ == state::closed) return;  // a callback closed the client
  if (was_ready && on_state_) on_state_(false);
  if (state_ == state::closed) return;
  schedule_reconnect();
}

void client::schedule_reconnect() {
  backoff_ = backoff_.count() == 0 ? opts_.reconnect_min
                                   : std::min(backoff_ * 2, opts_.reconnect_max);
  reconnect_timer_.expires_after(backoff_);
  reconnect_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->state_ != state::backoff) return;
    self->do_connect();
  });
}

// Every quarter of the timeout: a connect or handshake that takes longer than the timeout, or
// a pending command with no reply for that long, drops the connection.
void client::do_watchdog() {
  const auto period = std::max(opts_.timeout / 4, std::chrono::milliseconds(5));
  watchdog_.expires_after(period);
  watchdog_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->state_ == state::closed) return;
    const bool waiting = self->state_ == state::connecting || self->state_ == state::handshake ||
                         (self->state_ == state::ready && !self->pending_.empty());
    if (waiting && steady::now() - self->last_progress_ >= self->opts_.timeout)
      self->fail_connection(make_error_code(error::timeout), "waiting for a reply");
    if (self->state_ != state::closed) self->do_watchdog();
  });
}

}  // namespace rushcast::redis
