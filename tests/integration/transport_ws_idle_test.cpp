// WebSocket connections while idle: no message buffer is kept then (docs/ARCHITECTURE.md,
// "Memory of an idle WebSocket"), yet keep-alive pings go out, a silent peer is dropped, a client
// that speaks after a pause is served, and frames that arrive together are all read.
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace rushcast::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using nlohmann::json;
using clock_type = std::chrono::steady_clock;

// A Beast client that also counts the server's keep-alive pings. It answers them only while
// a read is pending (Beast's pong), i.e. inside run_for / read_text.
class raw_ws {
public:
  explicit raw_ws(std::uint16_t port) : ws_(io_) {
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    ws_.next_layer().connect(ep);
    ws_.handshake("127.0.0.1", "/ws");
    ws_.control_callback([this](websocket::frame_type t, beast::string_view) {
      if (t == websocket::frame_type::ping) ++pings_;
    });
  }

  // Reads (and so answers pings) for d; returns the text messages that arrived.
  std::vector<std::string> run_for(std::chrono::milliseconds d) {
    start_read();
    io_.restart();
    io_.run_for(d);
    return std::exchange(got_, {});
  }

  // Next text message within timeout.
  std::optional<json> read_json(std::chrono::milliseconds timeout = 5s) {
    start_read();
    io_.restart();
    auto deadline = clock_type::now() + timeout;
    while (got_.empty() && !closed_ && clock_type::now() < deadline)
      io_.run_one_for(deadline - clock_type::now());
    if (got_.empty()) return std::nullopt;
    auto j = json::parse(got_.front());
    got_.erase(got_.begin());
    return j;
  }

  // Bytes written as they are, in one write: lets a test put several frames in one segment.
  void write_raw(const std::string& bytes) {
    asio::write(ws_.next_layer(), asio::buffer(bytes));
  }

  void send(const std::string& text) { ws_.write(asio::buffer(text)); }

  int pings() const { return pings_; }
  bool closed() const { return closed_; }
  asio::ip::tcp::socket& socket() { return ws_.next_layer(); }

private:
  void start_read() {
    if (reading_ || closed_) return;
    reading_ = true;
    ws_.async_read(buf_, [this](boost::system::error_code ec, std::size_t) {
      reading_ = false;
      if (ec) {
        closed_ = true;
        return;
      }
      got_.push_back(beast::buffers_to_string(buf_.data()));
      buf_.consume(buf_.size());
      start_read();
    });
  }

  asio::io_context io_;
  websocket::stream<asio::ip::tcp::socket> ws_;
  beast::flat_buffer buf_;
  std::vector<std::string> got_;  // read, not yet returned
  int pings_ = 0;
  bool reading_ = false;
  bool closed_ = false;
};

// A client-to-server text frame (masked with a zero key, so the payload reads as is).
std::string client_frame(const std::string& payload) {
  EXPECT_LT(payload.size(), 126u);
  std::string f;
  f.push_back(static_cast<char>(0x81));
  f.push_back(static_cast<char>(0x80 | payload.size()));
  f.append(4, '\0');
  f += payload;
  return f;
}

// Reads raw bytes from the server until want bytes arrived, the peer closed, or 3 s passed.
std::string read_raw(asio::ip::tcp::socket& s, std::size_t want) {
  s.non_blocking(true);
  std::string got;
  char buf[512];
  auto deadline = clock_type::now() + 3s;
  while (got.size() < want && clock_type::now() < deadline) {
    pollfd p{s.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    boost::system::error_code ec;
    auto n = s.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block) continue;
    if (ec) break;
    got.append(buf, n);
  }
  return got;
}

json short_pings() { return json{{"websocket", {{"ping_ms", 300}}}}; }

}  // namespace

TEST(TransportWsIdle, KeepAlivePingsReachAnIdleClientThatStaysConnected) {
  daemon d(short_pings());
  raw_ws c(d.port());
  auto got = c.run_for(1500ms);
  EXPECT_TRUE(got.empty());
  EXPECT_FALSE(c.closed());
  // One ping per interval while idle (allow for scheduling slack).
  EXPECT_GE(c.pings(), 2);
  EXPECT_LE(c.pings(), 6);
}

