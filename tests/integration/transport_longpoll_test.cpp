// Long-poll transport: immediate answer from history, wait for the next event, timeout.
#include <chrono>
#include <future>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <string>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace rushcast::test {
namespace {
using nlohmann::json;
}  // namespace

TEST(TransportLongPoll, AnswersAtOnceWhenHistoryHasEvents) {
  daemon d;
  auto first = publish(d.port(), "lp", "message", json{{"n", 0}});
  auto second = publish(d.port(), "lp", "message", json{{"n", 1}});
  auto third = publish(d.port(), "lp", "message", json{{"n", 2}});
  auto t0 = std::chrono::steady_clock::now();
  auto r = http(d.port(), "GET", "/long-poll?topics=lp&timeout=5000&since=" + first);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  ASSERT_EQ(j.at("events").size(), 2u);
  EXPECT_EQ(j["events"][0].at("id"), second);
  EXPECT_EQ(j["events"][0].at("topic"), "lp");
  EXPECT_EQ(j["events"][0].at("event"), "message");
  EXPECT_EQ(j["events"][0].at("data").at("n"), 1);
  EXPECT_EQ(j["events"][1].at("data").at("n"), 2);
  EXPECT_EQ(j.at("lastEventId"), third);
}

TEST(TransportLongPoll, WaitsForTheNextEvent) {
  daemon d;
  auto since = publish(d.port(), "lp", "message", json{{"n", 0}});
  auto fut = std::async(std::launch::async, [&] {
    return http(d.port(), "GET", "/long-poll?topics=lp&timeout=10000&since=" + since);
  });
  EXPECT_EQ(fut.wait_for(300ms), std::future_status::timeout);
  auto id = publish(d.port(), "lp", "message", json{{"n", 1}});
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  auto r = fut.get();
  ASSERT_EQ(r.status, 200u);
  auto j = r.json();
  ASSERT_EQ(j.at("events").size(), 1u);
  EXPECT_EQ(j["events"][0].at("data").at("n"), 1);
  EXPECT_EQ(j.at("lastEventId"), id);
}

TEST(TransportLongPoll, WithoutSinceWaitsForTheNextEvent) {
  daemon d;
  publish(d.port(), "lp", "message", json{{"n", 0}});  // history: not returned without since
  auto fut = std::async(std::launch::async, [&] {
    return http(d.port(), "GET", "/long-poll?topics=lp&timeout=10000");
  });
  EXPECT_EQ(fut.wait_for(300ms), std::future_status::timeout);
  publish(d.port(), "lp", "message", json{{"n", 1}});
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  auto j = fut.get().json();
  ASSERT_EQ(j.at("events").size(), 1u);
  EXPECT_EQ(j["events"][0].at("data").at("n"), 1);
}

TEST(TransportLongPoll, TimesOutWithEmptyList) {
  daemon d;
  auto since = publish(d.port(), "lp", "message", json{{"n", 0}});
  auto t0 = std::chrono::steady_clock::now();
  auto r = http(d.port(), "GET", "/long-poll?topics=lp&timeout=400&since=" + since);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 350ms);
  EXPECT_LT(took, 3s);
  ASSERT_EQ(r.status, 200u);
  auto j = r.json();
  EXPECT_TRUE(j.at("events").empty());
  EXPECT_EQ(j.at("lastEventId"), since);
}

TEST(TransportLongPoll, TimeoutIsClampedToTheConfiguredMaximum) {
  daemon d(json{{"limits", {{"max_long_poll_ms", 300}}}});
  auto t0 = std::chrono::steady_clock::now();
  auto r = http(d.port(), "GET", "/long-poll?topics=lp&timeout=60000");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(r.status, 200u);
}

TEST(TransportLongPoll, UnknownEpochAnswersResync) {
  daemon d;
  publish(d.port(), "lp", "message", json{{"n", 0}});
  auto r = http(d.port(), "GET", "/long-poll?topics=lp&timeout=5000&since=oldepoch-3");
  ASSERT_EQ(r.status, 200u);
  auto j = r.json();
  EXPECT_TRUE(j.at("events").empty());
  EXPECT_TRUE(j.contains("resync"));
  EXPECT_FALSE(j.at("lastEventId").get<std::string>().empty());
}

TEST(TransportLongPoll, BadTimeoutIs400) {
  daemon d;
  auto r = http(d.port(), "GET", "/long-poll?topics=lp&timeout=soon");
  EXPECT_EQ(r.status, 400u);
}

}  // namespace rushcast::test

namespace rushcast::test {
namespace {

long waiting_long_polls(std::uint16_t port) {
  auto body = http(port, "GET", "/metrics").body;
  const std::string key = "rushcast_connections{transport=\"long_poll\"} ";
  auto pos = body.find(key);
  return pos == std::string::npos ? -1 : std::stol(body.substr(pos + key.size()));
}

}  // namespace

TEST(TransportLongPoll, ClientThatLeavesIsReleasedBeforeItsTimeout) {
  daemon d;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(d.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string req = "GET /long-poll?topics=lp&timeout=20000 HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  wait_until(5s, [&] { return waiting_long_polls(d.port()) == 1; });
  ASSERT_EQ(waiting_long_polls(d.port()), 1);
  ::close(fd);
  wait_until(5s, [&] { return waiting_long_polls(d.port()) == 0; });
  EXPECT_EQ(waiting_long_polls(d.port()), 0);
  // The daemon still serves long-polls afterwards.
  auto r = http(d.port(), "GET", "/long-poll?topics=lp&timeout=100");
  EXPECT_EQ(r.status, 200u);
}

}  // namespace rushcast::test
