// One keep-alive connection carries request after request, and each is answered as if it came
// alone: nothing of an earlier request (headers, query, body) shows in a later answer.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "raw_http.hpp"

namespace rushcast::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

json shop() {
  return {{"cors", {{"allow_origins", {"https://a.example", "https://shop.example"}}}},
          {"rate_limit",
           {{"per_user_per_s", 100000}, {"per_user_burst", 100000},
            {"per_ip_per_s", 1000000}, {"per_ip_burst", 1000000}}},
          {"sales", json::array({{{"id", "s1"},
                                  {"name", "Sale"},
                                  {"stock", 100},
                                  {"start_at", "+0s"},
                                  {"end_at", "+1h"},
                                  {"per_user_limit", 1},
                                  {"process_rate_per_s", 0}}})}};
}

// The answers in raw, split at each status line.
std::vector<raw_response> answers(const std::string& raw) {
  std::vector<raw_response> out;
  std::size_t at = raw.find("HTTP/1.1 ");
  while (at != std::string::npos) {
    std::size_t next = raw.find("HTTP/1.1 ", at + 1);
    out.push_back(parse_raw_response(raw.substr(at, next == std::string::npos ? next : next - at)));
    at = next;
  }
  return out;
}

TEST(HttpKeepAlive, ALaterRequestSeesNothingOfAnEarlierOne) {
  daemon d(shop());
  const std::string first =
      "GET /api/sales/s1/result?userId=alice&extra=1 HTTP/1.1\r\nHost: x\r\n"
      "Origin: https://shop.example\r\nX-Padding: " + std::string(300, 'p') + "\r\n\r\n";
  const std::string second = "GET /api/sales/s1/result HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::string raw = raw_exchange(d.port(), first + second, 5s);
  auto got = answers(raw);
  ASSERT_EQ(got.size(), 2u) << raw;
  EXPECT_EQ(got[0].header("access-control-allow-origin"), "https://shop.example");
  // The second, alone on a fresh connection, gives the same bytes.
  const std::string alone = raw_exchange(d.port(), second, 5s);
  EXPECT_EQ(raw.substr(raw.find("HTTP/1.1 ", 1)), alone);
  EXPECT_FALSE(got[1].header("access-control-allow-origin"));
  EXPECT_EQ(got[1].header("vary"), "Origin");
  EXPECT_EQ(got[1].status, 400u) << got[1].body;
}

TEST(HttpKeepAlive, ALaterBodyIsReadAloneAfterALongerOne) {
  daemon d(shop());
  auto post = [](const std::string& body, bool close) {
    return "POST /api/seckill HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
           std::string(close ? "Connection: close\r\n" : "") +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  const std::string raw =
      raw_exchange(d.port(),
                   post(R"({"userId":"a-rather-long-user-name-for-the-first-body","saleId":"s1"})", false) +
                       post(R"({"userId":"bob"})", false) + post("", true),
                   5s);
  auto got = answers(raw);
  ASSERT_EQ(got.size(), 3u) << raw;
  EXPECT_EQ(got[0].status, 200u) << got[0].body;
  EXPECT_EQ(json::parse(got[0].body)["position"], 1);
  EXPECT_EQ(got[1].status, 200u) << got[1].body;
  EXPECT_EQ(json::parse(got[1].body),
            (json{{"position", 2}, {"saleId", "s1"}, {"status", "queued"}}));
  EXPECT_EQ(got[2].status, 400u) << got[2].body;
  EXPECT_EQ(json::parse(got[2].body)["error"], "bad_json");
}

TEST(HttpKeepAlive, AnAnswerLargerThanTheSocketTakesIsWrittenWholeThenTheNextOne) {
  // 6 MB (static files go up to 8 MB): more than loopback's send buffer takes at once, so
  // most of it goes out as the reader drains it; the next request on the connection is
  // answered after it, whole too.
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("rushcast-big-" + std::to_string(::getpid()));
  fs::create_directories(root);
  std::string big(6 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7919) % 26);
  std::ofstream(root / "big.txt", std::ios::binary) << big;
  std::ofstream(root / "small.txt", std::ios::binary) << "small";
  {
    daemon d(json{{"static_dir", root.string()}});
    const std::string raw = raw_exchange(
        d.port(),
        "GET /big.txt HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        20s);
    const std::size_t head_end = raw.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    auto first = parse_raw_response(raw);
    EXPECT_EQ(first.status, 200u);
    EXPECT_EQ(first.header("content-length"), std::to_string(big.size()));
    ASSERT_GE(raw.size(), head_end + 4 + big.size());
    EXPECT_TRUE(raw.compare(head_end + 4, big.size(), big) == 0);
    auto second = parse_raw_response(raw.substr(head_end + 4 + big.size()));
    EXPECT_EQ(second.status, 200u);
    EXPECT_EQ(second.body, "small");
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace rushcast::test
