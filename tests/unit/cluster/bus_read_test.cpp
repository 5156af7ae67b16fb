// The bus reader's view of an XREAD answer: entries into runs of one epoch, in stream order,
// malformed entries skipped and counted, the id to read after.
#include "rushcast/cluster/bus.hpp"

#include <gtest/gtest.h>

using rushcast::cluster::parse_read;
using rushcast::redis::reply;

namespace {

reply str(std::string s) {
  reply r;
  r.type = reply::kind::string;
  r.str = std::move(s);
  return r;
}

reply arr(std::vector<reply> e) {
  reply r;
  r.type = reply::kind::array;
  r.elements = std::move(e);
  return r;
}

reply entry(const std::string& id, std::vector<std::string> fields) {
  std::vector<reply> f;
  for (auto& s : fields) f.push_back(str(s));
  return arr({str(id), arr(std::move(f))});
}

reply event(const std::string& id, const std::string& epoch, const std::string& seq,
            const std::string& topic = "t", const std::string& state = "0") {
  return entry(id, {"e", epoch, "s", seq, "t", topic, "n", "m", "d", "{\"x\":1}", "c", state});
}

reply xread(std::vector<reply> entries) {
  return arr({arr({str("rushcast:bus"), arr(std::move(entries))})});
}

}  // namespace

TEST(BusRead, EntriesBecomeSequencedEventsInStreamOrder) {
  auto r = xread({event("5-0", "A", "1"), event("5-1", "A", "2", "u", "1")});
  auto b = parse_read(r);
  ASSERT_EQ(b.runs.size(), 1u);
  EXPECT_EQ(b.runs[0].epoch, "A");
  ASSERT_EQ(b.runs[0].events.size(), 2u);
  EXPECT_EQ(b.runs[0].events[0].seq, 1u);
  EXPECT_EQ(b.runs[0].events[0].topic, "t");
  EXPECT_EQ(b.runs[0].events[0].name, "m");
  EXPECT_EQ(b.runs[0].events[0].data_json, "{\"x\":1}");
  EXPECT_FALSE(b.runs[0].events[0].state);
  EXPECT_EQ(b.runs[0].events[1].topic, "u");
  EXPECT_TRUE(b.runs[0].events[1].state);
  EXPECT_EQ(b.last_id, "5-1");
  EXPECT_EQ(b.malformed, 0u);
}

TEST(BusRead, AnEpochChangeStartsANewRun) {
  auto r = xread({event("5-0", "A", "7"), event("6-0", "B", "1"), event("6-1", "B", "2")});
  auto b = parse_read(r);
  ASSERT_EQ(b.runs.size(), 2u);
  EXPECT_EQ(b.runs[0].events.size(), 1u);
  EXPECT_EQ(b.runs[1].epoch, "B");
  EXPECT_EQ(b.runs[1].events.size(), 2u);
}

TEST(BusRead, MalformedEntriesAreSkippedButReadPast) {
  auto r = xread({entry("5-0", {"e", "A", "t", "t"}), event("5-1", "A", "x"),
                  event("5-2", "A", "0"), event("5-3", "A", "3")});
  auto b = parse_read(r);
  EXPECT_EQ(b.malformed, 3u);
  ASSERT_EQ(b.runs.size(), 1u);
  EXPECT_EQ(b.runs[0].events.size(), 1u);
  EXPECT_EQ(b.last_id, "5-3");
}

TEST(BusRead, ABlockThatTimedOutHoldsNothing) {
  auto b = parse_read(reply{});
  EXPECT_TRUE(b.runs.empty());
  EXPECT_TRUE(b.last_id.empty());
}

TEST(BusRead, PresenceFieldsBecomePresenceChangesOfTheirRun) {
  auto r = xread({entry("5-0", {"e", "A", "s", "1", "t", "chat:r", "n", "join", "d", "{}", "c",
                                "0", "p", "+", "u", "alice", "m", "Alice"}),
                  event("5-1", "A", "2", "chat:r"),
                  entry("5-2", {"e", "A", "s", "3", "t", "chat:r", "n", "leave", "d", "{}", "c",
                                "0", "p", "-", "u", "alice", "m", "Alice"}),
                  // A client's own "join" message has no presence fields: no change.
                  entry("5-3", {"e", "A", "s", "4", "t", "chat:r", "n", "join", "d",
                                "{\"userId\":\"mallory\"}", "c", "0"})});
  auto b = parse_read(r);
  ASSERT_EQ(b.runs.size(), 1u);
  EXPECT_EQ(b.runs[0].events.size(), 4u);
  ASSERT_EQ(b.runs[0].presence.size(), 2u);
  EXPECT_EQ(b.runs[0].presence[0].seq, 1u);
  EXPECT_TRUE(b.runs[0].presence[0].join);
  EXPECT_EQ(b.runs[0].presence[0].topic, "chat:r");
  EXPECT_EQ(b.runs[0].presence[0].user_id, "alice");
  EXPECT_EQ(b.runs[0].presence[0].username, "Alice");
  EXPECT_EQ(b.runs[0].presence[1].seq, 3u);
  EXPECT_FALSE(b.runs[0].presence[1].join);
}
