// The WebSocket JSON protocol against a recording stand-in for the session.
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rushcast/api/core_ws.hpp"
#include "rushcast/api/ws_protocol.hpp"
#include "test_context.hpp"

using namespace rushcast;
using namespace rushcast::api;

namespace {

// Records, in one ordered log, every call the protocol makes on the session.
class recording_client : public ws_client {
public:
  explicit recording_client(std::string user = "", std::string ip = "10.0.0.1")
      : user_(std::move(user)), ip_(std::move(ip)) {}
  void send_text(std::string json_text) override {
    log.push_back("send");
    sent.push_back(nlohmann::json::parse(json_text));
  }
  void subscribe(const std::vector<std::string>& topics) override {
    log.push_back("subscribe");
    subscribed.push_back(topics);
    for (const auto& t : topics) held.insert(t);
  }
  void unsubscribe(const std::vector<std::string>& topics) override {
    log.push_back("unsubscribe");
    unsubscribed.push_back(topics);
    for (const auto& t : topics) held.erase(t);
  }
  std::size_t topic_count() const override { return held.size(); }
  bool has_topic(std::string_view t) const override { return held.count(std::string(t)) > 0; }
  void close(std::uint16_t code, std::string) override { closed = code; }
  const std::string& user_id() const override { return user_; }
  const std::string& remote_ip() const override { return ip_; }
  std::function<void(std::string)> async_sender() override {
    return [this](std::string s) { send_text(std::move(s)); };
  }

  nlohmann::json last() const { return sent.back(); }

  std::vector<std::string> log;
  std::vector<nlohmann::json> sent;
  std::vector<std::vector<std::string>> subscribed;
  std::vector<std::vector<std::string>> unsubscribed;
  std::uint16_t closed = 0;
  std::set<std::string> held;

private:
  std::string user_;
  std::string ip_;
};

class WsProtocol : public ::testing::Test {
protected:
  test::api_fixture f{[] {
    config::config c;
    c.rate_limit.per_user_per_s = 1;
    c.rate_limit.per_user_burst = 2;
    c.limits.max_topics_per_connection = 3;
    return c;
  }()};
  ws_protocol p{f.ctx};
  void SetUp() override { register_core_ws(p, f.ctx); }
};

}  // namespace

TEST_F(WsProtocol, MalformedJsonIsBadJsonAndConnectionStays) {
  recording_client c;
  for (std::string text : {"{", "", "[1,2]", "\"ping\"", "null"}) {
    p.on_message(c, text);
    EXPECT_EQ(c.last()["type"], "error") << text;
    EXPECT_EQ(c.last()["code"], "bad_json") << text;
  }
  EXPECT_EQ(c.closed, 0);
}

TEST_F(WsProtocol, UnknownTypeEchoesRef) {
  recording_client c;
  p.on_message(c, R"({"type":"dance","ref":7})");
  EXPECT_EQ(c.last()["code"], "unknown_type");
  EXPECT_EQ(c.last()["ref"], 7);
  p.on_message(c, R"({"ref":"r1"})");
  EXPECT_EQ(c.last()["code"], "bad_request");
  EXPECT_EQ(c.last()["ref"], "r1");
}

TEST_F(WsProtocol, PingAnswersPongWithServerTime) {
  recording_client c;
  auto before = now_ms();
  p.on_message(c, R"({"type":"ping","ref":"a"})");
  EXPECT_EQ(c.last()["type"], "pong");
  EXPECT_EQ(c.last()["ref"], "a");
  EXPECT_GE(c.last()["serverTime"].get<std::int64_t>(), before);
  p.on_message(c, R"({"type":"ping"})");
  EXPECT_FALSE(c.last().contains("ref"));
}

TEST_F(WsProtocol, SubscribeRepliesBeforeSubscribing) {
  recording_client c;
  p.on_message(c, R"({"type":"subscribe","topics":["sale:demo","chat:lobby","sale:demo"],"ref":1})");
  ASSERT_EQ(c.log, (std::vector<std::string>{"send", "subscribe"}));
  EXPECT_EQ(c.sent[0]["type"], "subscribed");
  EXPECT_EQ(c.sent[0]["ref"], 1);
  EXPECT_EQ(c.sent[0]["topics"], nlohmann::json({"sale:demo", "chat:lobby"}));
  EXPECT_EQ(c.subscribed[0], (std::vector<std::string>{"sale:demo", "chat:lobby"}));
}

