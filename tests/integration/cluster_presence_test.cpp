// Chat presence over a cluster, with a real redis-server and real daemons sharing it: a room's
// members are the same on every node, a user with connections on two nodes joins once and
// leaves once, a killed node's members leave within its heartbeat's lifetime, and the bounds
// hold. Also the WebSocket chat publish's answer in cluster mode (the bus's id).
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness_cluster.hpp"
#include "harness.hpp"
#include "harness_redis.hpp"

namespace rushcast::test {
namespace {
using nlohmann::json;

json node_config(const redis_server& r, json bus_extra = json::object()) {
  json bus{{"read_block_ms", 200}, {"presence_ttl_ms", 1500}, {"presence_heartbeat_ms", 250}};
  bus.update(bus_extra);
  return json{{"storage", {{"backend", "redis"}, {"redis_url", r.url()}}},
              {"bus", bus},
              {"heartbeat_ms", 200},
              {"sales", json::array()},
              {"auctions", json::array()},
              {"rate_limit", {{"per_ip_per_s", 100000}, {"per_ip_burst", 100000}}}};
}

struct cluster {
  explicit cluster(std::size_t n, json bus_extra = json::object()) {
    for (std::size_t i = 0; i < n; ++i)
      nodes.push_back(start_cluster_node(node_config(redis, bus_extra)));
  }
  std::uint16_t port(std::size_t i) const { return nodes[i]->port(); }
  redis_server redis;
  std::vector<std::unique_ptr<daemon>> nodes;
};

std::set<std::string> user_ids(const json& room_state) {
  std::set<std::string> out;
  for (const auto& u : room_state.at("users")) out.insert(u.at("userId").get<std::string>());
  return out;
}

// The room's members as a new subscriber of node port sees them (its room_state snapshot).
std::set<std::string> members_on(std::uint16_t port, const std::string& room) {
  sse_client s(port, "/sse-updates?topics=" + room);
  auto st = s.next_named("room_state", 5s);
  if (!st) return {"<no room_state>"};
  return user_ids(st->json());
}

// Every node reads the bus on its own: one may see a change a moment after another did.
bool eventually_members(std::uint16_t port, const std::string& room,
                        const std::set<std::string>& want) {
  std::set<std::string> got;
  bool ok = wait_until(10s, [&] { return (got = members_on(port, room)) == want; });
  if (!ok) {
    std::string s;
    for (const auto& u : got) s += u + " ";
    ADD_FAILURE() << "port " << port << " lists: " << s;
  }
  return ok;
}

// How many nodes hold user in topic according to Redis (P:node:<id> sets): a node's own
// membership reaches Redis a moment after its client got room_state.
int nodes_holding(const redis_server& r, const std::string& topic, const std::string& user) {
  const std::string reply = r.command(
      {"EVAL",
       "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do "
       "n = n + redis.call('SISMEMBER', k, ARGV[2]) end return n",
       "0", "rushcast:bus:presence:node:*", topic + "\n" + user});
  return reply.size() > 1 && reply[0] == ':' ? std::stoi(reply.substr(1)) : -1;
}

}  // namespace

TEST(ClusterPresence, EveryNodeListsTheMembersOfEveryNode) {
  cluster c(3);
  sse_client watch(c.port(2), "/sse-updates?topics=chat:r");
  ASSERT_TRUE(watch.next_named("room_state", 5s));

  ws_client alice(c.port(0), "/ws?userId=alice&username=Alice&topics=chat:r");
  auto j1 = watch.next_named("join", 10s);  // alice's join reaches a node she is not on
  ASSERT_TRUE(j1);
  EXPECT_EQ(j1->json(), (json{{"userId", "alice"}, {"username", "Alice"}}));

  // Node 1 reads the bus on its own: bob's room_state is its view, once alice's join is in it.
  ASSERT_TRUE(eventually_members(c.port(1), "chat:r", {"alice"}));
  ws_client bob(c.port(1), "/ws?userId=bob&topics=chat:r");
  auto st = bob.recv_type("room_state", 5s);
  ASSERT_TRUE(st);
  EXPECT_EQ(user_ids(*st), (std::set<std::string>{"alice"}));  // alice is on another node
  auto j2 = alice.recv_type("join", 10s);
  ASSERT_TRUE(j2);
  if (j2->at("userId") == "alice") j2 = alice.recv_type("join", 10s);  // her own came first
  ASSERT_TRUE(j2);
  EXPECT_EQ(j2->at("userId"), "bob");
  ASSERT_TRUE(watch.next_named("join", 10s));

  for (std::size_t i = 0; i < 3; ++i) eventually_members(c.port(i), "chat:r", {"alice", "bob"});

  // A client's own "join" event on a chat topic is a message, not a membership.
  bob.send_json({{"type", "publish"}, {"topic", "chat:r"}, {"event", "join"},
                 {"data", {{"userId", "mallory"}, {"username", "M"}}}});
  ASSERT_TRUE(watch.next_named("join", 10s));
  EXPECT_EQ(members_on(c.port(2), "chat:r"), (std::set<std::string>{"alice", "bob"}));

  bob.close();
  auto left = watch.next_named("leave", 10s);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->json().at("userId"), "bob");
  for (std::size_t i = 0; i < 3; ++i) eventually_members(c.port(i), "chat:r", {"alice"});
}

