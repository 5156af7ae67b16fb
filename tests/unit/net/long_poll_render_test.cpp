// long_poll::render: the JSON answer of GET /long-poll, built from the hub's frames.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rushcast/hub/frame.hpp"
#include "rushcast/net/long_poll.hpp"

using rushcast::hub::make_frame;
using rushcast::net::long_poll;

TEST(LongPollRender, EventsCarryIdTopicNameAndTheOriginalData) {
  auto a = make_frame("ep-1", 1, "sale:x", "stock", R"({"saleId":"x","stock":3})", true);
  auto b = make_frame("ep-2", 2, "chat:r", "message", R"({"text":"a\nb","n":[1,2]})", false);
  auto j = nlohmann::json::parse(long_poll::render({a, b}, "ep-2", ""));
  ASSERT_EQ(j.at("events").size(), 2u);
  EXPECT_EQ(j["events"][0].at("id"), "ep-1");
  EXPECT_EQ(j["events"][0].at("topic"), "sale:x");
  EXPECT_EQ(j["events"][0].at("event"), "stock");
  EXPECT_EQ(j["events"][0].at("data").at("stock"), 3);
  EXPECT_EQ(j["events"][1].at("data").at("text"), "a\nb");
  EXPECT_EQ(j["events"][1].at("data").at("n"), nlohmann::json({1, 2}));
  EXPECT_EQ(j.at("lastEventId"), "ep-2");
  EXPECT_FALSE(j.contains("resync"));
}

TEST(LongPollRender, EmptyAnswerWithResync) {
  auto j = nlohmann::json::parse(long_poll::render({}, "ep-9", "epoch"));
  EXPECT_TRUE(j.at("events").empty());
  EXPECT_EQ(j.at("resync"), "epoch");
  EXPECT_EQ(j.at("lastEventId"), "ep-9");
}

TEST(LongPollRender, SplicesTheDataAsPublishedInSortedKeyOrder) {
  auto a = make_frame("ep-1", 1, "sale:x", "stock", R"({"saleId":"x","stock":3})", true);
  EXPECT_EQ(long_poll::render({a}, "ep-1", ""),
            R"({"events":[{"data":{"saleId":"x","stock":3},"event":"stock","id":"ep-1",)"
            R"("topic":"sale:x"}],"lastEventId":"ep-1"})");
}

TEST(LongPollRender, DataWithRawLineBreaksBecomesAnEmptyObject) {
  auto a = make_frame("ep-1", 1, "t", "m", "{\n\"a\": 1}", false);
  auto j = nlohmann::json::parse(long_poll::render({a}, "ep-1", ""));
  EXPECT_EQ(j["events"][0].at("data"), nlohmann::json::object());
}
