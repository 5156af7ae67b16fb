// The streaming test clients: an SSE reader and a WebSocket client, each on its own io_context.
#include "harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "harness_detail.hpp"

namespace rushcast::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http_ns = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;
using detail::run_until;

// ---- SSE ----------------------------------------------------------------------------------

struct sse_client::impl {
  asio::io_context io;
  tcp::socket s{io};
  std::string raw;        // bytes not yet parsed
  std::string body;       // de-chunked body bytes not yet split into events
  bool head_done = false;
  bool chunked = false;
  bool eof = false;
  bool reading = false;
  unsigned status = 0;
  headers_t headers;
  std::optional<unsigned> retry;
  std::size_t comments = 0;
  std::deque<sse_event> events;
  sse_event cur;
  std::array<char, 16384> rbuf;

  void start_read() {
    if (reading || eof) return;
    reading = true;
    s.async_read_some(asio::buffer(rbuf), [this](boost::system::error_code ec, std::size_t n) {
      reading = false;
      if (ec) {
        eof = true;
        return;
      }
      raw.append(rbuf.data(), n);
      parse();
    });
  }

  void parse() {
    if (!head_done) {
      auto end = raw.find("\r\n\r\n");
      if (end == std::string::npos) return;
      std::string head = raw.substr(0, end);
      raw.erase(0, end + 4);
      std::istringstream in(head);
      std::string line;
      std::getline(in, line);
      if (line.size() >= 12) status = static_cast<unsigned>(std::stoi(line.substr(9, 3)));
      while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        headers[name] = value;
      }
      head_done = true;
      chunked = headers.count("transfer-encoding") &&
                headers["transfer-encoding"].find("chunked") != std::string::npos;
    }
    if (chunked) {
      for (;;) {
        auto crlf = raw.find("\r\n");
        if (crlf == std::string::npos) break;
        std::size_t len = std::stoul(raw.substr(0, crlf), nullptr, 16);
        if (raw.size() < crlf + 2 + len + 2) break;
        if (len == 0) {
          eof = true;
          raw.clear();
          break;
        }
        body.append(raw, crlf + 2, len);
        raw.erase(0, crlf + 2 + len + 2);
      }
    } else {
      body += raw;
      raw.clear();
    }
    split_events();
  }

  void split_events() {
    std::size_t pos;
    while ((pos = body.find('\n')) != std::string::npos) {
      std::string line = body.substr(0, pos);
      body.erase(0, pos + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) {
        if (!cur.data.empty() || !cur.event.empty()) events.push_back(cur);
        cur = {};
        continue;
      }
      if (line[0] == ':') {
        ++comments;
        continue;
      }
      auto colon = line.find(':');
      std::string field = line.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (field == "data") {
        if (!cur.data.empty()) cur.data += "\n";
        cur.data += value;
      } else if (field == "event") {
        cur.event = value;
      } else if (field == "id") {
        cur.id = value;
      } else if (field == "retry") {
        retry = static_cast<unsigned>(std::stoul(value));
      }
    }
  }
};

sse_client::sse_client(std::uint16_t port, const std::string& target, headers_t headers)
    : impl_(std::make_unique<impl>()) {
  impl_->s.connect({asio::ip::make_address("127.0.0.1"), port});
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nAccept: text/event-stream\r\n";
  for (auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n";
  asio::write(impl_->s, asio::buffer(req));
  auto deadline = clock_type::now() + 10s;
  run_until(impl_->io, deadline, [&] {
    impl_->start_read();
    return impl_->head_done || impl_->eof;
  });
  if (!impl_->head_done) throw std::runtime_error("no SSE response head");
}

sse_client::~sse_client() = default;
unsigned sse_client::status() const { return impl_->status; }
const headers_t& sse_client::headers() const { return impl_->headers; }
std::optional<unsigned> sse_client::retry_ms() const { return impl_->retry; }
std::size_t sse_client::comments_seen() const { return impl_->comments; }
bool sse_client::eof() const { return impl_->eof; }

std::optional<sse_event> sse_client::next(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  run_until(impl_->io, deadline, [&] {
    if (!impl_->events.empty() || impl_->eof) return true;
    impl_->start_read();
    return false;
  });
  if (impl_->events.empty()) return std::nullopt;
  auto e = std::move(impl_->events.front());
  impl_->events.pop_front();
  return e;
}

std::optional<sse_event> sse_client::next_named(const std::string& name,
                                                std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) return std::nullopt;
    auto e = next(left);
    if (!e) return std::nullopt;
    if (e->event == name) return e;
  }
}

