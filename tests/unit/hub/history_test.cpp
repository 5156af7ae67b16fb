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

// Idle topics (issue 17): a topic with no subscriber and nothing younger than max_age_ms goes.
namespace {
const auto nobody = [](const std::string&) { return false; };
std::size_t sweep(fixture& fx, std::size_t max_topics = 1000,
                  std::function<bool(const std::string&)> in_use = nobody) {
  bool more = false;
  return fx.h.sweep(fx.now, max_topics, in_use, more);
}
}  // namespace

TEST(HistorySweep, TopicWithOnlyExpiredEventsAndNoSubscriberIsRemoved) {
  fixture fx(100, 5000);
  fx.add("user:a");
  fx.add("user:a");
  EXPECT_EQ(fx.h.topic_count(), 1u);
  fx.now += 5000;  // not older than max_age yet
  EXPECT_EQ(sweep(fx), 0u);
  EXPECT_EQ(fx.h.size("user:a"), 2u);
  fx.now += 1;
  EXPECT_EQ(sweep(fx), 1u);
  EXPECT_EQ(fx.h.topic_count(), 0u);
  EXPECT_EQ(fx.h.event_count(), 0u);
  EXPECT_EQ(fx.h.removed_count(), 1u);
}

TEST(HistorySweep, TopicWithLiveHistoryIsKept) {
  fixture fx(100, 5000);
  fx.add("old");   // at 1000
  fx.now = 4000;
  fx.add("live");  // at 4000
  fx.add("old2");  // at 4000
  fx.now = 6500;   // "old" expired, the others not
  EXPECT_EQ(sweep(fx), 1u);
  EXPECT_EQ(fx.h.topic_count(), 2u);
  EXPECT_EQ(fx.h.size("live"), 1u);
  EXPECT_EQ(fx.h.size("old2"), 1u);
}

TEST(HistorySweep, TopicWithASubscriberIsKeptTrimmedAndRemovedOnRelease) {
  fixture fx(100, 5000);
  fx.add("user:a");
  fx.now += 6000;
  EXPECT_EQ(sweep(fx, 1000, [](const std::string& t) { return t == "user:a"; }), 0u);
  EXPECT_EQ(fx.h.topic_count(), 1u);
  EXPECT_EQ(fx.h.size("user:a"), 0u);  // trimmed on the timer, not on use
  EXPECT_EQ(sweep(fx), 0u);            // no longer in the sweep's walk...
  fx.h.release("user:a");              // ...its last subscriber leaving removes it
  EXPECT_EQ(fx.h.topic_count(), 0u);
}

TEST(HistorySweep, ReleaseKeepsATopicWithEvents) {
  fixture fx(100, 5000);
  fx.add("user:a");
  fx.h.release("user:a");
  EXPECT_EQ(fx.h.topic_count(), 1u);
  EXPECT_EQ(fx.h.size("user:a"), 1u);
}

TEST(HistorySweep, StopsAtItsBoundAndSaysSo) {
  fixture fx(100, 5000);
  for (int i = 0; i < 10; ++i) fx.add("t" + std::to_string(i));
  fx.now += 6000;
  bool more = false;
  EXPECT_EQ(fx.h.sweep(fx.now, 4, nobody, more), 4u);
  EXPECT_TRUE(more);
  EXPECT_EQ(fx.h.sweep(fx.now, 100, nobody, more), 6u);
  EXPECT_FALSE(more);
  EXPECT_EQ(fx.h.topic_count(), 0u);
}

TEST(HistorySweep, AppendMovesATopicBehindOlderOnes) {
  fixture fx(100, 5000);
  fx.add("a");  // at 1000
  fx.now = 2000;
  fx.add("b");
  fx.now = 3000;
  fx.add("a");  // "a" is now the youngest; "b" first in line
  fx.now = 7500;
  EXPECT_EQ(sweep(fx), 1u);  // "b" (2000) expired; "a" keeps 3000
  EXPECT_EQ(fx.h.size("a"), 1u);
  EXPECT_EQ(fx.h.size("b"), 0u);
  EXPECT_EQ(fx.h.topic_count(), 1u);
}

TEST(HistorySweep, ResumeAcrossARemovedTopicIsTooOld) {
  fixture fx(100, 5000);
  fx.add("sale:1");                     // 1
  const auto missed = fx.add("user:a");  // 2
  fx.now += 6000;
  fx.add("sale:1");  // 3
  EXPECT_EQ(sweep(fx), 1u);
  ASSERT_EQ(fx.h.topic_count(), 1u);
  // The client saw 1 and missed user:a's 2, which nobody keeps any more: resync, not silence.
  auto gap = fx.h.since({"user:a"}, "E-1");
  EXPECT_TRUE(gap.resync);
  EXPECT_EQ(gap.reason, "too_old");
  // A client that saw 2 missed nothing of user:a.
  EXPECT_FALSE(fx.h.since({"user:a"}, fx.h.make_id(missed)).resync);
  // Published again: the old gap stays a gap, the new event is replayed after it.
  fx.add("user:a");  // 4
  EXPECT_EQ(fx.h.since({"user:a"}, "E-1").reason, "too_old");
  EXPECT_EQ(seqs(fx.h.since({"user:a"}, "E-2")), (std::vector<std::uint64_t>{4}));
  // A topic that never had an event has no gap.
  EXPECT_FALSE(fx.h.since({"user:never"}, "E-1").resync);
}