TEST(ClusterPresence, AUserOnTwoNodesJoinsOnceAndLeavesWithTheLastConnection) {
  cluster c(2);
  sse_client watch(c.port(0), "/sse-updates?topics=chat:r");
  ASSERT_TRUE(watch.next_named("room_state", 5s));
  auto a = std::make_unique<ws_client>(c.port(0), "/ws?userId=carol&topics=chat:r");
  ASSERT_TRUE(watch.next_named("join", 10s));
  auto b = std::make_unique<ws_client>(c.port(1), "/ws?userId=carol&topics=chat:r");
  ASSERT_TRUE(b->recv_type("room_state", 5s));
  // Node 1's membership of carol is in Redis before her first connection goes.
  ASSERT_TRUE(wait_until(10s, [&] { return nodes_holding(c.redis, "chat:r", "carol") == 2; }));
  a->close();
  a.reset();
  // Still in the room through node 1: neither a second join nor a leave.
  EXPECT_FALSE(watch.next(1500ms));
  EXPECT_EQ(members_on(c.port(0), "chat:r"), (std::set<std::string>{"carol"}));
  b->close();
  auto left = watch.next_named("leave", 10s);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->json().at("userId"), "carol");
  EXPECT_TRUE(members_on(c.port(0), "chat:r").empty());
}

TEST(ClusterPresence, AKilledNodesMembersLeaveWithinItsHeartbeatLifetime) {
  cluster c(2);
  sse_client watch(c.port(0), "/sse-updates?topics=chat:r");
  ASSERT_TRUE(watch.next_named("room_state", 5s));
  ws_client dave(c.port(1), "/ws?userId=dave&topics=chat:r");
  ASSERT_TRUE(watch.next_named("join", 10s));

  const auto killed = std::chrono::steady_clock::now();
  c.nodes[1]->kill9();
  auto left = watch.next_named("leave", 10s);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->json().at("userId"), "dave");
  // presence_ttl_ms 1500 + one heartbeat of the survivor (250), with slack for a busy machine.
  EXPECT_LT(std::chrono::steady_clock::now() - killed, 5s);
  EXPECT_TRUE(members_on(c.port(0), "chat:r").empty());
}

TEST(ClusterPresence, ADeadNodeWithManyMembersIsRemovedOverSeveralBeats) {
  cluster c(1);
  // A node that died holding 2,500 members of one room (more than one beat removes).
  const std::string p = "rushcast:bus:presence";
  std::vector<std::string> node_set{"SADD", p + ":node:dead"}, count{"HSET", p + ":count:chat:big"},
      room{"HSET", p + ":room:chat:big"};
  for (int i = 0; i < 2500; ++i) {
    const std::string u = "u" + std::to_string(i);
    node_set.push_back("chat:big\n" + u);
    count.insert(count.end(), {u, "1"});
    room.insert(room.end(), {u, u});
  }
  c.redis.command(node_set);
  c.redis.command(count);
  c.redis.command(room);
  c.redis.command({"SADD", p + ":rooms", "chat:big"});
  sse_client watch(c.port(0), "/sse-updates?topics=chat:big");
  ASSERT_TRUE(watch.next_named("room_state", 5s));
  c.redis.command({"ZADD", p + ":nodes", "1", "dead"});  // its heartbeat long expired
  std::size_t leaves = 0;
  while (leaves < 2500) {
    auto ev = watch.next_named("leave", 10s);
    if (!ev) break;
    ++leaves;
  }
  EXPECT_EQ(leaves, 2500u);
  EXPECT_EQ(c.redis.command({"EXISTS", p + ":room:chat:big"}), ":0\r\n");
  EXPECT_EQ(c.redis.command({"ZSCORE", p + ":nodes", "dead"}), "$-1\r\n");
  EXPECT_EQ(c.redis.command({"EXISTS", p + ":node:dead"}), ":0\r\n");
  eventually_members(c.port(0), "chat:big", {});
}

