// The DOM-free reader of flat JSON objects: what it takes it reads exactly as the full parser
// does, and every other shape is handed back (nullopt) for the full parser to answer.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rushcast/api/flat_json.hpp"

using namespace rushcast::api;
using kind = flat_member::kind;

TEST(FlatJson, ReadsABidInPlace) {
  auto o = flat_object::parse(R"( {"type":"bid", "auctionId" : "a1","bidAmount":1500,
                                   "userId":null,"x":true} )");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->size(), 5u);
  ASSERT_NE(o->find("type"), nullptr);
  EXPECT_EQ(o->find("type")->type, kind::string);
  EXPECT_EQ(o->find("type")->text, "bid");
  EXPECT_EQ(o->find("bidAmount")->type, kind::integer);
  EXPECT_EQ(o->find("bidAmount")->text, "1500");
  EXPECT_EQ(o->find("userId")->type, kind::null);
  EXPECT_EQ(o->find("x")->type, kind::boolean);
  EXPECT_EQ(o->find("missing"), nullptr);
  EXPECT_TRUE(flat_object::parse("{}"));
  EXPECT_EQ(flat_object::parse(R"({"n":-0})")->find("n")->text, "-0");
}

TEST(FlatJson, HandsEveryOtherShapeToTheFullParser) {
  const std::vector<std::string> not_flat = {
      "", " ", "[]", "1", "\"s\"", "null", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
      "{,}", "{\"a\":1}x", "{\"a\":1}{}", "{\"a\":{}}", "{\"a\":[1]}", "{\"a\":\"\\n\"}",
      "{\"a\\u0041\":1}", "{\"a\":\"caf\xc3\xa9\"}", "{\"a\":\"\xff\"}", "{\"a\":\"x\ty\"}",
      "{\"a\":1.5}", "{\"a\":1.0}", "{\"a\":1e3}", "{\"a\":1E3}", "{\"a\":-}", "{\"a\":+1}",
      "{\"a\":01}", "{\"a\":-01}", "{\"a\":1234567890123456789}", "{\"a\":tru}",
      "{\"a\":truex}", "{\"a\":nul}", "{\"a\":1,\"a\":2}", "{\"a\" 1}", "{a:1}", "{'a':1}",
      "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":0x10}",
      "{\"1\":1,\"2\":2,\"3\":3,\"4\":4,\"5\":5,\"6\":6,\"7\":7,\"8\":8,\"9\":9}"};
  for (const auto& t : not_flat) EXPECT_FALSE(flat_object::parse(t)) << t;
}

namespace {

// Checks that the full parser reads text as an object with the same members and values.
void expect_agrees_with_dom(const std::string& text, const flat_object& o) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << text;
  ASSERT_TRUE(j.is_object()) << text;
  ASSERT_EQ(j.size(), o.size()) << text;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const flat_member* m = o.find(it.key());
    ASSERT_NE(m, nullptr) << text;
    switch (m->type) {
      case kind::string:
        ASSERT_TRUE(it->is_string()) << text;
        EXPECT_EQ(it->get<std::string>(), m->text) << text;
        break;
      case kind::integer:
        ASSERT_TRUE(it->is_number_integer()) << text;
        // What read_amount hands parse_bid_amount on the DOM path: the value dumped.
        if (m->text != "-0") EXPECT_EQ(it->dump(), m->text) << text;
        break;
      case kind::boolean:
        ASSERT_TRUE(it->is_boolean()) << text;
        EXPECT_EQ(it->dump(), m->text) << text;
        break;
      case kind::null: EXPECT_TRUE(it->is_null()) << text; break;
    }
  }
}

}  // namespace

TEST(FlatJson, WhatItTakesTheFullParserReadsTheSame) {
  // Random edits of bid messages: whenever the flat reader takes one, the DOM must agree.
  const std::string seeds[] = {
      R"({"type":"bid","auctionId":"a1","bidAmount":1500})",
      R"({"userId":"u-1","auctionId":null,"bidAmount":"150","x":false})",
      R"( { "bidAmount" : -20 , "type" : "bid" } )"};
  const std::string alphabet = "{}[]\":,-+.eE0123456789 abtrufnl\\\t\n\x01\x7f\xc3";
  std::mt19937 rng(1234);
  int taken = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string t = seeds[i % 3];
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      std::size_t at = rng() % (t.size() + 1);
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: t.insert(t.begin() + static_cast<long>(at), c); break;
        case 1: if (at < t.size()) t.erase(at, 1); break;
        default: if (at < t.size()) t[at] = c; break;
      }
    }
    if (auto o = flat_object::parse(t)) {
      ++taken;
      expect_agrees_with_dom(t, *o);
      if (HasFailure()) return;
    }
  }
  EXPECT_GT(taken, 1000) << "the edits should leave many messages flat";
}