TEST(HistorySweep, ForgottenRemovalsStillGiveResyncThroughTheFloor) {
  history_cfg cfg{100, 5000};
  cfg.max_removed_topics = 2;
  std::int64_t now = 1000;
  history h(cfg, "E", [&now] { return now; });
  for (std::uint64_t seq = 1; seq <= 5; ++seq)
    h.append(make_frame(h.make_id(seq), seq, "t" + std::to_string(seq), "m", "{}", false));
  now += 6000;
  bool more = false;
  EXPECT_EQ(h.sweep(now, 100, nobody, more), 5u);
  // t1..t3 are no longer remembered one by one: a resume from before them errs towards resync.
  EXPECT_EQ(h.since({"t1"}, "E-0").reason, "too_old");
  EXPECT_EQ(h.since({"t5"}, "E-4").reason, "too_old");  // remembered: 5 was missed
  EXPECT_FALSE(h.since({"t4"}, "E-4").resync);            // remembered: nothing missed
  EXPECT_FALSE(h.since({"t1"}, "E-3").resync);            // after the floor: nothing missed
}

// The ring's front moves and compacts as events are trimmed: whatever the count, it keeps
// exactly the newest max_events, in order, and says too_old for an id behind them.
TEST(History, LongRunOfOneTopicKeepsExactlyTheNewestInOrder) {
  fixture fx(50);
  for (int i = 0; i < 1000; ++i) {
    fx.add("a");
    fx.add("b");  // interleaved, so a's seqs are not contiguous
  }
  EXPECT_EQ(fx.h.size("a"), 50u);
  EXPECT_EQ(fx.h.event_count(), 100u);
  auto r = fx.h.since({"a"}, "E-1950");
  EXPECT_FALSE(r.resync);
  std::vector<std::uint64_t> want;
  for (std::uint64_t s = 1951; s <= 2000; s += 2) want.push_back(s);
  EXPECT_EQ(seqs(r), want);
  EXPECT_TRUE(fx.h.since({"a"}, "E-1800").resync);
}

TEST(History, AnEventKeptUnencodedReplaysTheBytesOfOneEncodedAtPublish) {
  fixture fx;
  fx.h.append_unencoded("user:u1", 1, "result", R"({"result":"success","stock":3})", false);
  auto r = fx.h.since({"user:u1"}, "E-0");
  ASSERT_EQ(r.frames.size(), 1u);
  auto want = make_frame("E-1", 1, "user:u1", "result", R"({"result":"success","stock":3})",
                         false);
  EXPECT_EQ(r.frames[0]->sse, want->sse);
  EXPECT_EQ(r.frames[0]->ws_frame, want->ws_frame);
  EXPECT_EQ(r.frames[0]->id, "E-1");
  EXPECT_EQ(r.frames[0]->topic, "user:u1");
  // Encoded once: a second replay shares the same frame.
  auto again = fx.h.since({"user:u1"}, "E-0");
  ASSERT_EQ(again.frames.size(), 1u);
  EXPECT_EQ(again.frames[0], r.frames[0]);
}

TEST(History, UnencodedAndEncodedEventsOfATopicReplayInSeqOrderAndAgeOutAlike) {
  fixture fx(100, 1000);
  fx.add("t");                                          // 1
  fx.h.append_unencoded("t", 2, "m", R"({"n":2})", false);
  fx.seq = 2;
  fx.add("t");                                          // 3
  EXPECT_EQ(seqs(fx.h.since({"t"}, "E-0")), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(fx.h.size("t"), 3u);
  fx.now += 2000;
  bool more = false;
  EXPECT_EQ(fx.h.sweep(fx.now, 10, nullptr, more), 1u);
  EXPECT_EQ(fx.h.topic_count(), 0u);
  // Its removal is remembered: a resume from before the last event is a gap.
  EXPECT_TRUE(fx.h.since({"t"}, "E-2").resync);
}

TEST(History, SweepWalksTopicsOldestFirstAfterReordering) {
  fixture fx(100, 1000);
  fx.add("a");  // 1 at 1000
  fx.now = 1500;
  fx.add("b");  // 2 at 1500
  fx.now = 1800;
  fx.add("a");  // 3 at 1800: a is now the newest
  fx.now = 2600;  // b (1500) is older than 1000 ms, a (1800) is not
  bool more = false;
  EXPECT_EQ(fx.h.sweep(fx.now, 10, nullptr, more), 1u);
  EXPECT_EQ(fx.h.size("b"), 0u);
  EXPECT_EQ(fx.h.topic_count(), 1u);
  fx.now = 3000;
  EXPECT_EQ(fx.h.sweep(fx.now, 10, nullptr, more), 1u);
  EXPECT_EQ(fx.h.topic_count(), 0u);
}
