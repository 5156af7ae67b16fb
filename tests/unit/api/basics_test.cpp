// The pure api helpers: error table, query decoding, JSON bodies, userId and topic rules.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rushcast/api/errc.hpp"
#include "rushcast/api/http_types.hpp"
#include "rushcast/api/json_body.hpp"
#include "rushcast/api/topics.hpp"

using namespace rushcast;
using namespace rushcast::api;

namespace {

std::string header_of(const response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

request json_request(std::string body, std::optional<std::string> content_type = "application/json") {
  request r;
  r.method = "POST";
  r.body = std::move(body);
  if (content_type) r.headers["content-type"] = *content_type;
  return r;
}

}  // namespace

TEST(Errc, EveryValueHasAStatusAndAName) {
  EXPECT_EQ(http_status(errc::bad_json), 400u);
  EXPECT_EQ(http_status(errc::unsupported_media_type), 415u);
  EXPECT_EQ(http_status(errc::unauthorized), 401u);
  EXPECT_EQ(http_status(errc::not_started), 403u);
  EXPECT_EQ(http_status(errc::not_found), 404u);
  EXPECT_EQ(http_status(errc::method_not_allowed), 405u);
  EXPECT_EQ(http_status(errc::duplicate), 409u);
  EXPECT_EQ(http_status(errc::ended), 410u);
  EXPECT_EQ(http_status(errc::payload_too_large), 413u);
  EXPECT_EQ(http_status(errc::rate_limited), 429u);
  EXPECT_EQ(http_status(errc::header_too_large), 431u);
  EXPECT_EQ(http_status(errc::internal), 500u);
  EXPECT_EQ(http_status(errc::over_capacity), 503u);
  EXPECT_EQ(error_name(errc::missing_user_id), "missing_user_id");
  EXPECT_EQ(error_name(errc::bid_too_low), "bid_too_low");
  for (int v = 1; v <= static_cast<int>(errc::internal); ++v) {
    auto e = static_cast<errc>(v);
    EXPECT_GE(http_status(e), 400u) << v;
    EXPECT_FALSE(error_name(e).empty()) << v;
    EXPECT_NE(make_error_code(e).message(), "unknown rushcast error") << v;
  }
}

TEST(Errc, IsAnErrorCategory) {
  boost::system::error_code ec = errc::forbidden;
  EXPECT_EQ(ec.category().name(), std::string("rushcast"));
  EXPECT_TRUE(ec == errc::forbidden);
  EXPECT_FALSE(ec == errc::not_found);
  EXPECT_FALSE(boost::system::error_code(errc::ok));
}

TEST(HttpTypes, ParseQueryDecodes) {
  auto q = parse_query("topics=sale%3Ademo,chat%3Aa&userId=a+b&empty=&flag&=x");
  EXPECT_EQ(q["topics"], "sale:demo,chat:a");
  EXPECT_EQ(q["userId"], "a b");
  EXPECT_EQ(q["empty"], "");
  EXPECT_EQ(q.count("flag"), 1u);
  EXPECT_EQ(q.size(), 4u);
}

TEST(HttpTypes, FirstOccurrenceOfAKeyWins) {
  auto q = parse_query("?userId=a&userId=b");
  EXPECT_EQ(q["userId"], "a");
}

TEST(HttpTypes, PercentDecodeKeepsMalformedEscapes) {
  EXPECT_EQ(percent_decode("a%20b"), "a b");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
  EXPECT_EQ(percent_decode("%2e%2E"), "..");
}

TEST(HttpTypes, RequestAccessors) {
  request r;
  r.headers["content-type"] = "application/json";
  r.query["userId"] = "u";
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_FALSE(r.header("origin"));
  EXPECT_EQ(r.param("userId"), "u");
  EXPECT_FALSE(r.param("token"));
  auto j = response::json(201, "{}");
  EXPECT_EQ(j.status, 201u);
  EXPECT_EQ(header_of(j, "Content-Type"), "application/json");
  auto t = response::text(200, "hi", "text/plain");
  EXPECT_EQ(header_of(t, "Content-Type"), "text/plain");
  EXPECT_EQ(t.body, "hi");
}

TEST(JsonBody, AcceptsJsonObjects) {
  auto j = parse_json_body(json_request(R"({"userId":"u"})"));
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["userId"], "u");
  EXPECT_TRUE(parse_json_body(json_request("{}", "Application/JSON; charset=utf-8")));
  EXPECT_TRUE(parse_json_body(json_request("{}", " application/json ")));
}

// A cross-site HTML form sends no JSON Content-Type (or none at all): never taken as JSON.
TEST(JsonBody, MissingContentTypeIs415) {
  auto j = parse_json_body(json_request(R"({"userId":"u"})", std::nullopt));
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error(), make_error_code(errc::unsupported_media_type));
}

TEST(JsonBody, WrongContentTypeIs415) {
  for (std::string ct : {"text/plain", "application/x-www-form-urlencoded", "application/jsonx",
                         "multipart/form-data; boundary=x", ""}) {
    auto j = parse_json_body(json_request("{}", ct));
    ASSERT_FALSE(j) << ct;
    EXPECT_EQ(j.error(), make_error_code(errc::unsupported_media_type)) << ct;
  }
}

