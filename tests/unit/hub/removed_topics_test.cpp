#include "rushcast/hub/removed_topics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

using rushcast::hub::removed_topics;

TEST(RemovedTopics, RemembersEachRemovalExactlyWhileWithinCapacity) {
  removed_topics t(4);
  t.add(11, 5);
  t.add(22, 3);
  EXPECT_EQ(t.seq_of(11), 5u);
  EXPECT_EQ(t.seq_of(22), 3u);
  EXPECT_EQ(t.seq_of(33), 0u);  // never removed, nothing forgotten yet
  EXPECT_EQ(t.size(), 2u);
}

TEST(RemovedTopics, OldestRemovalFoldsIntoTheFloorWhenFull) {
  removed_topics t(2);
  t.add(1, 9);
  t.add(2, 4);
  t.add(3, 6);  // forgets 1 (seq 9)
  EXPECT_EQ(t.floor(), 9u);
  EXPECT_EQ(t.seq_of(1), 9u);   // through the floor: still resync for a resume before 9
  EXPECT_EQ(t.seq_of(2), 4u);   // still exact, below the floor
  EXPECT_EQ(t.seq_of(77), 9u);  // unknown topics get the floor
  EXPECT_EQ(t.size(), 2u);
}

TEST(RemovedTopics, SecondRemovalOfTheSameTopicKeepsTheHigherSeq) {
  removed_topics t(2);
  t.add(5, 10);
  t.add(5, 7);
  EXPECT_EQ(t.seq_of(5), 10u);
  t.add(5, 12);
  EXPECT_EQ(t.seq_of(5), 12u);
  EXPECT_EQ(t.size(), 1u);
}

TEST(RemovedTopics, ZeroCapacityPutsEveryRemovalInTheFloor) {
  removed_topics t(0);
  t.add(1, 3);
  t.add(2, 8);
  EXPECT_EQ(t.seq_of(1), 8u);
  EXPECT_EQ(t.seq_of(3), 8u);
}

TEST(RemovedTopics, CollidingHashesSurviveEvictionOfTheirNeighbours) {
  // Capacity 4 gives 8 index slots: hashes equal modulo 8 share a home slot and form one probe
  // cluster, so evicting the first must shift the others back without losing them.
  removed_topics t(4);
  t.add(8, 1);
  t.add(16, 2);
  t.add(24, 3);
  t.add(7, 4);   // home 7, wraps past the end of the index into the cluster
  t.add(15, 5);  // evicts 8
  EXPECT_EQ(t.seq_of(16), 2u);
  EXPECT_EQ(t.seq_of(24), 3u);
  EXPECT_EQ(t.seq_of(7), 4u);
  EXPECT_EQ(t.seq_of(15), 5u);
  EXPECT_EQ(t.seq_of(8), 1u);  // the floor
  t.add(31, 6);                 // evicts 16
  t.add(23, 7);                 // evicts 24
  EXPECT_EQ(t.seq_of(7), 4u);
  EXPECT_EQ(t.seq_of(15), 5u);
  EXPECT_EQ(t.seq_of(31), 6u);
  EXPECT_EQ(t.seq_of(23), 7u);
  EXPECT_EQ(t.floor(), 3u);
}

TEST(RemovedTopics, AgreesWithAPlainMapOverManyTurnsOfTheRing) {
  // The reference keeps the same FIFO with a map; small hashes force long probe clusters.
  constexpr std::size_t cap = 64;
  removed_topics t(cap);
  std::map<std::uint64_t, std::uint64_t> ref;
  std::vector<std::uint64_t> order;
  std::uint64_t floor = 0;
  std::mt19937_64 rng(42);
  for (std::uint64_t seq = 1; seq <= 20000; ++seq) {
    const std::uint64_t h = rng() % 300;
    if (auto it = ref.find(h); it != ref.end()) {
      it->second = std::max(it->second, seq);
    } else {
      if (order.size() == cap) {
        floor = std::max(floor, ref[order.front()]);
        ref.erase(order.front());
        order.erase(order.begin());
      }
      ref[h] = seq;
      order.push_back(h);
    }
    t.add(h, seq);
    for (std::uint64_t q = 0; q < 300; q += 7) {
      auto it = ref.find(q);
      ASSERT_EQ(t.seq_of(q), it == ref.end() ? floor : it->second) << "seq " << seq << " h " << q;
    }
  }
}
