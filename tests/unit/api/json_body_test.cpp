// Tests the DOM-free reader of the seckill body against the general parse: whatever text it
// accepts, both read the same two values; everything else is left to the general parse.
#include <gtest/gtest.h>

#include "rushcast/api/json_body.hpp"

using rushcast::api::optional_string;
using rushcast::api::parse_client_json;
using rushcast::api::read_two_flat_strings;

namespace {

// The general path's reading of the two members, or nullopt where it answers an error.
std::optional<std::array<std::string, 2>> general(std::string_view text) {
  auto j = parse_client_json(text);
  if (!j) return std::nullopt;
  auto u = optional_string(*j, "userId");
  auto s = optional_string(*j, "saleId");
  if (!u || !s) return std::nullopt;
  return std::array<std::string, 2>{*u, *s};
}

}  // namespace

TEST(FlatBodyReader, AcceptedTextReadsExactlyAsTheGeneralParser) {
  const char* accepted[] = {
      R"({"userId":"u1","saleId":"bench"})",
      R"({"userId":"u1"})",
      R"({})",
      " \t\r\n{ \"saleId\" : \"s\" , \"userId\" : \"a@b.c\" }\n",
      R"({"other":"x","userId":"u"})",
      R"({"userId":""})",
      R"({"userId":"has space and :,{}[]"})",
  };
  for (const char* t : accepted) {
    auto fast = read_two_flat_strings(t, "userId", "saleId");
    ASSERT_TRUE(fast) << t;
    auto slow = general(t);
    ASSERT_TRUE(slow) << t;
    EXPECT_EQ((*fast)[0], (*slow)[0]) << t;
    EXPECT_EQ((*fast)[1], (*slow)[1]) << t;
  }
}

TEST(FlatBodyReader, EverythingElseIsLeftToTheGeneralParser) {
  const char* refused[] = {
      "",
      "null",
      "[]",
      R"("userId")",
      R"({"userId":1})",
      R"({"userId":null})",
      R"({"userId":"a\"b"})",
      R"({"userId":"\u0041"})",
      "{\"userId\":\"caf\xc3\xa9\"}",
      "{\"userId\":\"a\tb\"}",
      R"({"userId":"a","userId":"b"})",
      R"({"userId":"a",})",
      R"({"userId":"a"} x)",
      R"({"userId":"a"}})",
      R"({"userId" "a"})",
      R"({"userId":"a")",
      R"({"u":{"x":"y"}})",
      R"({'userId':'a'})",
      R"({"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9","j":"10","k":"11","l":"12","m":"13","n":"14","o":"15","p":"16","q":"17"})",
  };
  for (const char* t : refused) EXPECT_FALSE(read_two_flat_strings(t, "userId", "saleId")) << t;
}