TEST(JsonBody, MalformedOrNonObjectIsBadJson) {
  for (std::string body : {"", "{", "[]", "\"x\"", "42", "null", "{\"a\":1}x", "{'a':1}"}) {
    auto j = parse_json_body(json_request(body));
    ASSERT_FALSE(j) << body;
    EXPECT_EQ(j.error(), make_error_code(errc::bad_json)) << body;
  }
}

namespace {

// depth levels of alternating [ and {"a": ... }, closed properly.
std::string nested(std::size_t depth) {
  std::string open, close;
  for (std::size_t i = 0; i < depth; ++i) {
    if (i % 2 == 0) {
      open += "[";
      close.insert(0, "]");
    } else {
      open += "{\"a\":";
      close.insert(0, "}");
    }
  }
  return open + close;
}

}  // namespace

TEST(JsonDepth, CountsBracketsAndBracesUpToTheLimit) {
  EXPECT_TRUE(json_depth_within(nested(63)));
  EXPECT_TRUE(json_depth_within(nested(64)));
  EXPECT_FALSE(json_depth_within(nested(65)));
  EXPECT_TRUE(json_depth_within("{}", 1));
  EXPECT_FALSE(json_depth_within("{\"a\":[]}", 1));
  EXPECT_TRUE(json_depth_within("[][][]", 1));  // siblings do not add up
  EXPECT_TRUE(json_depth_within("", 0));
}

