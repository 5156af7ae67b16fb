// The snapshot registry: exact topics before prefixes, the longest prefix first.
#include "rushcast/hub/snapshots.hpp"
#include "rushcast/hub/hub.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hub_fixture.hpp"
#include "recording_subscriber.hpp"
#include "rushcast/core/errc.hpp"
#include "rushcast/obs/metrics.hpp"

using namespace rushcast::hub;
using namespace rushcast::hub::test;

TEST(Hub, SnapshotPrefixServesAFamilyExactWins) {
  shards s;
  s.h->set_snapshot_prefix("chat:", [](const std::string& topic, transport) {
    return std::vector<snapshot_event>{{"room_state", nlohmann::json{{"room", topic}}.dump()}};
  });
  s.h->set_snapshot_prefix("chat:vip:", [](const std::string& topic, transport) {
    return std::vector<snapshot_event>{{"vip_state", "{}"}};
  });
  s.h->set_snapshot("chat:special", [](transport t) {
    return std::vector<snapshot_event>{
        {"special", t == transport::websocket ? R"({"ws":true})" : R"({"ws":false})"}};
  });
  auto sub = std::make_shared<recording_subscriber>();
  auto r = s.h->subscribe(sub, {"chat:a", "chat:vip:b", "chat:special", "sale:x"}, std::nullopt,
                          transport::websocket);
  ASSERT_EQ(r.snapshot.size(), 3u);
  EXPECT_EQ(r.snapshot[0]->ws_payload(), R"({"type":"room_state","topic":"chat:a","room":"chat:a"})");
  EXPECT_EQ(r.snapshot[1]->name, "vip_state");
  EXPECT_EQ(r.snapshot[2]->ws_payload(), R"({"type":"special","topic":"chat:special","ws":true})");
}

TEST(SnapshotRegistry, ExactTopicBeatsPrefixAndLongerPrefixBeatsShorter) {
  snapshot_registry reg;
  auto named = [](std::string name) {
    return [name](const std::string&, transport) {
      return std::vector<snapshot_event>{{name, "{}"}};
    };
  };
  reg.set_prefix("chat:", named("short"));
  reg.set_prefix("chat:vip:", named("long"));
  reg.set("chat:vip:lobby", [](transport) { return std::vector<snapshot_event>{{"exact", "{}"}}; });
  EXPECT_EQ(reg.of("chat:room", transport::sse).at(0).name, "short");
  EXPECT_EQ(reg.of("chat:vip:room", transport::sse).at(0).name, "long");
  EXPECT_EQ(reg.of("chat:vip:lobby", transport::sse).at(0).name, "exact");
  EXPECT_TRUE(reg.of("sale:x", transport::sse).empty());
}

TEST(SnapshotRegistry, PassesTheTransportAndTheFullTopic) {
  snapshot_registry reg;
  std::string seen_topic;
  transport seen_transport = transport::sse;
  reg.set_prefix("user:", [&](const std::string& topic, transport t) {
    seen_topic = topic;
    seen_transport = t;
    return std::vector<snapshot_event>{};
  });
  reg.of("user:alice", transport::long_poll);
  EXPECT_EQ(seen_topic, "user:alice");
  EXPECT_EQ(seen_transport, transport::long_poll);
}
