// WebSocket transport (CONTRACT.md section 4): subscribe/publish/unsubscribe, presence,
// connect-time topics, close codes 1009 and 4001, and the 1001 close on SIGTERM.
#include <csignal>
#include <string>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "rushcast/auth/authenticator.hpp"

namespace rushcast::test {
namespace {
using nlohmann::json;
}  // namespace

TEST(TransportWs, ConnectTopicsDeliverPublishedEvents) {
  daemon d;
  ws_client c(d.port(), "/ws?topics=news");
  // Round trip first so the subscription is surely in place before publishing.
  c.send_json({{"type", "ping"}, {"ref", 1}});
  ASSERT_TRUE(c.recv_type("pong", 5s));
  auto id = publish(d.port(), "news", "headline", json{{"text", "hi"}});
  auto m = c.recv_type("headline", 5s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("topic"), "news");
  EXPECT_EQ(m->at("id"), id);
  EXPECT_EQ(m->at("text"), "hi");
}

TEST(TransportWs, RootPathUpgradesToo) {
  daemon d;
  ws_client c(d.port(), "/?topics=news");
  c.send_json({{"type", "ping"}});
  auto p = c.recv_type("pong", 5s);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->contains("serverTime"));
}

TEST(TransportWs, ChatSubscribePublishUnsubscribeWithPresence) {
  daemon d;
  ws_client alice(d.port(), "/ws?userId=alice");
  alice.send_json({{"type", "subscribe"}, {"topics", {"chat:room1"}}, {"ref", 7}});
  auto sub = alice.recv_type("subscribed", 5s);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->at("ref"), 7);
  auto st = alice.recv_type("room_state", 5s);
  ASSERT_TRUE(st);

  // Alice hears her own join first.
  auto own = alice.recv_type("join", 5s);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->at("userId"), "alice");

  ws_client bob(d.port(), "/ws?userId=bob&username=Bobby");
  bob.send_json({{"type", "subscribe"}, {"topics", {"chat:room1"}}});
  ASSERT_TRUE(bob.recv_type("subscribed", 5s));
  auto bst = bob.recv_type("room_state", 5s);
  ASSERT_TRUE(bst);
  ASSERT_GE(bst->at("users").size(), 1u);
  EXPECT_EQ(bst->at("users")[0].at("userId"), "alice");

  auto join = alice.recv_type("join", 5s);
  ASSERT_TRUE(join);
  EXPECT_EQ(join->at("userId"), "bob");
  EXPECT_EQ(join->at("username"), "Bobby");

  bob.send_json({{"type", "publish"}, {"topic", "chat:room1"}, {"data", {{"text", "hello"}}},
                 {"ref", "p1"}});
  auto pub = bob.recv_type("published", 5s);
  ASSERT_TRUE(pub);
  auto msg = alice.recv_type("message", 5s);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->at("text"), "hello");
  EXPECT_EQ(msg->at("id"), pub->at("id"));

  bob.send_json({{"type", "unsubscribe"}, {"topics", {"chat:room1"}}});
  ASSERT_TRUE(bob.recv_type("unsubscribed", 5s));
  auto leave = alice.recv_type("leave", 5s);
  ASSERT_TRUE(leave);
  EXPECT_EQ(leave->at("userId"), "bob");

  // After unsubscribing bob hears nothing more of the room.
  alice.send_json({{"type", "publish"}, {"topic", "chat:room1"}, {"data", {{"text", "bye"}}}});
  ASSERT_TRUE(alice.recv_type("message", 5s));
  EXPECT_FALSE(bob.recv_type("message", 500ms));
}

TEST(TransportWs, ClosingTheSocketLeavesTheRoom) {
  daemon d;
  ws_client alice(d.port(), "/ws?userId=alice&topics=chat:r");
  ASSERT_TRUE(alice.recv_type("room_state", 5s));
  ASSERT_TRUE(alice.recv_type("join", 5s));  // her own
  {
    ws_client bob(d.port(), "/ws?userId=bob&topics=chat:r");
    auto j = alice.recv_type("join", 5s);
    ASSERT_TRUE(j);
    EXPECT_EQ(j->at("userId"), "bob");
    bob.close();
  }
  auto leave = alice.recv_type("leave", 5s);
  ASSERT_TRUE(leave);
  EXPECT_EQ(leave->at("userId"), "bob");
}

TEST(TransportWs, MalformedMessageGetsErrorAndConnectionStays) {
  daemon d;
  ws_client c(d.port(), "/ws");
  c.send("{not json");
  auto e = c.recv_type("error", 5s);
  ASSERT_TRUE(e);
  c.send_json({{"type", "ping"}});
  EXPECT_TRUE(c.recv_type("pong", 5s));
}

TEST(TransportWs, MessageOverLimitClosesWith1009) {
  daemon d(json{{"limits", {{"max_ws_message_bytes", 1024}}}});
  ws_client c(d.port(), "/ws");
  c.send(json{{"type", "ping"}, {"pad", std::string(4096, 'x')}}.dump());
  auto code = c.close_code(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1009);
}

TEST(TransportWs, ForbiddenConnectTopicClosesWith4003) {
  const std::string secret = "s3cret-s3cret-s3cret-s3cret-s3cret";
  daemon d(json{{"auth", {{"mode", "jwt"}, {"jwt_secret", secret}}}});
  auto token = rushcast::auth::sign_hs256(R"({"sub":"me","exp":4102444800})", secret);
  ws_client c(d.port(), "/ws?topics=user:someone&token=" + token);
  auto code = c.close_code(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 4003);
}

TEST(TransportWs, BadTokenClosesWith4001) {
  daemon d(json{{"auth", {{"mode", "jwt"}, {"jwt_secret", "s3cret-s3cret-s3cret-s3cret-s3cret"}}}});
  ws_client c(d.port(), "/ws?token=not.a.token");
  auto code = c.close_code(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 4001);
}

TEST(TransportWs, SigtermClosesWith1001AndExitsZero) {
  daemon d;
  ws_client c(d.port(), "/ws?topics=news");
  c.send_json({{"type", "ping"}});
  ASSERT_TRUE(c.recv_type("pong", 5s));
  sse_client s(d.port(), "/sse-updates?topics=news");
  ASSERT_EQ(s.status(), 200u);
  ::kill(d.pid(), SIGTERM);
  auto code = c.close_code(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1001);
  EXPECT_TRUE(s.wait_eof(5s));
  EXPECT_EQ(d.terminate(), 0);
}

}  // namespace rushcast::test
