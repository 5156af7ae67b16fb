// SSE transport (CONTRACT.md section 2): headers, retry, snapshot, live events, heartbeat,
// Last-Event-ID replay without duplicates, resync after a restart, slow-consumer cut-off.
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace rushcast::test {
namespace {
using nlohmann::json;
}  // namespace

TEST(TransportSse, HeadersRetryAndLiveEvent) {
  daemon d(json{{"sse", {{"retry_ms", 1234}}}});
  sse_client c(d.port(), "/sse-updates?topics=news");
  ASSERT_EQ(c.status(), 200u);
  EXPECT_EQ(c.headers().at("content-type"), "text/event-stream");
  EXPECT_EQ(c.headers().at("cache-control"), "no-cache");
  EXPECT_EQ(c.headers().at("x-accel-buffering"), "no");
  auto id = publish(d.port(), "news", "headline", json{{"text", "hello"}});
  auto ev = c.next_named("headline", 5s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->id, id);
  EXPECT_EQ(ev->json().at("text"), "hello");
  ASSERT_TRUE(c.retry_ms());
  EXPECT_EQ(*c.retry_ms(), 1234u);
}

TEST(TransportSse, EventsOfOtherTopicsAreNotDelivered) {
  daemon d;
  sse_client c(d.port(), "/sse-updates?topics=a");
  publish(d.port(), "b", "message", json{{"n", 1}});
  publish(d.port(), "a", "message", json{{"n", 2}});
  auto ev = c.next_named("message", 5s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->json().at("n"), 2);
}

TEST(TransportSse, SnapshotOfChatRoomComesBeforeLiveEvents) {
  daemon d;
  sse_client c(d.port(), "/sse-updates?topics=chat:lobby");
  auto snap = c.next(5s);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->event, "room_state");
  EXPECT_TRUE(snap->id.empty());
  EXPECT_TRUE(snap->json().at("users").is_array());
}

TEST(TransportSse, HeartbeatCommentWhenIdle) {
  daemon d(json{{"heartbeat_ms", 100}});
  sse_client c(d.port(), "/sse-updates?topics=quiet");
  EXPECT_FALSE(c.next(600ms));  // no event, but pings
  EXPECT_GE(c.comments_seen(), 2u);
  EXPECT_FALSE(c.eof());
}

TEST(TransportSse, UserIdAddsPrivateTopic) {
  daemon d;
  sse_client c(d.port(), "/sse-updates?topics=x&userId=u42");
  publish(d.port(), "user:u41", "result", json{{"who", "other"}});
  publish(d.port(), "user:u42", "result", json{{"who", "me"}});
  auto ev = c.next_named("result", 5s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->json().at("who"), "me");
}

TEST(TransportSse, BadTopicIs400) {
  daemon d;
  auto r = http(d.port(), "GET", "/sse-updates?topics=bad%20topic");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json().at("error"), "bad_request");
}

TEST(TransportSse, LastEventIdReplaysExactlyWhatWasMissed) {
  daemon d;
  std::vector<std::string> ids;
  std::string seen_id;
  {
    sse_client c(d.port(), "/sse-updates?topics=feed");
    for (int i = 0; i < 3; ++i) ids.push_back(publish(d.port(), "feed", "message", json{{"n", i}}));
    for (int i = 0; i < 3; ++i) {
      auto ev = c.next_named("message", 5s);
      ASSERT_TRUE(ev);
      EXPECT_EQ(ev->json().at("n"), i);
    }
    seen_id = ids[0];  // pretend the client saw only the first one before the drop
  }
  for (int i = 3; i < 5; ++i) ids.push_back(publish(d.port(), "feed", "message", json{{"n", i}}));
  sse_client c(d.port(), "/sse-updates?topics=feed", {{"Last-Event-ID", seen_id}});
  for (int i = 1; i < 5; ++i) {
    auto ev = c.next_named("message", 5s);
    ASSERT_TRUE(ev) << i;
    EXPECT_EQ(ev->id, ids[i]);
    EXPECT_EQ(ev->json().at("n"), i);
  }
  publish(d.port(), "feed", "message", json{{"n", 5}});
  auto ev = c.next_named("message", 5s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->json().at("n"), 5);  // live after replay, no duplicate in between
}

TEST(TransportSse, LastEventIdQueryParameterWorksToo) {
  daemon d;
  auto first = publish(d.port(), "feed", "message", json{{"n", 0}});
  publish(d.port(), "feed", "message", json{{"n", 1}});
  sse_client c(d.port(), "/sse-updates?topics=feed&lastEventId=" + first);
  auto ev = c.next_named("message", 5s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->json().at("n"), 1);
}

TEST(TransportSse, ResyncAfterRestart) {
  daemon d;
  auto id = publish(d.port(), "feed", "message", json{{"n", 0}});
  EXPECT_EQ(d.terminate(), 0);
  d.restart();
  sse_client c(d.port(), "/sse-updates?topics=feed", {{"Last-Event-ID", id}});
  auto ev = c.next(5s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->event, "resync");
  EXPECT_TRUE(ev->json().contains("reason"));
}

TEST(TransportSse, SlowConsumerIsCutOffWhileOthersReceiveEverything) {
  daemon d(json{{"limits", {{"max_queue_bytes", 64 * 1024}}},
                {"rate_limit", {{"per_ip_per_s", 1000000}, {"per_ip_burst", 1000000}}}});
  // A client that never reads: the kernel buffers fill (a few MB), then its queue hits the cap.
  sse_client stuck(d.port(), "/sse-updates?topics=flood");
  sse_client good(d.port(), "/sse-updates?topics=flood");
  std::string pad(3000, 'x');
  const int n = 3000;  // ~9 MB: more than the socket buffers can hide
  http_conn pub(d.port());
  for (int i = 0; i < n; ++i) {
    auto r = pub.request("POST", "/api/publish",
                         json{{"topic", "flood"}, {"event", "message"},
                              {"data", {{"n", i}, {"pad", pad}}}}.dump(),
                         {{"Authorization", std::string("Bearer ") + test_publish_key},
                          {"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200u) << r.body;
    auto ev = good.next_named("message", 5s);
    ASSERT_TRUE(ev) << "good client stopped at " << i;
    ASSERT_EQ(ev->json().at("n"), i);
  }
  EXPECT_TRUE(stuck.wait_eof(10s));
  auto m = http(d.port(), "GET", "/metrics");
  std::string key = "\nrushcast_slow_consumer_drops_total ";
  auto pos = m.body.find(key);
  ASSERT_NE(pos, std::string::npos) << m.body;
  EXPECT_GE(std::stoll(m.body.substr(pos + key.size())), 1);
}

}  // namespace rushcast::test