bool sse_client::wait_eof(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  return run_until(impl_->io, deadline, [&] {
    impl_->events.clear();
    if (impl_->eof) return true;
    impl_->start_read();
    return false;
  });
}

// ---- WebSocket ----------------------------------------------------------------------------

struct ws_client::impl {
  asio::io_context io;
  websocket::stream<tcp::socket> ws{io};
  beast::flat_buffer buf;
  std::deque<json> messages;
  bool reading = false;
  bool closed = false;
  std::optional<std::uint16_t> code;

  void start_read() {
    if (reading || closed) return;
    reading = true;
    ws.async_read(buf, [this](boost::system::error_code ec, std::size_t) {
      reading = false;
      if (ec) {
        closed = true;
        if (ws.reason().code != websocket::close_code::none || ec == websocket::error::closed)
          code = static_cast<std::uint16_t>(ws.reason().code);
        return;
      }
      auto text = beast::buffers_to_string(buf.data());
      buf.consume(buf.size());
      auto j = json::parse(text, nullptr, false);
      if (j.is_discarded()) j = json{{"type", "__unparsable"}, {"raw", text}};
      messages.push_back(std::move(j));
    });
  }
};

ws_client::ws_client(std::uint16_t port, const std::string& path, headers_t headers)
    : impl_(std::make_unique<impl>()) {
  auto& s = beast::get_lowest_layer(impl_->ws);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  impl_->ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& r) {
    for (auto& [k, v] : headers) r.set(k, v);
  }));
  // Async under a deadline, not a blocking call (harness_detail.hpp says why).
  boost::system::error_code ec;
  bool done = false;
  impl_->ws.async_handshake("127.0.0.1:" + std::to_string(port), path,
                            [&](boost::system::error_code e) {
                              ec = e;
                              done = true;
                            });
  if (!run_until(impl_->io, clock_type::now() + 30s, [&] { return done; })) {
    s.close(ec);
    impl_->io.restart();
    impl_->io.run();
    throw std::runtime_error("WebSocket handshake on " + path + ": no answer within 30 s");
  }
  if (ec) throw boost::system::system_error(ec, "WebSocket handshake on " + path);
}

ws_client::~ws_client() {
  if (!impl_->closed) {
    boost::system::error_code ec;
    beast::get_lowest_layer(impl_->ws).close(ec);
  }
}

void ws_client::send(const std::string& text) {
  // A read may be pending in the io_context; a synchronous write beside it is allowed by
  // Beast (one read and one write at a time).
  impl_->ws.text(true);
  impl_->ws.write(asio::buffer(text));
}

void ws_client::send_json(const json& j) { send(j.dump()); }

std::optional<json> ws_client::recv(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  run_until(impl_->io, deadline, [&] {
    if (!impl_->messages.empty() || impl_->closed) return true;
    impl_->start_read();
    return false;
  });
  if (impl_->messages.empty()) return std::nullopt;
  auto m = std::move(impl_->messages.front());
  impl_->messages.pop_front();
  return m;
}

std::optional<json> ws_client::recv_type(const std::string& type,
                                         std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) return std::nullopt;
    auto m = recv(left);
    if (!m) return std::nullopt;
    if (m->value("type", "") == type) return m;
  }
}

std::optional<std::uint16_t> ws_client::close_code(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  run_until(impl_->io, deadline, [&] {
    impl_->messages.clear();
    if (impl_->closed) return true;
    impl_->start_read();
    return false;
  });
  return impl_->code;
}

bool ws_client::closed() const { return impl_->closed; }

void ws_client::close() {
  if (impl_->closed) return;
  boost::system::error_code ec;
  beast::get_lowest_layer(impl_->ws).close(ec);
  impl_->closed = true;
}
}  // namespace rushcast::test
