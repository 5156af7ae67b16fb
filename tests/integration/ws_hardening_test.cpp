// WebSocket holes found by probing from outside (issue 11): a chat name that broke a room,
// unbounded subscriptions, pongs without bound, cross-site upgrades riding a cookie.
#include <string>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "raw_ws.hpp"
#include "rushcast/auth/authenticator.hpp"

namespace rushcast::test {
namespace {

using nlohmann::json;

TEST(WsHardening, ChatNameThatIsNotUtf8IsRefusedAndTheRoomKeepsServing) {
  daemon d;
  {
    auto bad = raw_ws::open(d.port(), "/ws?topics=chat:lobby&userId=mallory&username=%FF%FE");
    auto code = bad.close_code();
    ASSERT_TRUE(code);
    EXPECT_EQ(*code, 1008);
  }
  // A later member gets the room's state and its messages, and no trace of the refused name.
  ws_client alice(d.port(), "/ws?userId=alice&username=Alice&topics=chat:lobby");
  auto st = alice.recv_type("room_state", 5s);
  ASSERT_TRUE(st);
  for (const auto& u : st->at("users")) EXPECT_NE(u.at("userId"), "mallory");
  ASSERT_TRUE(alice.recv_type("join", 5s));
  alice.send_json({{"type", "publish"}, {"topic", "chat:lobby"}, {"data", {{"text", "hi"}}}});
  auto msg = alice.recv_type("message", 5s);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->at("text"), "hi");
}

TEST(WsHardening, ChatNameOverSixtyFourBytesOrWithControlsIsRefused) {
  daemon d;
  for (std::string name : {std::string(65, 'n'), std::string("a%0Ab")}) {
    auto c = raw_ws::open(d.port(), "/ws?topics=chat:lobby&userId=u1&username=" + name);
    auto code = c.close_code();
    ASSERT_TRUE(code) << name;
    EXPECT_EQ(*code, 1008) << name;
  }
  ws_client ok(d.port(), "/ws?userId=u2&topics=chat:lobby&username=" + std::string(64, 'n'));
  auto join = ok.recv_type("join", 5s);
  ASSERT_TRUE(join);
  EXPECT_EQ(join->at("username"), std::string(64, 'n'));
}

json topic_limit(int n) { return json{{"limits", {{"max_topics_per_connection", n}}}}; }

TEST(WsHardening, TopicListOverTheLimitIsRefusedWith400OnEveryTransport) {
  daemon d(topic_limit(4));
  EXPECT_EQ(http(d.port(), "GET", "/long-poll?timeout=0&topics=a,b,c,d,e").status, 400u);
  EXPECT_EQ(http(d.port(), "GET", "/long-poll?timeout=0&topics=a,b,c,d").status, 200u);
  sse_client sse(d.port(), "/sse-updates?topics=a,b,c,d,e");
  EXPECT_EQ(sse.status(), 400u);
  raw_ws over(d.port());
  EXPECT_EQ(over.handshake(upgrade_request("/ws?topics=a,b,c,d,e")), 400u);
  // The connection's own user: topic counts too.
  raw_ws with_user(d.port());
  EXPECT_EQ(with_user.handshake(upgrade_request("/ws?topics=a,b,c,d&userId=u")), 400u);
  raw_ws fits(d.port());
  EXPECT_EQ(fits.handshake(upgrade_request("/ws?topics=a,b,c&userId=u")), 101u);
}

TEST(WsHardening, SubscribeBeyondTheLimitGetsTooManyTopicsAndTheConnectionStays) {
  daemon d(topic_limit(4));
  ws_client c(d.port(), "/ws?topics=a,b");
  c.send_json({{"type", "subscribe"}, {"topics", {"b", "c", "d", "e", "f"}}, {"ref", 1}});
  auto err = c.recv_type("error", 5s);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->at("code"), "too_many_topics");
  EXPECT_EQ(err->at("topics"), json({"e", "f"}));
  EXPECT_EQ(err->at("ref"), 1);
  auto sub = c.recv_type("subscribed", 5s);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->at("topics"), json({"b", "c", "d"}));
  publish(d.port(), "d", "news", {{"n", 1}});
  publish(d.port(), "e", "news", {{"n", 2}});
  publish(d.port(), "a", "news", {{"n", 3}});
  auto m1 = c.recv_type("news", 5s);
  ASSERT_TRUE(m1);
  EXPECT_EQ(m1->at("n"), 1);
  auto m2 = c.recv_type("news", 5s);
  ASSERT_TRUE(m2);
  EXPECT_EQ(m2->at("n"), 3);  // not 2: "e" was refused
  EXPECT_FALSE(c.closed());
}