TEST_F(WsProtocol, PrivateTopicOnlyForItsUser) {
  recording_client alice("alice");
  p.on_message(alice, R"({"type":"subscribe","topics":["user:alice"]})");
  EXPECT_EQ(alice.last()["type"], "subscribed");
  ASSERT_EQ(alice.subscribed.size(), 1u);

  recording_client bob("bob");
  p.on_message(bob, R"({"type":"subscribe","topics":["sale:demo","user:alice"],"ref":2})");
  EXPECT_EQ(bob.last()["type"], "error");
  EXPECT_EQ(bob.last()["code"], "forbidden");
  EXPECT_EQ(bob.last()["ref"], 2);
  EXPECT_TRUE(bob.subscribed.empty());

  recording_client anon;
  p.on_message(anon, R"({"type":"subscribe","topics":["user:alice"]})");
  EXPECT_EQ(anon.last()["code"], "forbidden");
  EXPECT_TRUE(anon.subscribed.empty());
}

TEST_F(WsProtocol, SubscribeRefusesBadTopicLists) {
  recording_client c;
  for (std::string msg : {R"({"type":"subscribe"})", R"({"type":"subscribe","topics":"sale:demo"})",
                          R"({"type":"subscribe","topics":[]})", R"({"type":"subscribe","topics":[1]})",
                          R"({"type":"subscribe","topics":["bad topic"]})"}) {
    p.on_message(c, msg);
    EXPECT_EQ(c.last()["code"], "bad_request") << msg;
  }
  nlohmann::json many{{"type", "subscribe"}, {"topics", nlohmann::json::array()}};
  for (int i = 0; i < 65; ++i) many["topics"].push_back("t" + std::to_string(i));
  p.on_message(c, many.dump());
  EXPECT_EQ(c.last()["code"], "bad_request");
  EXPECT_TRUE(c.subscribed.empty());
}

TEST_F(WsProtocol, SubscribeBeyondTheTopicLimitSubscribesWhatFitsAndRefusesTheRest) {
  recording_client c;
  p.on_message(c, R"({"type":"subscribe","topics":["a","b"]})");
  ASSERT_EQ(c.held.size(), 2u);
  c.log.clear();
  // "a" is held already and costs nothing; "c" fits; "d" and "e" do not (limit 3).
  p.on_message(c, R"({"type":"subscribe","topics":["a","c","d","e"],"ref":9})");
  ASSERT_EQ(c.log, (std::vector<std::string>{"send", "send", "subscribe"}));
  auto err = c.sent[c.sent.size() - 2];
  EXPECT_EQ(err["type"], "error");
  EXPECT_EQ(err["code"], "too_many_topics");
  EXPECT_EQ(err["ref"], 9);
  EXPECT_EQ(err["limit"], 3);
  EXPECT_EQ(err["topics"], nlohmann::json({"d", "e"}));
  EXPECT_EQ(c.last()["type"], "subscribed");
  EXPECT_EQ(c.last()["topics"], nlohmann::json({"a", "c"}));
  EXPECT_EQ(c.subscribed.back(), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(c.held.size(), 3u);

  // Full: nothing is subscribed, only the error is sent; after an unsubscribe one fits again.
  c.log.clear();
  p.on_message(c, R"({"type":"subscribe","topics":["f"]})");
  EXPECT_EQ(c.log, std::vector<std::string>{"send"});
  EXPECT_EQ(c.last()["code"], "too_many_topics");
  p.on_message(c, R"({"type":"unsubscribe","topics":["b"]})");
  p.on_message(c, R"({"type":"subscribe","topics":["f"]})");
  EXPECT_EQ(c.last()["type"], "subscribed");
  EXPECT_EQ(c.held, (std::set<std::string>{"a", "c", "f"}));
}

TEST_F(WsProtocol, Unsubscribe) {
  recording_client c;
  p.on_message(c, R"({"type":"unsubscribe","topics":["sale:demo"],"ref":3})");
  ASSERT_EQ(c.unsubscribed.size(), 1u);
  EXPECT_EQ(c.unsubscribed[0], std::vector<std::string>{"sale:demo"});
  EXPECT_EQ(c.last()["type"], "unsubscribed");
  EXPECT_EQ(c.last()["ref"], 3);
}

TEST_F(WsProtocol, PublishOnChatReachesTheHub) {
  recording_client c("alice");
  auto mark = f.marker("chat:lobby");
  p.on_message(c, R"({"type":"publish","topic":"chat:lobby","data":{"text":"hi"},"ref":"m1"})");
  ASSERT_EQ(c.last()["type"], "published") << c.last();
  EXPECT_EQ(c.last()["ref"], "m1");
  auto frames = f.since("chat:lobby", mark);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0]->id, c.last()["id"]);
  EXPECT_EQ(frames[0]->name, "message");
  EXPECT_EQ(nlohmann::json::parse(frames[0]->ws_payload())["text"], "hi");
}

