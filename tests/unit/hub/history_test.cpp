#include "rushcast/hub/history.hpp"

#include <gtest/gtest.h>

using namespace rushcast::hub;
using rushcast::config::history_cfg;

namespace {
struct fixture {
  explicit fixture(std::size_t max_events = 100, std::uint32_t max_age_ms = 0)
      : h(history_cfg{max_events, max_age_ms}, "E", [this] { return now; }) {}
  std::uint64_t add(const std::string& topic) {
    ++seq;
    h.append(make_frame(h.make_id(seq), seq, topic, "m", "{}", false));
    return seq;
  }
  std::int64_t now = 1000;
  std::uint64_t seq = 0;
  history h;
};
std::vector<std::uint64_t> seqs(const history::since_result& r) {
  std::vector<std::uint64_t> out;
  for (auto& f : r.frames) out.push_back(f->seq);
  return out;
}
}  // namespace

TEST(History, IdsAreEpochAndSeq) {
  fixture fx;
  EXPECT_EQ(fx.h.make_id(42), "E-42");
  fx.add("a");
  std::string reason;
  EXPECT_EQ(fx.h.parse_id("E-1", reason), 1u);
}

TEST(History, SinceMergesTopicsInSeqOrder) {
  fixture fx;
  fx.add("a");  // 1
  fx.add("b");  // 2
  fx.add("c");  // 3
  fx.add("a");  // 4
  fx.add("b");  // 5
  auto r = fx.h.since({"b", "a"}, "E-1");
  EXPECT_FALSE(r.resync);
  EXPECT_EQ(seqs(r), (std::vector<std::uint64_t>{2, 4, 5}));
  EXPECT_EQ(r.frames[0]->id, "E-2");
}

TEST(History, DuplicateTopicsGiveNoDuplicates) {
  fixture fx;
  fx.add("a");
  fx.add("a");
  auto r = fx.h.since({"a", "a", "a"}, "E-0");
  EXPECT_EQ(seqs(r), (std::vector<std::uint64_t>{1, 2}));
}

TEST(History, NothingMissedGivesEmptyReplay) {
  fixture fx;
  fx.add("a");
  auto r = fx.h.since({"a", "unknown"}, "E-1");
  EXPECT_FALSE(r.resync);
  EXPECT_TRUE(r.frames.empty());
}

TEST(History, CountBoundEvictsOldestAndReportsTooOld) {
  fixture fx(3);
  for (int i = 0; i < 5; ++i) fx.add("a");  // keeps 3,4,5
  EXPECT_EQ(fx.h.size("a"), 3u);
  auto ok = fx.h.since({"a"}, "E-2");
  EXPECT_FALSE(ok.resync);
  EXPECT_EQ(seqs(ok), (std::vector<std::uint64_t>{3, 4, 5}));
  auto gap = fx.h.since({"a"}, "E-1");
  EXPECT_TRUE(gap.resync);
  EXPECT_EQ(gap.reason, "too_old");
  EXPECT_TRUE(gap.frames.empty());
}

TEST(History, EvictionInAnotherTopicIsNoGap) {
  fixture fx(1);
  fx.add("a");  // 1
  fx.add("a");  // 2 evicts 1
  fx.add("b");  // 3
  auto r = fx.h.since({"b"}, "E-0");
  EXPECT_FALSE(r.resync);
  EXPECT_EQ(seqs(r), (std::vector<std::uint64_t>{3}));
}

TEST(History, AgeBoundEvictsAndReportsTooOld) {
  fixture fx(100, 5000);
  fx.add("a");  // at 1000
  fx.now = 4000;
  fx.add("a");  // at 4000
  fx.now = 6500;  // the first is older than 5 s now
  auto r = fx.h.since({"a"}, "E-1");
  EXPECT_FALSE(r.resync);
  EXPECT_EQ(seqs(r), (std::vector<std::uint64_t>{2}));
  auto gap = fx.h.since({"a"}, "E-0");
  EXPECT_TRUE(gap.resync);
  EXPECT_EQ(gap.reason, "too_old");
  fx.now = 10000;
  EXPECT_EQ(fx.h.since({"a"}, "E-1").reason, "too_old");
  EXPECT_EQ(fx.h.size("a"), 0u);
}

TEST(History, ZeroCapacityKeepsNothing) {
  fixture fx(0);
  fx.add("a");
  EXPECT_EQ(fx.h.size("a"), 0u);
  EXPECT_EQ(fx.h.since({"a"}, "E-0").reason, "too_old");
  EXPECT_FALSE(fx.h.since({"a"}, "E-1").resync);
}

TEST(History, OtherEpochIsResyncEpoch) {
  fixture fx;
  fx.add("a");
  auto r = fx.h.since({"a"}, "OLD-1");
  EXPECT_TRUE(r.resync);
  EXPECT_EQ(r.reason, "epoch");
  EXPECT_TRUE(r.frames.empty());
}

TEST(History, MalformedIdsAreBadId) {
  fixture fx;
  fx.add("a");
  for (const char* id : {"", "E", "E-", "-1", "E-1x", "E- 1", "E-+1", "E--1",
                         "E-99999999999999999999999", "E-2"}) {
    auto r = fx.h.since({"a"}, id);
    EXPECT_TRUE(r.resync) << id;
    if (std::string(id) == "E--1")
      EXPECT_EQ(r.reason, "epoch") << id;  // "E-" is not this epoch
    else
      EXPECT_EQ(r.reason, "bad_id") << id;
    EXPECT_TRUE(r.frames.empty()) << id;
  }
  EXPECT_EQ(fx.h.size("a"), 1u);  // bad input disturbs nothing
}