TEST(JsonDepth, IgnoresBracketsInsideStrings) {
  EXPECT_TRUE(json_depth_within(R"({"a":"[[[[{{{{"})", 1));
  // An escaped quote does not end the string, so the brackets after it are still inside.
  EXPECT_TRUE(json_depth_within(R"({"a":"\"[[[["})", 1));
  // An escaped backslash does end it: the brackets after the closing quote count.
  EXPECT_FALSE(json_depth_within(R"({"a":"\\",[[[[]]]]})", 4));
  EXPECT_TRUE(json_depth_within(R"({"a":"\\",[[[[]]]]})", 5));
}

TEST(JsonDepth, ClientJsonDeeperThanTheLimitIsBadJson) {
  std::string ok = "{\"ref\":" + nested(63) + "}";       // 64 levels
  std::string deep = "{\"ref\":" + nested(64) + "}";     // 65 levels
  EXPECT_TRUE(parse_client_json(ok));
  auto r = parse_client_json(deep);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::bad_json));
  // 100,000 levels, never closed: refused by the scan, nothing recursive runs.
  std::string huge = "{\"type\":\"ping\",\"ref\":" + std::string(100000, '[');
  EXPECT_FALSE(parse_client_json(huge));
  EXPECT_FALSE(parse_json_body(json_request(huge)));
}

TEST(JsonBody, ErrorResponseCarriesCodeMessageAndExtra) {
  auto r = error_response(errc::not_started, "wait", {{"startTime", 123}});
  EXPECT_EQ(r.status, 403u);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"], "not_started");
  EXPECT_EQ(j["message"], "wait");
  EXPECT_EQ(j["startTime"], 123);
  EXPECT_EQ(header_of(r, "Content-Type"), "application/json");
  // extra cannot overwrite the code.
  auto r2 = error_response(errc::duplicate, "again", {{"error", "x"}});
  EXPECT_EQ(nlohmann::json::parse(r2.body)["error"], "duplicate");
}

TEST(JsonBody, RateLimitedResponseHasRetryAfterSeconds) {
  auto r = rate_limited_response(1200, "user");
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(header_of(r, "Retry-After"), "2");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"], "rate_limited");
  EXPECT_EQ(j["retryAfterMs"], 1200);
  EXPECT_EQ(j["scope"], "user");
  EXPECT_EQ(header_of(rate_limited_response(1, "ip"), "Retry-After"), "1");
}

TEST(JsonBody, UserIdRule) {
  EXPECT_EQ(check_user_id("alice"), errc::ok);
  EXPECT_EQ(check_user_id("alice@example.com"), errc::ok);
  EXPECT_EQ(check_user_id("auth0:U-12_x.y"), errc::ok);
  EXPECT_EQ(check_user_id(""), errc::missing_user_id);
  EXPECT_EQ(check_user_id(std::string(120, 'a')), errc::ok);
  EXPECT_EQ(check_user_id(std::string(121, 'a')), errc::bad_user_id);
  EXPECT_EQ(check_user_id("Ünïcødé"), errc::bad_user_id);
  EXPECT_EQ(check_user_id("\xF0\x9F\x98\x80"), errc::bad_user_id);  // an emoji
  EXPECT_EQ(check_user_id("a b"), errc::bad_user_id);
  EXPECT_EQ(check_user_id("a/b"), errc::bad_user_id);
  EXPECT_EQ(check_user_id("a,b"), errc::bad_user_id);
  EXPECT_EQ(check_user_id("a\tb"), errc::bad_user_id);
  EXPECT_EQ(check_user_id(std::string("a\0b", 3)), errc::bad_user_id);
  EXPECT_EQ(check_user_id("a\x7f"), errc::bad_user_id);
}

// Whatever may buy may read its own result topic: the two rules cannot drift apart.
TEST(JsonBody, EveryValidUserIdMakesASubscribableUserTopic) {
  std::string all;
  for (int c = 1; c < 256; ++c) {
    std::string id(1, static_cast<char>(c));
    if (check_user_id(id) != errc::ok) continue;
    all += id;
    EXPECT_EQ(check_subscribe("user:" + id, id, false), errc::ok) << c;
  }
  EXPECT_EQ(all.size(), 26u + 26u + 10u + 5u);
  std::string longest(max_user_id_bytes, '@');
  EXPECT_EQ(check_user_id(longest), errc::ok);
  EXPECT_EQ(check_subscribe("user:" + longest, longest, true), errc::ok);
  EXPECT_EQ(check_subscribe("user:alice@example.com", "alice@example.com", false), errc::ok);
}

TEST(JsonBody, OptionalString) {
  auto j = nlohmann::json::parse(R"({"a":"x","b":null,"c":5})");
  EXPECT_EQ(*optional_string(j, "a"), "x");
  EXPECT_EQ(*optional_string(j, "b"), "");
  EXPECT_EQ(*optional_string(j, "missing"), "");
  EXPECT_FALSE(optional_string(j, "c"));
}

TEST(Topics, Syntax) {
  EXPECT_TRUE(valid_topic("sale:demo"));
  EXPECT_TRUE(valid_topic("chat:room-1.a_b"));
  EXPECT_TRUE(valid_topic(std::string(128, 'a')));
  EXPECT_FALSE(valid_topic(std::string(129, 'a')));
  EXPECT_FALSE(valid_topic(""));
  EXPECT_FALSE(valid_topic("a b"));
  EXPECT_FALSE(valid_topic("a/b"));
  EXPECT_FALSE(valid_topic("a,b"));
  EXPECT_FALSE(valid_topic("ä"));
  EXPECT_TRUE(valid_topic("user:alice@example.com"));
}

TEST(Topics, UserTopicOnlyForThatUser) {
  EXPECT_EQ(check_subscribe("user:alice", "alice", false), errc::ok);
  EXPECT_EQ(check_subscribe("user:alice", "bob", false), errc::forbidden);
  EXPECT_EQ(check_subscribe("user:alice", "", false), errc::forbidden);
  EXPECT_EQ(check_subscribe("user:alice", "alice", true), errc::ok);
  EXPECT_EQ(check_subscribe("user:alice", "bob", true), errc::forbidden);
  EXPECT_EQ(check_subscribe("user:alice", "", true), errc::unauthorized);
  EXPECT_EQ(check_subscribe("user:", "", false), errc::bad_request);
}

TEST(Topics, PublicTopicsForEveryone) {
  for (auto t : {"sale:demo", "auction:demo", "chat:lobby", "sys:stats", "news"})
    EXPECT_EQ(check_subscribe(t, "", false), errc::ok) << t;
  EXPECT_EQ(check_subscribe("bad topic", "u", false), errc::bad_request);
}

TEST(Topics, ClientsPublishOnlyOnChat) {
  EXPECT_EQ(check_client_publish("chat:lobby"), errc::ok);
  EXPECT_EQ(check_client_publish("chat:"), errc::forbidden);
  EXPECT_EQ(check_client_publish("sale:demo"), errc::forbidden);
  EXPECT_EQ(check_client_publish("user:alice"), errc::forbidden);
  EXPECT_EQ(check_client_publish("chat lobby"), errc::bad_request);
}

TEST(Topics, BackendMayNotPublishOnEngineNamespaces) {
  for (auto t : {"sale:demo", "auction:a1", "sys:stats"})
    EXPECT_EQ(check_backend_publish(t), errc::forbidden_topic) << t;
  for (auto t : {"news", "user:alice", "user:alice@example.com", "chat:lobby", "sales", "system"})
    EXPECT_EQ(check_backend_publish(t), errc::ok) << t;
  EXPECT_EQ(check_backend_publish("bad topic"), errc::bad_request);
  EXPECT_EQ(http_status(errc::forbidden_topic), 403u);
  EXPECT_EQ(error_name(errc::forbidden_topic), "forbidden_topic");
}

TEST(Topics, EventNames) {
  EXPECT_TRUE(valid_event_name("message"));
  EXPECT_TRUE(valid_event_name("price.update-2_x"));
  EXPECT_FALSE(valid_event_name(""));
  EXPECT_FALSE(valid_event_name(std::string(65, 'a')));
  EXPECT_FALSE(valid_event_name("a:b"));
  EXPECT_FALSE(valid_event_name("a@b"));
  EXPECT_FALSE(valid_event_name("a\nb"));
}

TEST(Topics, SplitDropsEmptyEntries) {
  EXPECT_EQ(split_topics("a,b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(split_topics(",a,,b,"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(split_topics("").empty());
}
