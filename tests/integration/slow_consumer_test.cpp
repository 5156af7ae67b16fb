// A subscriber that reads nothing (CONTRACT.md section 3, docs/CONFIG.md max_queue_bytes):
// at the send-queue cap its connection is gone within limits.handshake_timeout_ms, for SSE,
// WebSocket and long-poll alike, even though it never reads another byte.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace rushcast::test {
namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

constexpr std::uint32_t handshake_timeout_ms = 1000;
constexpr std::uint32_t max_queue_bytes = 64 * 1024;
// Time for the server to notice and for the test's own polling, on a busy machine.
constexpr auto margin = 3000ms;

json slow_consumer_config() {
  return json{{"limits",
               {{"max_queue_bytes", max_queue_bytes},
                {"handshake_timeout_ms", handshake_timeout_ms},
                {"max_body_bytes", 1 << 20}}},
              {"history", {{"max_events_per_topic", 100000}}},
              {"rate_limit", {{"per_ip_per_s", 1000000}, {"per_ip_burst", 1000000}}}};
}

// -1 when /metrics does not have the line.
long metric(std::uint16_t port, const std::string& line_prefix) {
  auto body = http(port, "GET", "/metrics").body;
  auto pos = body.find("\n" + line_prefix + " ");
  if (pos == std::string::npos) return -1;
  return std::stol(body.substr(pos + line_prefix.size() + 2));
}

long connections(std::uint16_t port, const std::string& transport) {
  return metric(port, "rushcast_connections{transport=\"" + transport + "\"}");
}

bool eventually(std::chrono::milliseconds timeout, const std::function<bool()>& pred) {
  return wait_until(timeout, pred);
}

// A client socket with a tiny receive buffer (set before connect, so the window stays small)
// that sends request and then reads nothing.
class non_reader {
public:
  non_reader(std::uint16_t port, const std::string& request) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int rcvbuf = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed");
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size()))
      throw std::runtime_error("send failed");
  }
  ~non_reader() { ::close(fd_); }

  // Reads the response head only (for the WebSocket upgrade), then goes back to not reading.
  std::string read_head() {
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0 || ::recv(fd_, &c, 1, 0) != 1) break;
      head.push_back(c);
    }
    return head;
  }

  // Reads (and drops) what the server sent until it ended the connection: EOF or a reset.
  bool reaches_end(std::chrono::milliseconds timeout) {
    char buf[65536];
    auto deadline = steady::now() + timeout;
    while (steady::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
    return false;
  }

private:
  int fd_ = -1;
};

// Publishes 16 KiB events to topic until the server counts a slow-consumer drop; the number
// of events it took, or 0 when no drop came.
int flood_until_drop(std::uint16_t port, const std::string& topic) {
  const std::string pad(16 * 1024, 'x');
  for (int i = 1; i <= 2000; ++i) {
    publish(port, topic, "message", json{{"i", i}, {"pad", pad}});
    if (i % 8 == 0 && metric(port, "rushcast_slow_consumer_drops_total") > 0) return i;
  }
  return 0;
}

}  // namespace

TEST(SlowConsumer, SseStreamThatIsNotReadIsClosedWithinHandshakeTimeout) {
  daemon d(slow_consumer_config());
  non_reader c(d.port(), "GET /sse-updates?topics=flood HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually(5s, [&] { return connections(d.port(), "sse") == 1; }));
  ASSERT_GT(flood_until_drop(d.port(), "flood"), 0);
  auto dropped_at = steady::now();
  EXPECT_TRUE(eventually(std::chrono::milliseconds(handshake_timeout_ms) + margin,
                         [&] { return connections(d.port(), "sse") == 0; }))
      << "the stream still holds its connection "
      << std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - dropped_at).count()
      << " ms after the drop";
  EXPECT_TRUE(c.reaches_end(5s));
}

TEST(SlowConsumer, WebSocketThatIsNotReadIsClosedWithinHandshakeTimeout) {
  daemon d(slow_consumer_config());
  non_reader c(d.port(),
               "GET /ws?topics=flood HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  ASSERT_NE(c.read_head().find(" 101 "), std::string::npos);
  ASSERT_TRUE(eventually(5s, [&] { return connections(d.port(), "websocket") == 1; }));
  ASSERT_GT(flood_until_drop(d.port(), "flood"), 0);
  auto dropped_at = steady::now();
  // Its close 4008 cannot be written to a peer that reads nothing: the close handshake is cut.
  EXPECT_TRUE(eventually(std::chrono::milliseconds(handshake_timeout_ms) + margin,
                         [&] { return connections(d.port(), "websocket") == 0; }))
      << "the WebSocket still holds its connection "
      << std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - dropped_at).count()
      << " ms after the drop";
  EXPECT_TRUE(c.reaches_end(5s));
}

TEST(SlowConsumer, LongPollAnswerThatIsNotReadIsClosedWithinHandshakeTimeout) {
  // An answer of about 1 MiB: far more than the socket buffers take while the client reads
  // nothing.
  auto cfg = slow_consumer_config();
  cfg["limits"]["max_queue_bytes"] = 1 << 20;
  daemon d(cfg);
  auto since = publish(d.port(), "lp", "message", json{{"first", true}});
  const std::string pad(16 * 1024, 'x');
  for (int i = 0; i < 64; ++i) publish(d.port(), "lp", "message", json{{"i", i}, {"pad", pad}});
  ASSERT_TRUE(eventually(5s, [&] { return connections(d.port(), "http") <= 1; }));
  non_reader c(d.port(), "GET /long-poll?topics=lp&since=" + since +
                             " HTTP/1.1\r\nHost: x\r\n\r\n");
  // The answer is being written (the request is no longer waiting, the connection is open).
  ASSERT_TRUE(eventually(5s, [&] { return connections(d.port(), "http") == 2; }));
  auto answered_at = steady::now();
  EXPECT_TRUE(eventually(std::chrono::milliseconds(handshake_timeout_ms) + margin,
                         [&] { return connections(d.port(), "http") <= 1; }))
      << "the long-poll answer still holds its connection "
      << std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - answered_at).count()
      << " ms later";
  EXPECT_TRUE(c.reaches_end(5s));
}

// One answer holds at most max_queue_bytes of events; the rest comes with the next polls,
// from lastEventId, in order and without a gap.
TEST(SlowConsumer, LongPollAnswerIsCappedAndTheRestFollows) {
  daemon d(slow_consumer_config());
  auto since = publish(d.port(), "lp", "message", json{{"first", true}});
  const std::string pad(16 * 1024, 'x');
  constexpr int total = 12;
  for (int i = 0; i < total; ++i)
    publish(d.port(), "lp", "message", json{{"i", i}, {"pad", pad}});
  int next = 0;
  for (int poll = 0; poll < total && next < total; ++poll) {
    auto r = http(d.port(), "GET", "/long-poll?topics=lp&timeout=0&since=" + since);
    ASSERT_EQ(r.status, 200u);
    EXPECT_LE(r.body.size(), max_queue_bytes + 2 * pad.size()) << "poll " << poll;
    auto j = r.json();
    ASSERT_FALSE(j.at("events").empty()) << "poll " << poll;
    EXPECT_LT(j.at("events").size(), static_cast<std::size_t>(total)) << "not capped";
    for (auto& e : j.at("events")) EXPECT_EQ(e.at("data").at("i").get<int>(), next++);
    since = j.at("lastEventId").get<std::string>();
  }
  EXPECT_EQ(next, total);
}

}  // namespace rushcast::test