TEST(ClusterPresence, ADrainedNodesMembersLeaveAtOnce) {
  cluster c(2, json{{"presence_ttl_ms", 60000}, {"presence_heartbeat_ms", 1000}});
  sse_client watch(c.port(0), "/sse-updates?topics=chat:r");
  ASSERT_TRUE(watch.next_named("room_state", 5s));
  ws_client erin(c.port(1), "/ws?userId=erin&topics=chat:r");
  ASSERT_TRUE(watch.next_named("join", 10s));
  c.nodes[1]->terminate();
  auto left = watch.next_named("leave", 5s);  // far sooner than the 60 s heartbeat lifetime
  ASSERT_TRUE(left);
  EXPECT_EQ(left->json().at("userId"), "erin");
}

TEST(ClusterPresence, ARoomListsAtMostPresenceMaxMembers) {
  cluster c(2, json{{"presence_max_members", 2}});
  ws_client u1(c.port(0), "/ws?userId=u1&topics=chat:r");
  ws_client u2(c.port(1), "/ws?userId=u2&topics=chat:r");
  ASSERT_TRUE(wait_until(10s, [&] { return members_on(c.port(0), "chat:r").size() == 2; }));
  sse_client watch(c.port(0), "/sse-updates?topics=chat:r");
  ASSERT_TRUE(watch.next_named("room_state", 5s));
  ws_client u3(c.port(1), "/ws?userId=u3&topics=chat:r");
  ASSERT_TRUE(u3.recv_type("room_state", 5s));
  EXPECT_FALSE(watch.next_named("join", 1500ms));  // not listed, not announced
  eventually_members(c.port(1), "chat:r", {"u1", "u2"});
  // u3 still hears the room.
  u1.send_json({{"type", "publish"}, {"topic", "chat:r"}, {"data", {{"text", "hi"}}}});
  EXPECT_TRUE(u3.recv_type("message", 10s));
}

TEST(ClusterPresence, RedisRestartedWithoutItsDataGetsEveryMemberBack) {
  cluster c(2);
  ws_client frank(c.port(1), "/ws?userId=frank&topics=chat:r");
  ASSERT_TRUE(wait_until(10s, [&] { return members_on(c.port(0), "chat:r").size() == 1; }));
  c.redis.command({"FLUSHALL"});
  // The node's next heartbeat finds itself unknown and sends its members again.
  ASSERT_TRUE(wait_until(10s, [&] {
    return c.redis.command({"HEXISTS", "rushcast:bus:presence:room:chat:r", "frank"}) ==
           ":1\r\n";
  }));
  eventually_members(c.port(0), "chat:r", {"frank"});
}

TEST(ClusterPresence, AJoinWhileRedisIsDownCountsOnceRedisIsBack) {
  cluster c(2);
  sse_client watch(c.port(0), "/sse-updates?topics=chat:r");
  ASSERT_TRUE(watch.next_named("room_state", 5s));
  c.redis.kill9();
  ws_client henry(c.port(1), "/ws?userId=henry&topics=chat:r");
  ASSERT_TRUE(henry.recv_type("room_state", 5s));
  c.redis.start();  // from its AOF
  auto j = watch.next_named("join", 15s);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->json().at("userId"), "henry");
  eventually_members(c.port(0), "chat:r", {"henry"});
}

TEST(ClusterPresence, WebSocketChatPublishAnswersTheClustersId) {
  cluster c(2);
  ws_client grace(c.port(0), "/ws?userId=grace&topics=chat:r");
  ASSERT_TRUE(grace.recv_type("room_state", 5s));
  sse_client other(c.port(1), "/sse-updates?topics=chat:r");
  ASSERT_TRUE(other.next_named("room_state", 5s));
  grace.send_json({{"type", "publish"}, {"topic", "chat:r"}, {"data", {{"text", "hello"}}},
                   {"ref", "p1"}});
  auto pub = grace.recv_type("published", 10s);
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->at("ref"), "p1");
  const std::string id = pub->at("id").get<std::string>();
  EXPECT_FALSE(id.empty());
  auto ev = other.next_named("message", 10s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->id, id);  // the same id on the other node

  c.redis.kill9();
  ASSERT_TRUE(wait_until(10s, [&] {
    grace.send_json({{"type", "publish"}, {"topic", "chat:r"}, {"data", {{"text", "x"}}},
                     {"ref", "p2"}});
    auto r = grace.recv(3s);
    while (r && r->at("type") != "published" && r->at("type") != "error") r = grace.recv(3s);
    return r && r->at("type") == "error" && r->at("code") == "unavailable" &&
           r->at("ref") == "p2";
  }));
}

}  // namespace rushcast::test
