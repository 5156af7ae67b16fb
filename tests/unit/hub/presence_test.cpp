#include "rushcast/hub/presence.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "recording_subscriber.hpp"
#include "rushcast/hub/hub.hpp"

using namespace rushcast::hub;
using rushcast::hub::test::recording_subscriber;
using nlohmann::json;

namespace {
struct fixture {
  fixture()
      : h(std::vector<boost::asio::any_io_executor>{ctx.get_executor()},
          rushcast::config::history_cfg{}, "E"),
        p(h),
        watcher(std::make_shared<recording_subscriber>()) {
    h.subscribe(watcher, {"chat:r1"}, std::nullopt, transport::websocket);
  }
  std::vector<json> events() {
    ctx.restart();
    ctx.poll();
    std::vector<json> out;
    for (auto& f : watcher->got) out.push_back(json::parse(f->ws_payload()));
    watcher->got.clear();
    return out;
  }
  boost::asio::io_context ctx;
  hub h;
  presence p;
  std::shared_ptr<recording_subscriber> watcher;
};
}  // namespace

TEST(Presence, FirstConnectionJoinsOnce) {
  fixture fx;
  fx.p.join("chat:r1", "u1", "Alice");
  fx.p.join("chat:r1", "u1", "Alice");
  auto ev = fx.events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["type"], "join");
  EXPECT_EQ(ev[0]["topic"], "chat:r1");
  EXPECT_EQ(ev[0]["userId"], "u1");
  EXPECT_EQ(ev[0]["username"], "Alice");
  EXPECT_EQ(fx.p.users("chat:r1"), std::vector<std::string>{"u1"});
}

TEST(Presence, LastConnectionLeaves) {
  fixture fx;
  fx.p.join("chat:r1", "u1", "Alice");
  fx.p.join("chat:r1", "u1", "Alice");
  fx.events();
  fx.p.leave("chat:r1", "u1");
  EXPECT_TRUE(fx.events().empty());
  EXPECT_EQ(fx.p.users("chat:r1").size(), 1u);
  fx.p.leave("chat:r1", "u1");
  auto ev = fx.events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["type"], "leave");
  EXPECT_EQ(ev[0]["username"], "Alice");
  EXPECT_TRUE(fx.p.users("chat:r1").empty());
}

TEST(Presence, UsernameDefaultsToUserId) {
  fixture fx;
  fx.p.join("chat:r1", "bob", "");
  auto ev = fx.events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["username"], "bob");
}

TEST(Presence, StrayLeaveAndAnonymousJoinChangeNothing) {
  fixture fx;
  fx.p.leave("chat:r1", "ghost");
  fx.p.leave("chat:nowhere", "ghost");
  fx.p.join("chat:r1", "", "nobody");
  EXPECT_TRUE(fx.events().empty());
  EXPECT_TRUE(fx.p.users("chat:r1").empty());
  EXPECT_EQ(fx.h.last_seq(), 0u);
}

TEST(Presence, RoomsAreSeparate) {
  fixture fx;
  fx.p.join("chat:r1", "b", "B");
  fx.p.join("chat:r1", "a", "A");
  fx.p.join("chat:r2", "c", "C");
  EXPECT_EQ(fx.p.users("chat:r1"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(fx.p.users("chat:r2"), std::vector<std::string>{"c"});
  EXPECT_EQ(fx.events().size(), 2u);  // the watcher follows r1 only
}

TEST(Presence, SubscribeSnapshotIsRoomState) {
  fixture fx;
  fx.p.join("chat:r1", "u2", "Zed");
  fx.p.join("chat:r1", "u1", "Alice");
  auto sub = std::make_shared<recording_subscriber>();
  auto r = fx.h.subscribe(sub, {"chat:r1", "chat:empty"}, std::nullopt, transport::sse);
  ASSERT_EQ(r.snapshot.size(), 2u);
  EXPECT_EQ(r.snapshot[0]->name, "room_state");
  auto state = json::parse(r.snapshot[0]->ws_payload());
  EXPECT_EQ(state["room"], "chat:r1");
  EXPECT_EQ(state["users"], json::parse(R"([{"userId":"u1","username":"Alice"},
                                             {"userId":"u2","username":"Zed"}])"));
  auto empty = json::parse(r.snapshot[1]->ws_payload());
  EXPECT_EQ(empty["users"], json::array());
}

TEST(Presence, NameThatIsNotUtf8NeitherThrowsNorBreaksTheRoom) {
  fixture fx;
  EXPECT_NO_THROW(fx.p.join("chat:r1", "u1", "\xFF\xFE"));
  auto ev = fx.events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["type"], "join");
  EXPECT_EQ(ev[0]["username"], "\xEF\xBF\xBD\xEF\xBF\xBD");  // U+FFFD twice
  // The room's snapshot for the next subscriber still renders.
  auto late = std::make_shared<recording_subscriber>();
  auto r = fx.h.subscribe(late, {"chat:r1"}, std::nullopt, transport::websocket);
  ASSERT_EQ(r.snapshot.size(), 1u);
  EXPECT_EQ(json::parse(r.snapshot[0]->ws_payload())["users"].size(), 1u);
  EXPECT_NO_THROW(fx.p.leave("chat:r1", "u1"));
}
