// Router matching, CORS, 404/405, and the core routes (publish, health, metrics, static files).
#include <filesystem>
#include <fstream>
#include <optional>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rushcast/api/core_routes.hpp"
#include "rushcast/api/router.hpp"
#include "test_context.hpp"

using namespace rushcast;
using namespace rushcast::api;

namespace {

using test::make_request;
request make(std::string method, std::string path) {
  return make_request(std::move(method), std::move(path));
}

// Dispatches and returns the answer, which these handlers give synchronously.
response run(const router& rt, const request& req) {
  std::optional<response> out;
  int calls = 0;
  rt.dispatch(req, [&](response r) {
    ++calls;
    out = std::move(r);
  });
  EXPECT_EQ(calls, 1);
  return out.value_or(response{});
}

std::string header_of(const response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

handler answer(std::string body) {
  return [body](const request&, responder respond) { respond(response::json(200, body)); };
}

}  // namespace

TEST(Router, ExactRouteBeatsPrefixAndLongestPrefixWins) {
  test::api_fixture f;
  router rt(f.ctx);
  rt.add_prefix("GET", "/api/", answer("short"));
  rt.add_prefix("GET", "/api/sales/", answer("long"));
  rt.add("GET", "/api/sales/x", answer("exact"));
  EXPECT_EQ(run(rt, make("GET", "/api/sales/x")).body, "exact");
  EXPECT_EQ(run(rt, make("GET", "/api/sales/y")).body, "long");
  EXPECT_EQ(run(rt, make("GET", "/api/other")).body, "short");
}

TEST(Router, UnknownPathIs404Json) {
  test::api_fixture f;
  router rt(f.ctx);
  rt.add("GET", "/a", answer("a"));
  auto r = run(rt, make("GET", "/b"));
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "not_found");
}

TEST(Router, WrongMethodIs405WithAllow) {
  test::api_fixture f;
  router rt(f.ctx);
  rt.add("POST", "/api/seckill", answer("ok"));
  auto r = run(rt, make("GET", "/api/seckill"));
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "method_not_allowed");
  EXPECT_NE(header_of(r, "Allow"), "");
}

