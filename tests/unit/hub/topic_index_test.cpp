#include "rushcast/hub/topic_index.hpp"

#include <algorithm>
#include <memory>

#include <gtest/gtest.h>

#include "recording_subscriber.hpp"

using namespace rushcast::hub;
using rushcast::hub::test::recording_subscriber;

namespace {
std::vector<subscriber*> visit(topic_index& idx, const std::string& topic, std::uint64_t seq) {
  std::vector<subscriber*> out;
  idx.for_each(topic, seq, [&](subscriber& s) { out.push_back(&s); });
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST(TopicIndex, AddTwiceIsRejected) {
  topic_index idx;
  recording_subscriber a;
  EXPECT_TRUE(idx.add("t", &a, 1));
  EXPECT_FALSE(idx.add("t", &a, 5));
  EXPECT_EQ(idx.count("t"), 1u);
  EXPECT_TRUE(idx.contains("t", &a));
  EXPECT_FALSE(idx.contains("u", &a));
}

TEST(TopicIndex, ForEachSkipsEntriesThatStartLater) {
  topic_index idx;
  recording_subscriber a, b;
  idx.add("t", &a, 1);
  idx.add("t", &b, 10);
  EXPECT_EQ(visit(idx, "t", 9), std::vector<subscriber*>{&a});
  auto both = std::vector<subscriber*>{&a, &b};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(visit(idx, "t", 10), both);
  EXPECT_TRUE(visit(idx, "nobody", 10).empty());
}

TEST(TopicIndex, RemoveKeepsTheOthers) {
  topic_index idx;
  recording_subscriber a, b, c;
  idx.add("t", &a, 0);
  idx.add("t", &b, 0);
  idx.add("t", &c, 0);
  EXPECT_TRUE(idx.remove("t", &a));
  EXPECT_FALSE(idx.remove("t", &a));
  EXPECT_TRUE(idx.remove("t", &c));
  EXPECT_EQ(visit(idx, "t", 1), std::vector<subscriber*>{&b});
  EXPECT_TRUE(idx.remove("t", &b));
  EXPECT_EQ(idx.topic_count(), 0u);
  EXPECT_EQ(idx.count("t"), 0u);
}

TEST(TopicIndex, RemoveAllLeavesEveryTopic) {
  topic_index idx;
  recording_subscriber a, b;
  idx.add("x", &a, 0);
  idx.add("y", &a, 0);
  idx.add("y", &b, 0);
  EXPECT_EQ(idx.topics_of(&a), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(idx.remove_all(&a), 2u);
  EXPECT_EQ(idx.remove_all(&a), 0u);
  EXPECT_EQ(idx.topic_count(), 1u);
  EXPECT_EQ(visit(idx, "y", 0), std::vector<subscriber*>{&b});
  EXPECT_TRUE(idx.topics_of(&a).empty());
}

TEST(TopicIndex, PinnedSweepResumesWithoutSkipOrRepeat) {
  topic_index idx;
  std::vector<std::unique_ptr<recording_subscriber>> subs;
  for (int i = 0; i < 10; ++i) {
    subs.push_back(std::make_unique<recording_subscriber>());
    idx.add("t", subs.back().get(), 0);
  }
  std::vector<subscriber*> seen;
  auto record = [&](subscriber& s) { seen.push_back(&s); };
  idx.pin("t");
  std::size_t budget = 4;
  std::size_t pos = idx.sweep("t", 5, 0, budget, record);
  ASSERT_EQ(pos, 4u);
  EXPECT_EQ(budget, 0u);
  ASSERT_EQ(seen.size(), 4u);
  // Between runs: one visited and one unvisited subscriber leave, one new joins late.
  idx.remove("t", subs[1].get());
  idx.remove("t", subs[7].get());
  recording_subscriber late;
  idx.add("t", &late, 6);
  budget = 100;
  pos = idx.sweep("t", 5, pos, budget, record);
  EXPECT_EQ(pos, topic_index::npos);
  idx.unpin("t");

  std::vector<subscriber*> expected;
  for (int i = 0; i < 10; ++i)
    if (i != 7) expected.push_back(subs[i].get());
  std::sort(expected.begin(), expected.end());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, expected);  // 1 was visited before it left; 7 never; late starts after seq 5
  EXPECT_EQ(idx.count("t"), 9u);

  // After unpin the tombstones are gone and positions stay consistent for later removals.
  for (int i = 0; i < 10; ++i) idx.remove("t", subs[i].get());
  EXPECT_EQ(visit(idx, "t", 6), std::vector<subscriber*>{&late});
  idx.remove("t", &late);
  EXPECT_EQ(idx.topic_count(), 0u);
}

TEST(TopicIndex, SweepOfEmptyTopicEndsAtOnce) {
  topic_index idx;
  std::size_t budget = 3;
  idx.pin("none");
  EXPECT_EQ(idx.sweep("none", 1, 0, budget, [](subscriber&) { FAIL(); }), topic_index::npos);
  idx.unpin("none");
  EXPECT_EQ(idx.topic_count(), 0u);
}

TEST(TopicIndex, CallbackMayRemoveSubscribers) {
  topic_index idx;
  recording_subscriber a, b, c;
  idx.add("t", &a, 0);
  idx.add("t", &b, 0);
  idx.add("t", &c, 0);
  int calls = 0;
  idx.for_each("t", 1, [&](subscriber& s) {
    ++calls;
    idx.remove_all(&a);
    idx.remove_all(&b);
    idx.remove_all(&c);
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(idx.topic_count(), 0u);
}
