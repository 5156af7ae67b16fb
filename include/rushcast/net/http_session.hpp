// Owns one keep-alive HTTP connection: parsing under the header/body limits, timeouts, the
// per-IP request rate, and routing to ws_session, sse_session, long_poll or api::router. Who
// may open which stream (identity, topics, Origin, CORS, forwarded client) is api's.
// Created by net::listener on the connection's shard.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "rushcast/api/errc.hpp"
#include "rushcast/api/http_types.hpp"
#include "rushcast/net/services.hpp"

namespace rushcast::net {

class long_poll;

// Memory for one request head in Beast's parser (its fields, method and target): handed out by
// bumping an offset, all of it free again before the next request. The block grows to the
// largest head the connection sent (at most max_block_bytes; beyond, the heap serves), so a
// keep-alive connection parses request after request without allocating.
class head_arena {
public:
  static constexpr std::size_t max_block_bytes = 16384;

  void* allocate(std::size_t n);
  void deallocate(void* p) noexcept;
  // Between requests, when nothing allocated from the arena is alive any more.
  void reset();

private:
  std::unique_ptr<unsigned char[]> block_;
  std::size_t size_ = 0;
  std::size_t used_ = 0;
  std::size_t wanted_ = 0;  // what the last head needed in all
};

template <class T>
class head_allocator {
public:
  using value_type = T;
  explicit head_allocator(head_arena& a) noexcept : arena_(&a) {}
  template <class U>
  head_allocator(const head_allocator<U>& o) noexcept : arena_(o.arena_) {}  // NOLINT
  T* allocate(std::size_t n) { return static_cast<T*>(arena_->allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { arena_->deallocate(p); }
  template <class U>
  bool operator==(const head_allocator<U>& o) const noexcept { return arena_ == o.arena_; }

private:
  template <class U>
  friend class head_allocator;
  head_arena* arena_;
};

class http_session : public drainable, public std::enable_shared_from_this<http_session> {
public:
  // over_capacity: answer 503 (Retry-After: 1) at once, then close gracefully.
  http_session(services& svc, net::shard& sh, boost::asio::ip::tcp::socket socket,
               conn_slot_ptr slot, bool over_capacity = false);
  ~http_session() override;

  void run();
  // Closes an idle keep-alive connection now; a busy one after its answer.
  void drain() override;

private:
  using fields_t = boost::beast::http::basic_fields<head_allocator<char>>;
  using request_t = boost::beast::http::request<boost::beast::http::string_body, fields_t>;

  void do_read();
  // The head is checked (Host, Transfer-Encoding) before on_read reads the body.
  void on_header(boost::system::error_code ec, std::size_t n);
  void on_read(boost::system::error_code ec, std::size_t n);
  // Every failed read ends here: a limit or parse error is answered (then closed), the rest
  // (timeouts, the peer gone) ends the connection quietly.
  void fail(boost::system::error_code ec, const char* what);
  void handle(request_t&& req);
  void start_sse();
  void start_ws(request_t&& req);
  void start_long_poll();
  void watch_for_hangup(const std::shared_ptr<long_poll>& lp);
  void send_error(errc e, std::string message, bool close = false);
  // The whole write must finish within write_timeout_ms (0: limits.idle_timeout_ms), else the
  // connection is closed.
  void write_response(api::response r, std::uint32_t write_timeout_ms = 0);
  void on_write(bool keep_alive, bool bounded, boost::system::error_code ec);
  void linger_close();
  void linger_read();
  // Runs f, one of the session's own handlers (a read's completion, run()); an answer written
  // synchronously meanwhile gets its on_write once f has returned.
  template <class F>
  void in_handler(F&& f);

  struct written_answer {
    bool keep_alive;
    bool bounded;
    boost::system::error_code ec;
  };
  int handler_depth_ = 0;
  std::optional<written_answer> written_;  // written inside a handler, on_write still due

  services& svc_;
  net::shard& shard_;
  boost::beast::tcp_stream stream_;
  conn_slot_ptr slot_;
  boost::beast::flat_buffer buffer_;
  head_arena arena_;  // before parser_: the parser's message gives its memory back into it
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body,
                                                   head_allocator<char>>>
      parser_;
  api::request req_;
  std::string out_;  // the answer being written; its memory is kept for the next one
  bool first_ = true;
  // The last answer (a long-poll's) still sat unread in the socket when its write finished:
  // the next request must come within handshake_timeout_ms, not idle_timeout_ms.
  bool unread_answer_ = false;
  bool busy_ = false;        // a request is being answered
  bool keep_alive_ = true;   // of the current request
  bool handed_off_ = false;  // the socket went to an SSE or WebSocket session
  bool closed_ = false;
  bool over_capacity_ = false;
};

}  // namespace rushcast::net