TEST(Router, HeadIsGetWithoutBody) {
  test::api_fixture f;
  router rt(f.ctx);
  rt.add("GET", "/a", answer("{\"x\":1}"));
  auto r = run(rt, make("HEAD", "/a"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.head_length, 7u);  // the GET's Content-Length, not 0
  // Errors too: a HEAD answer never carries a body, whatever its status.
  auto missing = run(rt, make("HEAD", "/nothing"));
  EXPECT_EQ(missing.status, 404u);
  EXPECT_TRUE(missing.body.empty());
  EXPECT_GT(missing.head_length.value_or(0), 0u);
  EXPECT_FALSE(run(rt, make("GET", "/a")).head_length);
}

TEST(Router, PreflightWithWildcardOrigin) {
  test::api_fixture f;
  router rt(f.ctx);
  auto req = make("OPTIONS", "/api/seckill");
  req.headers["origin"] = "https://shop.example";
  auto r = run(rt, req);
  EXPECT_EQ(r.status, 204u);
  EXPECT_EQ(header_of(r, "Access-Control-Allow-Origin"), "*");
  EXPECT_NE(header_of(r, "Access-Control-Allow-Methods").find("POST"), std::string::npos);
  EXPECT_NE(header_of(r, "Access-Control-Allow-Headers").find("Last-Event-ID"), std::string::npos);
  EXPECT_NE(header_of(r, "Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
  // A browser retrying a purchase sends its Idempotency-Key cross-origin too.
  EXPECT_NE(header_of(r, "Access-Control-Allow-Headers").find("Idempotency-Key"), std::string::npos);
  EXPECT_EQ(header_of(r, "Vary"), "Origin");
}

TEST(Router, EveryCorsAnswerVariesByOrigin) {
  test::api_fixture f;  // allow_origins ["*"]
  router rt(f.ctx);
  rt.add("GET", "/a", answer("{}"));
  for (auto* path : {"/a", "/nothing"}) {
    auto r = run(rt, make("GET", path));
    EXPECT_EQ(header_of(r, "Access-Control-Allow-Origin"), "*") << path;
    EXPECT_EQ(header_of(r, "Vary"), "Origin") << path;
  }
}

TEST(Router, ListedOriginIsEchoedAndOthersGetNone) {
  config::config c;
  c.cors.allow_origins = {"https://shop.example"};
  test::api_fixture f(c);
  router rt(f.ctx);
  rt.add("GET", "/a", answer("{}"));
  auto req = make("GET", "/a");
  req.headers["origin"] = "https://shop.example";
  auto r = run(rt, req);
  EXPECT_EQ(header_of(r, "Access-Control-Allow-Origin"), "https://shop.example");
  EXPECT_EQ(header_of(r, "Vary"), "Origin");
  req.headers["origin"] = "https://evil.example";
  EXPECT_EQ(header_of(run(rt, req), "Access-Control-Allow-Origin"), "");
  auto pre = make("OPTIONS", "/a");
  pre.headers["origin"] = "https://evil.example";
  EXPECT_EQ(header_of(run(rt, pre), "Access-Control-Allow-Origin"), "");
}

TEST(Router, CorsHeadersOnErrorsAndLateAnswers) {
  test::api_fixture f;
  router rt(f.ctx);
  responder saved;
  rt.add("POST", "/later", [&](const request&, responder respond) { saved = std::move(respond); });
  EXPECT_EQ(header_of(run(rt, make("GET", "/nothing")), "Access-Control-Allow-Origin"), "*");
  std::optional<response> out;
  rt.dispatch(make("POST", "/later"), [&](response r) { out = std::move(r); });
  ASSERT_FALSE(out);
  saved(response::json(200, "{}"));  // as an engine strand would, later
  ASSERT_TRUE(out);
  EXPECT_EQ(header_of(*out, "Access-Control-Allow-Origin"), "*");
}

TEST(Router, CountsRequests) {
  test::api_fixture f;
  router rt(f.ctx);
  run(rt, make("GET", "/x"));
  run(rt, make("OPTIONS", "/x"));
  EXPECT_EQ(f.metrics.http_requests.load(), 2u);
}

class CoreRoutes : public ::testing::Test {
protected:
  test::api_fixture f{[] {
    config::config c;
    c.auth.publish_key = "pk";
    c.static_dir = (std::filesystem::temp_directory_path() /
                    ("rushcast-static-" + std::to_string(::getpid())))
                       .string();
    return c;
  }()};
  router rt{f.ctx};
  void SetUp() override {
    register_core_routes(rt, f.ctx);
    std::filesystem::create_directories(f.cfg.static_dir + "/js");
    std::ofstream(f.cfg.static_dir + "/index.html") << "<html>demo</html>";
    std::ofstream(f.cfg.static_dir + "/js/app.js") << "console.log(1)";
  }
  void TearDown() override { std::filesystem::remove_all(f.cfg.static_dir); }

  request publish(std::string body, std::optional<std::string> authz = "Bearer pk") {
    auto r = make("POST", "/api/publish");
    r.headers["content-type"] = "application/json";
    if (authz) r.headers["authorization"] = *authz;
    r.body = std::move(body);
    return r;
  }
};

TEST_F(CoreRoutes, HealthAndReadiness) {
  auto h = run(rt, make("GET", "/healthz"));
  EXPECT_EQ(h.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(h.body)["status"], "ok");
  EXPECT_EQ(run(rt, make("GET", "/readyz")).status, 503u);
  f.ctx.ready = true;
  EXPECT_EQ(run(rt, make("GET", "/readyz")).status, 200u);
}

TEST_F(CoreRoutes, TimeIsServerClock) {
  auto before = now_ms();
  auto r = run(rt, make("GET", "/time"));
  auto t = nlohmann::json::parse(r.body)["serverTime"].get<std::int64_t>();
  EXPECT_GE(t, before);
  EXPECT_LE(t, now_ms());
}

TEST_F(CoreRoutes, MetricsArePrometheusText) {
  auto r = run(rt, make("GET", "/metrics"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(header_of(r, "Content-Type").find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_EQ(r.body, f.metrics.render());
}

TEST_F(CoreRoutes, PublishNeedsTheKey) {
  auto none = run(rt, publish(R"({"topic":"news","data":{}})", std::nullopt));
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(nlohmann::json::parse(none.body)["error"], "unauthorized");
  auto wrong = run(rt, publish(R"({"topic":"news","data":{}})", "Bearer nope"));
  EXPECT_EQ(wrong.status, 403u);
  EXPECT_EQ(nlohmann::json::parse(wrong.body)["error"], "forbidden");
  EXPECT_EQ(f.hub.last_seq(), 0u);
}

TEST_F(CoreRoutes, PublishReachesTheHub) {
  auto mark = f.marker("news");
  auto r = run(rt, publish(R"({"topic":"news","event":"flash","data":{"x":1}})"));
  ASSERT_EQ(r.status, 200u) << r.body;
  auto id = nlohmann::json::parse(r.body)["id"].get<std::string>();
  auto frames = f.since("news", mark);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0]->id, id);
  EXPECT_EQ(frames[0]->name, "flash");
  EXPECT_EQ(nlohmann::json::parse(frames[0]->ws_payload())["x"], 1);
}

TEST_F(CoreRoutes, PublishDefaultsEventToMessage) {
  auto mark = f.marker("news");
  ASSERT_EQ(run(rt, publish(R"({"topic":"news","data":{}})")).status, 200u);
  auto frames = f.since("news", mark);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0]->name, "message");
}

TEST_F(CoreRoutes, PublishRefusesBadInputAndPublishesNothing) {
  struct bad_case {
    std::string body;
    unsigned status;
    const char* code;
  };
  for (const auto& c : std::vector<bad_case>{
           {"{", 400, "bad_json"},
           {"[1]", 400, "bad_json"},
           {R"({"data":{}})", 400, "bad_request"},
           {R"({"topic":"a b","data":{}})", 400, "bad_request"},
           {R"({"topic":5,"data":{}})", 400, "bad_request"},
           {R"({"topic":"news","data":[1]})", 400, "bad_request"},
           {R"({"topic":"news"})", 400, "bad_request"},
           {R"({"topic":"news","event":"bad name","data":{}})", 400, "bad_request"},
           {R"({"topic":"news","event":7,"data":{}})", 400, "bad_request"},
       }) {
    auto r = run(rt, publish(c.body));
    EXPECT_EQ(r.status, c.status) << c.body;
    EXPECT_EQ(nlohmann::json::parse(r.body)["error"], c.code) << c.body;
  }
  auto req = publish(R"({"topic":"news","data":{}})");
  req.headers["content-type"] = "text/plain";
  EXPECT_EQ(run(rt, req).status, 415u);
  EXPECT_EQ(f.hub.last_seq(), 0u);
}

TEST_F(CoreRoutes, StaticIndexAndAssets) {
  auto idx = run(rt, make("GET", "/"));
  EXPECT_EQ(idx.status, 200u);
  EXPECT_EQ(idx.body, "<html>demo</html>");
  EXPECT_NE(header_of(idx, "Content-Type").find("text/html"), std::string::npos);
  EXPECT_EQ(header_of(idx, "Cache-Control"), "no-cache");
  auto js = run(rt, make("GET", "/js/app.js"));
  EXPECT_EQ(js.status, 200u);
  EXPECT_NE(header_of(js, "Content-Type").find("javascript"), std::string::npos);
}

TEST_F(CoreRoutes, StaticRefusesTraversalAndMissingFiles) {
  std::ofstream(std::filesystem::path(f.cfg.static_dir).parent_path() /
                ("rushcast-secret-" + std::to_string(::getpid())))
      << "secret";
  for (std::string p : std::vector<std::string>{
           "/../rushcast-secret-" + std::to_string(::getpid()), "/js/../../etc/passwd",
           "/missing.html", "/js/..", "/./index.html", "/js\\app.js"}) {
    auto r = run(rt, make("GET", p));
    EXPECT_EQ(r.status, 404u) << p;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << p;
  }
  std::filesystem::remove(std::filesystem::path(f.cfg.static_dir).parent_path() /
                          ("rushcast-secret-" + std::to_string(::getpid())));
}

TEST_F(CoreRoutes, PublishOnEngineNamespacesIsForbiddenTopic) {
  for (std::string topic : {"sale:demo", "auction:a1", "sys:stats"}) {
    auto r = run(rt, publish(R"({"topic":")" + topic + R"(","event":"stock","data":{"stock":0}})"));
    EXPECT_EQ(r.status, 403u) << topic;
    EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "forbidden_topic") << topic;
  }
  EXPECT_EQ(f.hub.last_seq(), 0u);
  EXPECT_EQ(run(rt, publish(R"({"topic":"user:alice@example.com","data":{}})")).status, 200u);
  EXPECT_EQ(run(rt, publish(R"({"topic":"chat:lobby","data":{}})")).status, 200u);
}

TEST_F(CoreRoutes, PublishWithoutContentTypeIs415) {
  auto req = publish(R"({"topic":"news","data":{}})");
  req.headers.erase("content-type");
  auto r = run(rt, req);
  EXPECT_EQ(r.status, 415u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "unsupported_media_type");
  EXPECT_EQ(f.hub.last_seq(), 0u);
}

TEST_F(CoreRoutes, PublishTooDeepIsBadJson) {
  std::string data = std::string(64, '[') + std::string(64, ']');
  auto r = run(rt, publish(R"({"topic":"news","data":{"x":)" + data + "}}"));
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "bad_json");
  EXPECT_EQ(f.hub.last_seq(), 0u);
}

TEST_F(CoreRoutes, StaticHeadHasTheFileLengthAndNoBody) {
  auto r = run(rt, make("HEAD", "/js/app.js"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.head_length, std::string("console.log(1)").size());
  EXPECT_NE(header_of(r, "Content-Type").find("javascript"), std::string::npos);
}

TEST_F(CoreRoutes, StaticRefusesAbsolutePathsAndDotfiles) {
  std::ofstream(f.cfg.static_dir + "/.env") << "publish_key=secret";
  std::filesystem::create_directories(f.cfg.static_dir + "/.git");
  std::ofstream(f.cfg.static_dir + "/.git/config") << "secret";
  for (std::string p : {"//etc/passwd", "///etc/passwd", "/.env", "/.git/config", "/js/.hidden"}) {
    auto r = run(rt, make("GET", p));
    EXPECT_EQ(r.status, 404u) << p;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << p;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << p;
  }
}

TEST_F(CoreRoutes, PostToUnknownPathIs404NotMethodNotAllowed) {
  EXPECT_EQ(run(rt, make("POST", "/nowhere")).status, 404u);
  EXPECT_EQ(run(rt, make("GET", "/api/publish")).status, 405u);
}
