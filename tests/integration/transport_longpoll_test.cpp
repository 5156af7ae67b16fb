// Long-poll transport: immediate answer from history, wait for the next event, timeout.
#include <chrono>
#include <future>
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
