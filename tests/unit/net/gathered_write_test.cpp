// gathered_write over a local socket pair (no network): whole writes, short writes that leave
// the rest for an async write, errors, and what is counted as delivered.
#include "rushcast/net/gathered_write.hpp"

#include <string>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/error.hpp>
#include <gtest/gtest.h>

#include "rushcast/obs/metrics.hpp"

using rushcast::net::gathered_write;
using rushcast::net::wire;
using rushcast::net::write_queue;
namespace hub = rushcast::hub;

namespace {

struct socket_pair {
  socket_pair() {
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
  }
  ~socket_pair() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  std::string read_all() {
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd[1], buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  int fd[2] = {-1, -1};
};

hub::frame_ptr event(std::uint64_t seq, std::size_t data_bytes = 10) {
  return hub::make_frame("E-" + std::to_string(seq), seq, "t", "m",
                         "{\"d\":\"" + std::string(data_bytes, 'x') + "\"}", false);
}

// Queues events 1..n with data_bytes of data each; returns their SSE bytes, in order.
std::string queue_events(write_queue& q, std::uint64_t n, std::size_t data_bytes = 10) {
  std::string all;
  for (std::uint64_t s = 1; s <= n; ++s) {
    auto f = event(s, data_bytes);
    all += f->sse;
    q.push(f, f->sse.size());
  }
  return all;
}

// A 4 KiB send buffer: a batch of ~60 KB cannot go in one call.
void shrink_send_buffer(int fd) {
  int small = 4096;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
}

hub::frame_ptr text(std::string sse) {
  auto f = std::make_shared<hub::frame>();
  f->sse = std::move(sse);
  return f;
}

}  // namespace

TEST(GatheredWrite, WritesTheQueuedFramesInOrderInOneCall) {
  socket_pair p;
  rushcast::obs::metrics m;
  write_queue q(1 << 20);
  q.push(text("HEAD\n\n"), 0);
  for (std::uint64_t s = 1; s <= 3; ++s) q.push(event(s), event(s)->sse.size());
  gathered_write w;
  w.take(q, wire::sse);
  EXPECT_TRUE(q.empty());
  boost::system::error_code ec;
  ASSERT_TRUE(w.send(p.fd[0], ec)) << ec.message();
  w.done(m);
  EXPECT_EQ(p.read_all(), "HEAD\n\n" + event(1)->sse + event(2)->sse + event(3)->sse);
  EXPECT_EQ(m.events_delivered.load(), 3u);  // the head is not an event
}

TEST(GatheredWrite, WebSocketCountsTextFramesOnly) {
  socket_pair p;
  rushcast::obs::metrics m;
  write_queue q(1 << 20);
  auto ping = std::make_shared<hub::frame>();
  ping->ws_frame = std::string("\x89\x00", 2);
  q.push(ping, 0);
  q.push(event(1), event(1)->ws_frame.size());
  gathered_write w;
  w.take(q, wire::websocket);
  boost::system::error_code ec;
  ASSERT_TRUE(w.send(p.fd[0], ec));
  w.done(m);
  EXPECT_EQ(p.read_all(), std::string("\x89\x00", 2) + event(1)->ws_frame);
  EXPECT_EQ(m.events_delivered.load(), 1u);
}

TEST(GatheredWrite, AShortWriteLeavesExactlyTheRest) {
  socket_pair p;
  shrink_send_buffer(p.fd[0]);
  rushcast::obs::metrics m;
  write_queue q(1 << 24);
  const std::string expected = queue_events(q, 60, 1000);
  gathered_write w;
  w.take(q, wire::sse);
  boost::system::error_code ec;
  ASSERT_FALSE(w.send(p.fd[0], ec));
  EXPECT_EQ(ec, boost::asio::error::would_block);
  std::string got = p.read_all();
  ASSERT_LT(got.size(), expected.size());
  // What is left is exactly the unsent suffix, starting mid-frame if need be.
  std::string rest;
  for (const auto& b : w.rest()) rest.append(static_cast<const char*>(b.data()), b.size());
  EXPECT_EQ(got + rest, expected.substr(0, got.size() + rest.size()));
  // Once the reader has made room, sending again finishes the batch.
  while (!w.send(p.fd[0], ec)) {
    ASSERT_EQ(ec, boost::asio::error::would_block);
    got += p.read_all();
  }
  got += p.read_all();
  w.done(m);
  ASSERT_TRUE(q.empty());  // 60 frames of ~1 KB: one batch (64 frames / 64 KiB)
  EXPECT_EQ(got, expected);
  EXPECT_EQ(m.events_delivered.load(), 60u);
}

TEST(GatheredWrite, AClosedPeerIsAnErrorNotWouldBlock) {
  socket_pair p;
  ::close(p.fd[1]);
  p.fd[1] = -1;
  write_queue q(1 << 20);
  q.push(event(1), event(1)->sse.size());
  gathered_write w;
  w.take(q, wire::sse);
  boost::system::error_code ec;
  EXPECT_FALSE(w.send(p.fd[0], ec));  // EPIPE, and no SIGPIPE kills the test
  EXPECT_TRUE(ec);
  EXPECT_NE(ec, boost::asio::error::would_block);
  w.reset();
}

TEST(WriteQueued, DrainsSeveralBatchesInOneCall) {
  socket_pair p;
  rushcast::obs::metrics m;
  write_queue q(1 << 20);
  const std::string expected = queue_events(q, 200);  // more than three 64-frame batches
  std::unique_ptr<gathered_write> rest;
  boost::system::error_code ec;
  EXPECT_EQ(rushcast::net::write_queued(p.fd[0], q, wire::sse, m, rest, ec),
            rushcast::net::write_outcome::drained);
  EXPECT_FALSE(rest);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(p.read_all(), expected);
  EXPECT_EQ(m.events_delivered.load(), 200u);
}

TEST(WriteQueued, AFullSocketLeavesTheRestAndTheQueueInOrder) {
  socket_pair p;
  shrink_send_buffer(p.fd[0]);
  rushcast::obs::metrics m;
  write_queue q(1 << 24);
  const std::string expected = queue_events(q, 200, 1000);
  std::unique_ptr<gathered_write> rest;
  boost::system::error_code ec;
  ASSERT_EQ(rushcast::net::write_queued(p.fd[0], q, wire::sse, m, rest, ec),
            rushcast::net::write_outcome::pending);
  ASSERT_TRUE(rest);
  EXPECT_FALSE(ec);
  EXPECT_FALSE(q.empty());  // later batches wait in the queue
  // What the socket took, then the rest, then the queue: the stream in order, nothing twice.
  std::string got = p.read_all();
  for (const auto& b : rest->rest()) got.append(static_cast<const char*>(b.data()), b.size());
  rest->done(m);
  rest.reset();
  while (!q.empty()) {
    auto outcome = rushcast::net::write_queued(p.fd[0], q, wire::sse, m, rest, ec);
    got += p.read_all();
    if (outcome == rushcast::net::write_outcome::pending) {
      for (const auto& b : rest->rest()) got.append(static_cast<const char*>(b.data()), b.size());
      rest->done(m);
      rest.reset();
    }
  }
  got += p.read_all();
  EXPECT_EQ(got, expected);
  EXPECT_EQ(m.events_delivered.load(), 200u);
}

TEST(WriteQueued, AClosedPeerFails) {
  socket_pair p;
  ::close(p.fd[1]);
  p.fd[1] = -1;
  rushcast::obs::metrics m;
  write_queue q(1 << 20);
  q.push(event(1), event(1)->sse.size());
  std::unique_ptr<gathered_write> rest;
  boost::system::error_code ec;
  EXPECT_EQ(rushcast::net::write_queued(p.fd[0], q, wire::sse, m, rest, ec),
            rushcast::net::write_outcome::failed);
  EXPECT_TRUE(ec);
  EXPECT_FALSE(rest);
  EXPECT_EQ(m.events_delivered.load(), 0u);
}
