// core::string_map reads like std::map<std::string, std::string>, and clear() keeps memory,
// never entries.
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "rushcast/core/string_map.hpp"

using rushcast::core::string_map;

TEST(StringMap, IteratesInKeyOrderLikeAStdMap) {
  string_map m;
  std::map<std::string, std::string> want;
  for (const char* k : {"origin", "host", "content-type", "accept", "x-b", "x-a", "host"}) {
    m[k] = std::string(k) + "!";
    want[k] = std::string(k) + "!";
  }
  ASSERT_EQ(m.size(), want.size());
  auto it = want.begin();
  for (const auto& [k, v] : m) {
    EXPECT_EQ(k, it->first);
    EXPECT_EQ(v, it->second);
    ++it;
  }
  EXPECT_EQ(m, string_map(want));
}

TEST(StringMap, EmplaceKeepsTheFirstValueAndBracketsTheLast) {
  string_map m;
  EXPECT_TRUE(m.emplace("k", "first"));
  EXPECT_FALSE(m.emplace("k", "second"));
  EXPECT_EQ(m.at("k"), "first");
  m["k"] = "third";
  EXPECT_EQ(m.at("k"), "third");
  EXPECT_EQ(m.count("k"), 1u);
  EXPECT_EQ(m.get("missing"), nullptr);
  EXPECT_THROW(m.at("missing"), std::out_of_range);
}

TEST(StringMap, ClearedEntriesNeverReappear) {
  string_map m;
  m["origin"] = "https://shop.example";
  m["authorization"] = "Bearer secret";
  m["host"] = "x";
  m.clear();
  EXPECT_TRUE(m.empty());
  m["host"] = "y";
  EXPECT_EQ(m.size(), 1u);
  EXPECT_FALSE(m.contains("origin"));
  EXPECT_FALSE(m.contains("authorization"));
  EXPECT_EQ(m.at("host"), "y");
  std::size_t seen = 0;
  for (const auto& [k, v] : m) {
    EXPECT_EQ(k, "host");
    ++seen;
  }
  EXPECT_EQ(seen, 1u);
  // A new key takes a spare slot: its value starts empty, not with the slot's old value.
  EXPECT_EQ(m["origin"], "");
}

TEST(StringMap, EraseRemovesOnlyThatKey) {
  string_map m{{"a", "1"}, {"b", "2"}, {"c", "3"}};
  EXPECT_EQ(m.erase("b"), 1u);
  EXPECT_EQ(m.erase("b"), 0u);
  EXPECT_EQ(m, (string_map{{"a", "1"}, {"c", "3"}}));
  m["b"] = "4";
  EXPECT_EQ(m, (string_map{{"a", "1"}, {"b", "4"}, {"c", "3"}}));
}

TEST(StringMap, ACopyHoldsOnlyLiveEntries) {
  string_map m{{"a", "1"}, {"b", "2"}};
  m.clear();
  m["c"] = "3";
  string_map copy = m;
  EXPECT_EQ(copy.size(), 1u);
  EXPECT_EQ(copy, (string_map{{"c", "3"}}));
  string_map moved = std::move(copy);
  EXPECT_EQ(moved.at("c"), "3");
}
