// The HTTP edge as an attacker probes it (issue 11): static files outside static_dir, user ids,
// deep JSON, Content-Type, publish namespaces, JWT exp, Host, Transfer-Encoding and Vary.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "raw_http.hpp"
#include "rushcast/auth/authenticator.hpp"

namespace rushcast::test {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::string get_close(const std::string& target, const std::string& method = "GET") {
  return method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
}

// A static_dir of its own, with a page, a dotfile, a secret beside it and links pointing out.
struct static_tree {
  fs::path top = fs::temp_directory_path() / ("rushcast-edge-" + std::to_string(::getpid()));
  fs::path root = top / "web";
  static_tree() {
    fs::remove_all(top);
    fs::create_directories(root / "js");
    std::ofstream(root / "index.html") << "<html>edge</html>";
    std::ofstream(root / "js" / "app.js") << "console.log('edge');\n";
    std::ofstream(root / ".env") << "publish_key=dotfile-secret";
    std::ofstream(top / "secret.txt") << "outside-secret";
    fs::create_symlink(top / "secret.txt", root / "leak.txt");
    fs::create_directory_symlink("/etc", root / "etc");
  }
  ~static_tree() { fs::remove_all(top); }
};

json loose_rate() {
  return {{"per_user_per_s", 100000}, {"per_user_burst", 100000},
          {"per_ip_per_s", 1000000},  {"per_ip_burst", 1000000}};
}

json shop() {
  return {{"rate_limit", loose_rate()},
          {"sales", json::array({{{"id", "s1"},
                                  {"name", "Sale"},
                                  {"stock", 100},
                                  {"start_at", "+0s"},
                                  {"end_at", "+1h"},
                                  {"per_user_limit", 1},
                                  {"process_rate_per_s", 0}}})},
          {"auctions", json::array({{{"id", "a1"},
                                     {"name", "Item"},
                                     {"start_price", 100},
                                     {"min_increment", 10},
                                     {"reserve_price", 0},
                                     {"start_at", "+0s"},
                                     {"end_at", "+1h"},
                                     {"extend_window_ms", 0},
                                     {"extend_by_ms", 0}}})}};
}

std::string percent_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

// ---- 1. static files ----------------------------------------------------------------------

TEST(HttpEdgeStatic, NothingOutsideStaticDirIsServed) {
  static_tree t;
  daemon d(json{{"static_dir", t.root.string()}});
  for (std::string target :
       {"//etc/passwd", "/%2Fetc/passwd", "/%2fetc%2fpasswd", "/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/..%2fsecret.txt", "/leak.txt", "/etc/passwd",
        "/.env", "/%2eenv", "/js/..%2f.env", "/js%5c..%5c.env", "/index.html%00.js"}) {
    auto raw = raw_exchange(d.port(), get_close(target));
    auto r = parse_raw_response(raw);
    EXPECT_EQ(r.status, 404u) << target << "\n" << raw.substr(0, 200);
    EXPECT_EQ(raw.find("root:"), std::string::npos) << target;
    EXPECT_EQ(raw.find("secret"), std::string::npos) << target;
  }
  // The daemon's own config (publish key) and database are not reachable by absolute path.
  const std::string cfg_path = fs::path(d.data_dir()).parent_path().string() + "/config.json";
  for (std::string target : {"/" + cfg_path, "/" + percent_encode(cfg_path)}) {
    auto cfg = raw_exchange(d.port(), get_close(target));
    EXPECT_EQ(parse_raw_response(cfg).status, 404u) << target;
    EXPECT_EQ(cfg.find(test_publish_key), std::string::npos) << target;
  }
  // What belongs there is still served.
  auto page = parse_raw_response(raw_exchange(d.port(), get_close("/")));
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(page.body, "<html>edge</html>");
}

TEST(HttpEdgeStatic, HeadAnswersTheRealContentLengthWithoutABody) {
  static_tree t;
  daemon d(json{{"static_dir", t.root.string()}});
  auto size = fs::file_size(t.root / "js" / "app.js");
  auto raw = raw_exchange(d.port(), get_close("/js/app.js", "HEAD"));
  auto r = parse_raw_response(raw);
  EXPECT_EQ(r.status, 200u) << raw;
  EXPECT_EQ(r.header("content-length"), std::to_string(size));
  EXPECT_NE(r.header("content-type").value_or("").find("javascript"), std::string::npos);
  EXPECT_EQ(raw.substr(raw.find("\r\n\r\n") + 4), "") << "a HEAD answer has no body";
  // The API too: HEAD is GET without the body, with the GET's length.
  auto get = http(d.port(), "GET", "/healthz");
  auto head = parse_raw_response(raw_exchange(d.port(), get_close("/healthz", "HEAD")));
  EXPECT_EQ(head.header("content-length"), std::to_string(get.body.size()));
  // On one keep-alive connection the next answer follows the HEAD cleanly.
  auto two = raw_exchange(d.port(),
                          "HEAD /js/app.js HTTP/1.1\r\nHost: x\r\n\r\n" + get_close("/healthz"));
  EXPECT_EQ(count_responses(two), 2u) << two;
  EXPECT_NE(two.find("\r\n\r\nHTTP/1.1 200"), std::string::npos) << two;
}

// ---- 3. one rule for user ids ---------------------------------------------------------------

TEST(HttpEdgeUserId, AnIdThatMayBuyMaySubscribeToItsOwnUserTopic) {
  daemon d(shop());
  const std::string id = "alice@example.com";
  sse_client s(d.port(), "/sse-updates?topics=sale:s1&userId=" + percent_encode(id));
  ASSERT_EQ(s.status(), 200u);
  auto r = http(d.port(), "POST", "/api/seckill", json{{"userId", id}, {"saleId", "s1"}}.dump());
  ASSERT_EQ(r.status, 200u) << r.body;
  auto result = s.next_named("result", 5s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->json()["result"], "success");
  ws_client w(d.port(), "/ws?userId=" + percent_encode(id));
  w.send_json({{"type", "subscribe"}, {"topics", {"user:" + id}}, {"ref", 1}});
  auto sub = w.recv_type("subscribed", 5s);
  ASSERT_TRUE(sub);
  auto lp = http(d.port(), "GET", "/long-poll?timeout=0&userId=" + percent_encode(id));
  EXPECT_EQ(lp.status, 200u) << lp.body;
}

TEST(HttpEdgeUserId, EmojiSpaceAndControlAre400Everywhere) {
  daemon d(shop());
  for (std::string bad : {std::string("\xF0\x9F\x98\x80"), std::string("al ice"),
                          std::string("a\x01"), std::string(121, 'u')}) {
    const std::string q = percent_encode(bad);
    auto buy = http(d.port(), "POST", "/api/seckill", json{{"userId", bad}, {"saleId", "s1"}}.dump());
    EXPECT_EQ(buy.status, 400u) << q << buy.body;
    EXPECT_EQ(buy.json().value("error", ""), "bad_user_id") << q;
    auto bid = http(d.port(), "POST", "/api/bid",
                    json{{"userId", bad}, {"auctionId", "a1"}, {"bidAmount", 200}}.dump());
    EXPECT_EQ(bid.status, 400u) << q << bid.body;
    EXPECT_EQ(bid.json().value("error", ""), "bad_user_id") << q;
    for (std::string target : {"/sse-updates?topics=sale:s1&userId=" + q,
                               "/long-poll?timeout=0&userId=" + q, "/api/sales/s1/result?userId=" + q}) {
      auto r = parse_raw_response(raw_exchange(d.port(), get_close(target)));
      EXPECT_EQ(r.status, 400u) << target;
      EXPECT_NE(r.body.find("bad_user_id"), std::string::npos) << target << r.body;
    }
    auto up = parse_raw_response(raw_exchange(
        d.port(), "GET /ws?userId=" + q +
                      " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        2s));
    EXPECT_EQ(up.status, 400u) << q;
    EXPECT_NE(up.body.find("bad_user_id"), std::string::npos) << up.body;
  }
  ws_client w(d.port(), "/ws");
  w.send_json({{"type", "seckill"}, {"saleId", "s1"}, {"userId", "\xF0\x9F\x98\x80"}, {"ref", 1}});
  auto e1 = w.recv_type("error", 5s);
  ASSERT_TRUE(e1);
  EXPECT_EQ((*e1)["code"], "bad_user_id") << e1->dump();
  w.send_json({{"type", "bid"}, {"auctionId", "a1"}, {"userId", "a b"}, {"bidAmount", 200}, {"ref", 2}});
  auto e2 = w.recv_type("error", 5s);
  ASSERT_TRUE(e2);
  EXPECT_EQ((*e2)["code"], "bad_user_id") << e2->dump();
  auto missing = http(d.port(), "POST", "/api/seckill", json{{"saleId", "s1"}}.dump());
  EXPECT_EQ(missing.status, 400u);
  EXPECT_EQ(missing.json().value("error", ""), "missing_user_id");
}

// ---- 5. deep JSON -------------------------------------------------------------------------

TEST(HttpEdgeDeepJson, HundredThousandLevelsInABodyAre400AndTheDaemonServes) {
  daemon d(json{{"limits", {{"max_body_bytes", 1 << 20}}}, {"rate_limit", loose_rate()}});
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto pub = http(d.port(), "POST", "/api/publish",
                  R"({"topic":"news","data":{"x":)" + deep + "}}",
                  {{"Authorization", std::string("Bearer ") + test_publish_key}});
  EXPECT_EQ(pub.status, 400u);
  EXPECT_EQ(pub.json().value("error", ""), "bad_json");
  auto buy = http(d.port(), "POST", "/api/seckill", R"({"userId":"u","x":)" + deep + "}");
  EXPECT_EQ(buy.status, 400u);
  EXPECT_EQ(buy.json().value("error", ""), "bad_json");
  EXPECT_EQ(http(d.port(), "GET", "/healthz").status, 200u);
  // 64 levels is within the limit.
  std::string ok = std::string(62, '[') + std::string(62, ']');
  EXPECT_EQ(http(d.port(), "POST", "/api/publish", R"({"topic":"news","data":{"x":)" + ok + "}}",
                 {{"Authorization", std::string("Bearer ") + test_publish_key}})
                .status,
            200u);
}

TEST(HttpEdgeDeepJson, HundredThousandLevelsInAWebSocketMessageGetAnErrorAndTheSocketStays) {
  daemon d(json{{"limits", {{"max_ws_message_bytes", 1 << 20}}}, {"rate_limit", loose_rate()}});
  ws_client w(d.port(), "/ws");
  w.send(R"({"type":"ping","ref":)" + std::string(100000, '[') + std::string(100000, ']') + "}");
  auto e = w.recv(5s);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["type"], "error");
  EXPECT_EQ((*e)["code"], "bad_json");
  std::string deep_objects;
  for (int i = 0; i < 100000; ++i) deep_objects += R"({"a":)";
  deep_objects += "1" + std::string(100000, '}');
  w.send(R"({"type":"publish","topic":"chat:deep","data":)" + deep_objects + "}");
  auto e2 = w.recv(5s);
  ASSERT_TRUE(e2);
  EXPECT_EQ((*e2)["code"], "bad_json");
  w.send_json({{"type", "ping"}, {"ref", 7}});
  auto pong = w.recv_type("pong", 5s);
  ASSERT_TRUE(pong);
  EXPECT_EQ((*pong)["ref"], 7);
  EXPECT_EQ(http(d.port(), "GET", "/healthz").status, 200u);
}

// ---- 10. Content-Type ---------------------------------------------------------------------

TEST(HttpEdgeContentType, JsonRoutesRefuseBodiesWithoutJsonContentType) {
  daemon d(shop());
  const std::string body = R"({"userId":"victim","saleId":"s1","auctionId":"a1","bidAmount":200,)"
                           R"("topic":"news","data":{}})";
  for (std::string path : {"/api/seckill", "/api/bid", "/api/publish"}) {
    for (std::string ct : {std::string(), std::string("Content-Type: text/plain\r\n"),
                           std::string("Content-Type: application/x-www-form-urlencoded\r\n")}) {
      auto raw = raw_exchange(
          d.port(), "POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + ct +
                        "Authorization: Bearer " + test_publish_key +
                        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
      auto r = parse_raw_response(raw);
      EXPECT_EQ(r.status, 415u) << path << " " << ct;
      EXPECT_NE(r.body.find("unsupported_media_type"), std::string::npos) << path << r.body;
    }
  }
  // Nothing was bought.
  auto result = http(d.port(), "GET", "/api/sales/s1/result?userId=victim");
  EXPECT_EQ(result.json().value("status", ""), "none");
  // With the header (parameters allowed) the same body is taken.
  auto ok = http(d.port(), "POST", "/api/seckill", body,
                 {{"Content-Type", "application/json; charset=utf-8"}});
  EXPECT_EQ(ok.status, 200u) << ok.body;
}

// ---- 11. publish namespaces ---------------------------------------------------------------

TEST(HttpEdgePublish, EngineNamespacesAreForbiddenTopics) {
  daemon d(shop());
  sse_client s(d.port(), "/sse-updates?topics=sale:s1,auction:a1,sys:stats");
  ASSERT_EQ(s.status(), 200u);
  for (std::string topic : {"sale:s1", "auction:a1", "sys:stats", "sale:other"}) {
    auto r = http(d.port(), "POST", "/api/publish",
                  json{{"topic", topic}, {"event", "forged"}, {"data", {{"stock", 0}}}}.dump(),
                  {{"Authorization", std::string("Bearer ") + test_publish_key}});
    EXPECT_EQ(r.status, 403u) << topic;
    EXPECT_EQ(r.json().value("error", ""), "forbidden_topic") << topic;
  }
  EXPECT_FALSE(s.next_named("forged", 500ms));
  EXPECT_NO_THROW(publish(d.port(), "user:alice@example.com", "note", {{"x", 1}}));
  EXPECT_NO_THROW(publish(d.port(), "news", "flash", {{"x", 1}}));
}

// ---- 12. JWT exp --------------------------------------------------------------------------

TEST(HttpEdgeJwt, ATokenWithoutExpIsRefusedEverywhere) {
  const std::string secret = "edge-secret-edge-secret-edge-secret";
  daemon d(json{{"auth", {{"mode", "jwt"}, {"jwt_secret", secret}}}, {"rate_limit", loose_rate()},
                {"sales", shop()["sales"]}});
  auto forever = auth::sign_hs256(R"({"sub":"mallory"})", secret);
  auto good = auth::sign_hs256(R"({"sub":"alice","exp":4102444800})", secret);
  EXPECT_EQ(parse_raw_response(raw_exchange(d.port(), get_close("/sse-updates?token=" + forever)))
                .status,
            401u);
  auto buy = http(d.port(), "POST", "/api/seckill", R"({"saleId":"s1"})",
                  {{"Authorization", "Bearer " + forever}});
  EXPECT_EQ(buy.status, 401u) << buy.body;
  ws_client w(d.port(), "/ws?token=" + forever);
  EXPECT_EQ(w.close_code(5s), std::optional<std::uint16_t>(4001));
  auto ok = http(d.port(), "POST", "/api/seckill", R"({"saleId":"s1"})",
                 {{"Authorization", "Bearer " + good}});
  EXPECT_EQ(ok.status, 200u) << ok.body;
}

// ---- 13. Host, Transfer-Encoding, Vary ---------------------------------------------------

TEST(HttpEdgeFraming, Http11WithoutExactlyOneHostIs400) {
  daemon d;
  auto none = parse_raw_response(
      raw_exchange(d.port(), "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(none.status, 400u);
  auto two = parse_raw_response(raw_exchange(
      d.port(), "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(two.status, 400u);
  auto old = parse_raw_response(raw_exchange(d.port(), "GET /healthz HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(old.status, 200u) << "HTTP/1.0 has no Host requirement";
}

TEST(HttpEdgeFraming, UnknownTransferEncodingIs501AndItsBodyIsNeverARequest) {
  daemon d;
  // gzip beside Content-Length: Beast would frame the body by the length; we refuse it instead.
  std::string body = R"({"topic":"news","data":{"smuggled":true}})";
  auto raw = raw_exchange(
      d.port(), "POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Authorization: Bearer " + std::string(test_publish_key) +
                    "\r\nTransfer-Encoding: gzip\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(parse_raw_response(raw).status, 501u) << raw;
  EXPECT_EQ(count_responses(raw), 1u);
  // gzip alone: Beast would read no body and take what follows as the next request.
  auto smuggle = raw_exchange(
      d.port(), "POST /api/publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
                "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(parse_raw_response(smuggle).status, 501u) << smuggle;
  EXPECT_EQ(count_responses(smuggle), 1u) << "the body was answered as a request:\n" << smuggle;
  for (std::string te : {"gzip, chunked", "identity", "chunked, chunked"}) {
    auto r = raw_exchange(d.port(), "POST /api/publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " +
                                        te + "\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(parse_raw_response(r).status, 501u) << te << "\n" << r;
  }
  // HTTP/1.0 has no transfer codings at all (RFC 9112 section 6.1): faulty framing.
  auto old = raw_exchange(d.port(), "POST /api/publish HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    "0\r\n\r\n");
  EXPECT_EQ(parse_raw_response(old).status, 400u) << old;
  // chunked beside Content-Length is refused by the parser (400), in either order.
  for (std::string h : {"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"}) {
    auto r = raw_exchange(d.port(), "POST /api/publish HTTP/1.1\r\nHost: x\r\n" + h +
                                        "\r\n0\r\n\r\n");
    EXPECT_EQ(parse_raw_response(r).status, 400u) << h << "\n" << r;
  }
  // A lone chunked body is still read.
  std::string ok_body = R"({"topic":"news","data":{}})";
  char len[16];
  std::snprintf(len, sizeof len, "%zx", ok_body.size());
  auto chunked = parse_raw_response(raw_exchange(
      d.port(), "POST /api/publish HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                "Content-Type: application/json\r\nAuthorization: Bearer " +
                    std::string(test_publish_key) + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
                    len + "\r\n" + ok_body + "\r\n0\r\n\r\n"));
  EXPECT_EQ(chunked.status, 200u) << chunked.body;
  EXPECT_EQ(http(d.port(), "GET", "/healthz").status, 200u);
}

TEST(HttpEdgeCors, EveryCorsAnswerCarriesVaryOrigin) {
  for (json allow : {json::array({"*"}), json::array({"https://shop.example"})}) {
    daemon d(json{{"cors", {{"allow_origins", allow}}}});
    const std::string origin = "Origin: https://shop.example\r\n";
    for (std::string req :
         {"OPTIONS /api/seckill HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + origin +
              "Access-Control-Request-Method: POST\r\n\r\n",
          "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + origin + "\r\n",
          "GET /long-poll?topics=news&timeout=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
              origin + "\r\n",
          "GET /sse-updates?topics=news HTTP/1.1\r\nHost: x\r\n" + origin + "\r\n",
          "GET /sse-updates?topics=a%20b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + origin +
              "\r\n"}) {
      auto r = parse_raw_response(raw_exchange(d.port(), req, 1s));
      EXPECT_TRUE(r.header("access-control-allow-origin")) << allow << "\n" << req;
      EXPECT_EQ(r.header("vary"), "Origin") << allow << "\n" << req;
    }
  }
}

}  // namespace rushcast::test
