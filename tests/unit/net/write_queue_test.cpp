// write_queue: FIFO order, byte cap, conflation of state frames, batching bounds.
#include <gtest/gtest.h>

#include "rushcast/net/write_queue.hpp"

using rushcast::hub::frame;
using rushcast::hub::frame_ptr;
using rushcast::net::write_queue;

namespace {

frame_ptr mk(std::string topic, std::string name, bool state, std::string tag) {
  auto f = std::make_shared<frame>();
  f->topic = std::move(topic);
  f->name = std::move(name);
  f->state = state;
  f->sse = std::move(tag);
  return f;
}

std::vector<std::string> drain(write_queue& q) {
  std::vector<frame_ptr> out;
  while (q.take_batch(out) > 0) {
  }
  std::vector<std::string> tags;
  for (auto& f : out) tags.push_back(f->sse);
  return tags;
}

}  // namespace

TEST(WriteQueue, ReportsEmptyToNonEmptyTransitionOnly) {
  write_queue q(1000);
  EXPECT_TRUE(q.push(mk("t", "m", false, "a"), 10).was_empty);
  EXPECT_FALSE(q.push(mk("t", "m", false, "b"), 10).was_empty);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.bytes(), 20u);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_TRUE(q.push(mk("t", "m", false, "c"), 10).was_empty);
}

TEST(WriteQueue, RefusesFrameOverCapAndKeepsEarlierOnes) {
  write_queue q(25);
  EXPECT_FALSE(q.push(mk("t", "m", false, "a"), 10).over_cap);
  EXPECT_FALSE(q.push(mk("t", "m", false, "b"), 10).over_cap);
  auto r = q.push(mk("t", "m", false, "c"), 10);
  EXPECT_TRUE(r.over_cap);
  EXPECT_EQ(q.bytes(), 20u);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"a", "b"}));
}

TEST(WriteQueue, OneFrameAlwaysFitsAnEmptyQueue) {
  write_queue q(5);
  EXPECT_FALSE(q.push(mk("t", "m", false, "big"), 100).over_cap);
  EXPECT_TRUE(q.push(mk("t", "m", false, "next"), 1).over_cap);
}

TEST(WriteQueue, StateFrameReplacesOlderQueuedOneAtTheTail) {
  write_queue q(1000);
  q.push(mk("sale:a", "stock", true, "s1"), 10);
  q.push(mk("sale:a", "message", false, "m1"), 10);
  auto r = q.push(mk("sale:a", "stock", true, "s2"), 12);
  EXPECT_TRUE(r.conflated);
  EXPECT_FALSE(r.was_empty);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.bytes(), 22u);
  // The newer value goes after the message so ids stay in order for Last-Event-ID.
  EXPECT_EQ(drain(q), (std::vector<std::string>{"m1", "s2"}));
}

TEST(WriteQueue, ConflationKeysOnTopicAndName) {
  write_queue q(1000);
  q.push(mk("sale:a", "stock", true, "a1"), 1);
  q.push(mk("sale:b", "stock", true, "b1"), 1);
  q.push(mk("sale:a", "countdown", true, "c1"), 1);
  EXPECT_FALSE(q.push(mk("sale:b", "stock", false, "b-nonstate"), 1).conflated);
  EXPECT_TRUE(q.push(mk("sale:a", "stock", true, "a2"), 1).conflated);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"b1", "c1", "b-nonstate", "a2"}));
}

TEST(WriteQueue, NonStateFramesAreNeverDropped) {
  write_queue q(1000);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(q.push(mk("chat:x", "message", false, "m"), 1).conflated);
  EXPECT_EQ(q.size(), 5u);
}

TEST(WriteQueue, FrameAlreadyTakenForWritingIsNotConflated) {
  write_queue q(1000);
  q.push(mk("sale:a", "stock", true, "s1"), 10);
  std::vector<frame_ptr> out;
  EXPECT_EQ(q.take_batch(out), 1u);
  auto r = q.push(mk("sale:a", "stock", true, "s2"), 10);
  EXPECT_FALSE(r.conflated);
  EXPECT_TRUE(r.was_empty);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"s2"}));
}

TEST(WriteQueue, ConflationLetsAStateUpdateInAtTheCap) {
  write_queue q(20);
  q.push(mk("sale:a", "stock", true, "s1"), 10);
  q.push(mk("sale:a", "message", false, "m"), 10);
  EXPECT_FALSE(q.push(mk("sale:a", "stock", true, "s2"), 10).over_cap);
  EXPECT_TRUE(q.push(mk("sale:a", "message", false, "m2"), 10).over_cap);
}

TEST(WriteQueue, BatchHonoursBufferAndByteBounds) {
  write_queue q(1 << 20);
  for (int i = 0; i < 100; ++i) q.push(mk("t", "m", false, std::to_string(i)), 1000);
  std::vector<frame_ptr> out;
  EXPECT_EQ(q.take_batch(out, 64, 1 << 20), 64u);
  out.clear();
  EXPECT_EQ(q.take_batch(out, 64, 10'000), 10u);
  EXPECT_EQ(out.front()->sse, "64");
  out.clear();
  // A single frame larger than max_bytes still goes out alone.
  write_queue big(1 << 20);
  big.push(mk("t", "m", false, "huge"), 100'000);
  big.push(mk("t", "m", false, "small"), 10);
  EXPECT_EQ(big.take_batch(out, 64, 64 * 1024), 1u);
  EXPECT_EQ(out.front()->sse, "huge");
}

TEST(WriteQueue, ClearEmptiesAndForgetsStatePositions) {
  write_queue q(1000);
  q.push(mk("sale:a", "stock", true, "s1"), 10);
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  auto r = q.push(mk("sale:a", "stock", true, "s2"), 10);
  EXPECT_FALSE(r.conflated);
  EXPECT_TRUE(r.was_empty);
}

TEST(WriteQueue, HoldsNoStorageOnceDrained) {
  write_queue q(1 << 20);
  EXPECT_FALSE(q.holds_storage());
  for (int i = 0; i < 20; ++i) q.push(mk("sale:a", i % 2 ? "stock" : "m", i % 2 == 1, "x"), 10);
  EXPECT_TRUE(q.holds_storage());
  drain(q);
  EXPECT_FALSE(q.holds_storage());
  q.push(mk("t", "m", false, "y"), 10);
  q.clear();
  EXPECT_FALSE(q.holds_storage());
}

TEST(WriteQueue, LongBacklogKeepsOrderAndConflationAcrossCompaction) {
  // Never fully drained: the taken prefix is dropped from storage while positions stay valid.
  write_queue q(1 << 20);
  std::vector<std::string> got;
  int next = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 10; ++i) q.push(mk("t", "m", false, std::to_string(next++)), 10);
    q.push(mk("sale:a", "stock", true, "s" + std::to_string(round)), 10);
    std::vector<frame_ptr> out;
    q.take_batch(out, 8);
    for (auto& f : out) got.push_back(f->sse);
  }
  auto rest = drain(q);
  got.insert(got.end(), rest.begin(), rest.end());
  std::vector<std::string> plain;
  std::vector<std::string> states;
  for (auto& t : got) (t[0] == 's' ? states : plain).push_back(t);
  ASSERT_EQ(plain.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(plain[i], std::to_string(i));
  // Only the newest stock value is still queued at the end, and it comes last.
  EXPECT_EQ(got.back(), "s49");
  EXPECT_LT(states.size(), 50u);
  EXPECT_FALSE(q.holds_storage());
}