TEST(TransportWsIdle, ClientSpeakingAfterAPauseIsServed) {
  daemon d(short_pings());
  raw_ws c(d.port());
  c.run_for(800ms);
  c.send(json{{"type", "ping"}, {"ref", 1}}.dump());
  auto r = c.read_json();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("type"), "pong");
  EXPECT_EQ(r->at("ref"), 1);
  // And again: the read that follows a message is idle again, not stuck.
  c.run_for(800ms);
  c.send(json{{"type", "ping"}, {"ref", 2}}.dump());
  r = c.read_json();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("ref"), 2);
}

TEST(TransportWsIdle, SilentPeerIsDroppedAfterTwoIntervals) {
  daemon d(short_pings());
  raw_ws c(d.port());
  // Never read: the server's pings go unanswered. Drain the raw bytes until the server closes.
  auto& s = c.socket();
  s.non_blocking(true);
  char buf[512];
  auto start = clock_type::now();
  bool closed = false;
  while (clock_type::now() - start < 5s) {
    pollfd p{s.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    boost::system::error_code ec;
    s.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block) continue;
    if (ec) {
      closed = true;
      break;
    }
  }
  ASSERT_TRUE(closed);
  auto after = clock_type::now() - start;
  EXPECT_GE(after, 500ms);
  EXPECT_LE(after, 2000ms);
}

TEST(TransportWsIdle, FramesArrivingTogetherAreAllRead) {
  daemon d;
  raw_ws c(d.port());
  // Two messages and an empty one in one segment: after the first, the rest sit in Beast's read
  // buffer, not in the socket, and must still be read without more bytes arriving.
  c.write_raw(client_frame(json{{"type", "ping"}, {"ref", 1}}.dump()) + client_frame("") +
              client_frame(json{{"type", "ping"}, {"ref", 2}}.dump()));
  std::vector<json> replies;
  for (int i = 0; i < 3; ++i) {
    auto r = c.read_json();
    ASSERT_TRUE(r) << "reply " << i;
    replies.push_back(*r);
  }
  EXPECT_EQ(replies[0].at("type"), "pong");
  EXPECT_EQ(replies[0].at("ref"), 1);
  EXPECT_EQ(replies[1].at("type"), "error");  // the empty message is not JSON
  EXPECT_EQ(replies[2].at("type"), "pong");
  EXPECT_EQ(replies[2].at("ref"), 2);
}

TEST(TransportWsIdle, CloseFromAnIdleClientIsAnswered) {
  daemon d;
  raw_ws c(d.port());
  c.run_for(200ms);
  // The client's close frame is read by the idle (zero-byte) read and answered by Beast.
  c.write_raw(std::string("\x88\x82\0\0\0\0\x03\xe8", 8));
  auto r = c.read_json(3s);
  EXPECT_FALSE(r);
  EXPECT_TRUE(c.closed());
}

TEST(TransportWsIdle, ClientPingIsAnsweredWithItsPayload) {
  daemon d;
  raw_ws c(d.port());
  // A masked ping (zero key) carrying "abcd", split over two writes.
  c.write_raw(std::string("\x89\x84\0\0", 4));
  std::this_thread::sleep_for(50ms);
  c.write_raw(std::string("\0\0abcd", 6));
  EXPECT_EQ(read_raw(c.socket(), 6), std::string("\x8a\x04" "abcd", 6));
}

TEST(TransportWsIdle, UnmaskedClientFrameClosesWith1002) {
  daemon d;
  raw_ws c(d.port());
  c.write_raw(std::string("\x81\x02hi", 4));
  auto got = read_raw(c.socket(), 4);
  ASSERT_GE(got.size(), 4u);
  EXPECT_EQ(static_cast<unsigned char>(got[0]), 0x88);
  EXPECT_EQ((static_cast<unsigned char>(got[2]) << 8) | static_cast<unsigned char>(got[3]), 1002);
}

}  // namespace rushcast::test