TEST_F(WsProtocol, PublishOutsideChatIsForbidden) {
  recording_client c("alice");
  p.on_message(c, R"({"type":"publish","topic":"sale:demo","data":{"stock":0}})");
  EXPECT_EQ(c.last()["code"], "forbidden");
  p.on_message(c, R"({"type":"publish","topic":"user:bob","data":{}})");
  EXPECT_EQ(c.last()["code"], "forbidden");
  EXPECT_EQ(f.hub.last_seq(), 0u);
}

TEST_F(WsProtocol, PublishNeedsValidFields) {
  recording_client c("alice");
  for (std::string msg : {R"({"type":"publish","topic":"chat:a"})",
                          R"({"type":"publish","topic":"chat:a","data":"hi"})",
                          R"({"type":"publish","data":{}})",
                          R"({"type":"publish","topic":"chat:a","event":"x y","data":{}})",
                          R"({"type":"publish","topic":"chat a","data":{}})"}) {
    p.on_message(c, msg);
    EXPECT_EQ(c.last()["code"], "bad_request") << msg;
  }
  EXPECT_EQ(f.hub.last_seq(), 0u);
}

TEST_F(WsProtocol, PublishIsRateLimitedPerUser) {
  recording_client c("alice");
  std::string msg = R"({"type":"publish","topic":"chat:a","data":{}})";
  p.on_message(c, msg);
  p.on_message(c, msg);
  EXPECT_EQ(c.last()["type"], "published");
  p.on_message(c, msg);  // burst of 2 spent, 1 per second refill
  EXPECT_EQ(c.last()["code"], "rate_limited");
  EXPECT_GT(c.last()["retryAfterMs"].get<int>(), 0);
  EXPECT_EQ(f.metrics.rate_limited.load(), 1u);
  // Another user has their own bucket.
  recording_client bob("bob");
  p.on_message(bob, msg);
  EXPECT_EQ(bob.last()["type"], "published");
}

TEST_F(WsProtocol, ErrorHelperShape) {
  auto j = nlohmann::json::parse(ws_error("forbidden", "no", 5));
  EXPECT_EQ(j, (nlohmann::json{{"type", "error"}, {"code", "forbidden"}, {"message", "no"}, {"ref", 5}}));
}

TEST_F(WsProtocol, HandlerTypeErrorsBecomeBadRequest) {
  recording_client c;
  p.add("strict", [](ws_client&, const nlohmann::json& m, const nlohmann::json&) {
    (void)m.at("n").get<int>();  // throws when the client sends a string
  });
  p.on_message(c, R"({"type":"strict","n":"x"})");
  EXPECT_EQ(c.last()["code"], "bad_request");
}

TEST_F(WsProtocol, TooDeepMessageIsBadJsonAndConnectionStays) {
  recording_client c;
  // 100,000 levels in "ref": refused before anything recursive (parse, copy, echo) runs.
  p.on_message(c, R"({"type":"ping","ref":)" + std::string(100000, '[') +
                      std::string(100000, ']') + "}");
  ASSERT_EQ(c.sent.size(), 1u);
  EXPECT_EQ(c.last()["type"], "error");
  EXPECT_EQ(c.last()["code"], "bad_json");
  EXPECT_EQ(c.closed, 0);
  // At the limit (64 levels with the message object) the ref is echoed.
  std::string ref = std::string(63, '[') + std::string(63, ']');
  p.on_message(c, R"({"type":"ping","ref":)" + ref + "}");
  EXPECT_EQ(c.last()["type"], "pong");
  EXPECT_EQ(c.last()["ref"].dump(), ref);
}