// RFC 6455 §5.5.3: a pong may answer only the most recent ping. A peer that pings and never
// reads must not make the server queue a pong per ping.
TEST(WsHardening, PingFloodWithoutReadingQueuesAtMostOnePong) {
  daemon d;
  raw_ws c(d.port(), /*rcvbuf=*/4096);
  ASSERT_EQ(c.handshake(upgrade_request("/ws")), 101u);
  constexpr int pings = 40000;  // 5 MB of pongs: more than the socket buffers hold
  std::string burst;
  for (int i = 0; i < pings; ++i) {
    std::string payload = std::to_string(i);
    payload.resize(125, '.');
    burst += client_frame(fin | op_ping, payload);
    if (burst.size() > (1 << 20)) {
      c.write(burst);
      burst.clear();
    }
  }
  c.write(burst);
  int pongs = 0;
  std::string last;
  std::string want = std::to_string(pings - 1);
  want.resize(125, '.');
  while (last != want) {
    auto f = c.read_frame(5s);
    ASSERT_TRUE(f) << "after " << pongs << " pongs";
    if (f->opcode() != op_pong) continue;
    ++pongs;
    last = f->payload;
  }
  // The pongs in flight when the socket filled, then only the newest: far fewer than pings.
  EXPECT_LT(pongs, pings / 2);
  RecordProperty("pongs", pongs);
  // The connection still works.
  c.write(client_frame(fin | op_text, R"({"type":"ping","ref":"after"})"));
  auto j = c.next_json();
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["ref"], "after");
}

json listed_origin() { return json{{"cors", {{"allow_origins", {"https://shop.example"}}}}}; }

TEST(WsHardening, UpgradeOriginMustBeOwnOrListed) {
  daemon d(listed_origin());
  const std::string own = "127.0.0.1:" + std::to_string(d.port());
  struct probe {
    std::string what;
    headers_t headers;
    unsigned status;
  };
  for (const auto& p : std::vector<probe>{
           {"no Origin (not a browser)", {}, 101},
           {"same origin", {{"Host", own}, {"Origin", "http://" + own}}, 101},
           {"listed origin", {{"Origin", "https://shop.example"}}, 101},
           {"foreign origin", {{"Origin", "https://evil.example"}}, 403},
           {"same host, other port", {{"Host", own}, {"Origin", "http://127.0.0.1:1"}}, 403},
           {"same host, other scheme", {{"Host", own}, {"Origin", "https://" + own}}, 403},
           {"opaque origin", {{"Origin", "null"}}, 403},
       }) {
    raw_ws c(d.port());
    EXPECT_EQ(c.handshake(upgrade_request("/ws", p.headers)), p.status) << p.what;
  }
}

TEST(WsHardening, CookieNeverAuthenticatesACrossSiteUpgrade) {
  const std::string secret = "s3cret-s3cret-s3cret-s3cret-s3cret";
  daemon d(json{{"auth", {{"mode", "jwt"}, {"jwt_secret", secret}}},
                {"cors", {{"allow_origins", {"*"}}}}});
  const auto token = auth::sign_hs256(R"({"sub":"alice","exp":4102444800})", secret);
  const std::string own = "127.0.0.1:" + std::to_string(d.port());
  const headers_t cookie{{"Cookie", "rushcast_token=" + token}, {"Host", own}};

  auto with = [&](headers_t h, const std::string& origin) {
    if (!origin.empty()) h["Origin"] = origin;
    return h;
  };
  // Cross-site: the cookie is ignored, so the private topic wants a token (4001).
  {
    raw_ws c(d.port());
    ASSERT_EQ(c.handshake(upgrade_request("/ws?topics=user:alice", with(cookie, "https://evil.example"))),
              101u);
    auto code = c.close_code();
    ASSERT_TRUE(code);
    EXPECT_EQ(*code, 4001);
  }
  // Same site, or no Origin: the cookie authenticates.
  for (std::string origin : {"http://" + own, std::string()}) {
    raw_ws c(d.port());
    ASSERT_EQ(c.handshake(upgrade_request("/ws?topics=user:alice", with(cookie, origin))), 101u);
    c.write(client_frame(fin | op_text, R"({"type":"ping","ref":"ok"})"));
    auto j = c.next_json();
    ASSERT_TRUE(j) << origin;
    EXPECT_EQ((*j)["ref"], "ok");
  }
  // Cross-site with a token the page itself holds: authenticated.
  {
    raw_ws c(d.port());
    ASSERT_EQ(c.handshake(upgrade_request("/ws?topics=user:alice&token=" + token,
                                          {{"Origin", "https://evil.example"}})),
              101u);
    c.write(client_frame(fin | op_text, R"({"type":"ping","ref":"tok"})"));
    auto j = c.next_json();
    ASSERT_TRUE(j);
    EXPECT_EQ((*j)["ref"], "tok");
  }
}

}  // namespace
}  // namespace rushcast::test
