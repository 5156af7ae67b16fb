// api::responder (a std::function<void(response)> without allocations for small callables) and
// the router's finishing step on late answers: headers in order, the second listed origin,
// HEAD on an error.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rushcast/api/json_body.hpp"
#include "rushcast/api/router.hpp"
#include "test_context.hpp"

using namespace rushcast;
using namespace rushcast::api;

namespace {

std::vector<std::pair<std::string, std::string>> headers_of(const response& r) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : r.headers) out.emplace_back(k, v);
  return out;
}

using test::make_request;
request make(std::string method, std::string path) {
  return make_request(std::move(method), std::move(path));
}

}  // namespace

TEST(Responder, CopiesAndMovesKeepTheCallable) {
  int calls = 0;
  responder a = [&calls](response) { ++calls; };
  responder b = a;
  responder c = std::move(a);
  EXPECT_FALSE(a);  // NOLINT: a moved-from responder is empty, as documented
  b(response{});
  c(response{});
  EXPECT_EQ(calls, 2);
}

TEST(Responder, ALargeCallableIsHeldToo) {
  // Larger than the inline buffer: held on the heap, copied deeply, freed once.
  auto big = std::make_shared<std::string>(std::string(100, 'x'));
  std::string seen;
  {
    std::array<char, 128> pad{};
    responder r = [big, pad, &seen](response res) { seen = *big + res.body + pad[0]; };
    responder copy = r;
    r = responder{};
    copy(response::json(200, "!"));
    EXPECT_EQ(big.use_count(), 2);
  }
  EXPECT_EQ(seen, std::string(100, 'x') + "!" + '\0');
  EXPECT_EQ(big.use_count(), 1);
}

TEST(Responder, StepsRunBeforeTheCallableLatestFirst) {
  std::vector<std::string> order;
  responder r = [&order](response res) { order.push_back("target:" + res.body); };
  static std::vector<std::string>* log;
  log = &order;
  r.add_step([](response& res, const void*, std::uintptr_t) {
    log->push_back("first");
    res.body += "1";
  }, nullptr, 0);
  r.add_step([](response& res, const void*, std::uintptr_t) {
    log->push_back("second");
    res.body += "2";
  }, nullptr, 0);
  responder copy = r;
  copy(response{});
  EXPECT_EQ(order, (std::vector<std::string>{"second", "first", "target:21"}));
}

TEST(Router, LateAnswerForTheSecondListedOriginCarriesItsHeadersInOrder) {
  config::config c;
  c.cors.allow_origins = {"https://a.example", "https://shop.example"};
  test::api_fixture f(c);
  router rt(f.ctx);
  responder saved;
  rt.add("POST", "/later", [&](const request&, responder respond) { saved = std::move(respond); });
  auto req = make("POST", "/later");
  req.headers["origin"] = "https://shop.example";
  std::optional<response> out;
  rt.dispatch(req, [&](response r) { out = std::move(r); });
  req.headers["origin"] = "https://evil.example";  // the request may change or die meanwhile
  ASSERT_FALSE(out);
  saved(rate_limited_response(1500, "user"));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 429u);
  EXPECT_EQ(headers_of(*out), (std::vector<std::pair<std::string, std::string>>{
                                  {"Content-Type", "application/json"},
                                  {"Retry-After", "2"},
                                  {"Access-Control-Allow-Origin", "https://shop.example"},
                                  {"Vary", "Origin"}}));
}

TEST(Router, HeadErrorAnswerKeepsCorsAndDropsTheBody) {
  config::config c;
  c.cors.allow_origins = {"https://shop.example"};
  test::api_fixture f(c);
  router rt(f.ctx);
  auto req = make("HEAD", "/nothing");
  req.headers["origin"] = "https://other.example";
  std::optional<response> out;
  rt.dispatch(req, [&](response r) { out = std::move(r); });
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 404u);
  EXPECT_TRUE(out->body.empty());
  ASSERT_TRUE(out->head_length);
  EXPECT_EQ(*out->head_length, error_response(errc::not_found, "no such resource").body.size());
  EXPECT_EQ(headers_of(*out), (std::vector<std::pair<std::string, std::string>>{
                                  {"Content-Type", "application/json"}, {"Vary", "Origin"}}));
}
