// RFC 6455 §5–7 against the real daemon, byte by byte (the Autobahn cases 1–7, 9 and 10 that
// matter to a server): framing, control frames, fragmentation, UTF-8, close codes, lengths,
// and the upgrade's own rules. One daemon serves the whole battery; each case opens its own
// connection. The frame reader's logic is unit-tested (ws_frame_reader_test); this checks
// that the daemon acts on it: the right close code goes out, valid input is answered.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "raw_ws.hpp"

namespace rushcast::test {
namespace {

using nlohmann::json;

constexpr std::size_t max_message = 100000;

class WsConformance : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    d_ = new daemon(json{{"limits", {{"max_ws_message_bytes", max_message}}},
                         {"rate_limit", {{"per_ip_per_s", 100000}, {"per_ip_burst", 100000}}}});
  }
  static void TearDownTestSuite() {
    delete d_;
    d_ = nullptr;
  }
  static std::uint16_t port() { return d_->port(); }

  // A fresh connection that sends bytes and expects the server to close with code.
  static void expect_close(const std::string& bytes, std::uint16_t code, const std::string& what) {
    auto c = raw_ws::open(port());
    c.write(bytes);
    auto got = c.close_code();
    ASSERT_TRUE(got) << what << ": no close frame";
    EXPECT_EQ(*got, code) << what;
  }

  static std::string text(std::string_view s) { return client_frame(fin | op_text, s); }
  static std::string ping_message(const std::string& ref) {
    return json{{"type", "ping"}, {"ref", ref}}.dump();
  }

  static daemon* d_;
};

daemon* WsConformance::d_ = nullptr;

TEST_F(WsConformance, RsvBitsSetClose1002) {
  for (std::uint8_t rsv : {0x40, 0x20, 0x10, 0x70})
    expect_close(client_frame(fin | rsv | op_text, "{}"), 1002, "rsv " + std::to_string(rsv));
  expect_close(client_frame(fin | 0x40 | op_ping, "x"), 1002, "rsv on a ping");
}

TEST_F(WsConformance, ReservedOpcodesClose1002) {
  for (std::uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF})
    expect_close(client_frame(fin | op, "x"), 1002, "opcode " + std::to_string(op));
}

TEST_F(WsConformance, ControlFrameOver125BytesOrFragmentedCloses1002) {
  expect_close(client_frame(fin | op_ping, std::string(126, 'p')), 1002, "ping of 126 bytes");
  expect_close(client_frame(op_ping, "x"), 1002, "ping without FIN");
  expect_close(client_frame(op_pong, "x"), 1002, "pong without FIN");
}

TEST_F(WsConformance, PingIsAnsweredWithTheSamePayload) {
  auto c = raw_ws::open(port());
  for (std::string payload : {std::string(), std::string("hello"), std::string(125, 'z')}) {
    c.write(client_frame(fin | op_ping, payload));
    auto f = c.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->b0, fin | op_pong);
    EXPECT_EQ(f->payload, payload);
  }
}

TEST_F(WsConformance, UnsolicitedPongIsIgnored) {
  auto c = raw_ws::open(port());
  c.write(client_frame(fin | op_pong, "unasked"));
  c.write(text(ping_message("after")));
  auto j = c.next_json();
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["ref"], "after");
}

TEST_F(WsConformance, ControlFramesBetweenFragmentsAreAllowed) {
  auto c = raw_ws::open(port());
  std::string m = ping_message("frag");
  c.write(client_frame(op_text, m.substr(0, 5)) + client_frame(fin | op_ping, "mid") +
          client_frame(op_cont, m.substr(5, 5)) + client_frame(fin | op_pong, "") +
          client_frame(fin | op_cont, m.substr(10)));
  auto pong = c.read_frame();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->opcode(), op_pong);
  EXPECT_EQ(pong->payload, "mid");
  auto j = c.next_json();
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["type"], "pong");
  EXPECT_EQ((*j)["ref"], "frag");
}

TEST_F(WsConformance, FragmentationErrorsClose1002) {
  expect_close(client_frame(fin | op_cont, "{}"), 1002, "continuation without a start");
  expect_close(client_frame(op_cont, "{"), 1002, "unfinished continuation without a start");
  expect_close(client_frame(op_text, "{") + client_frame(fin | op_text, "}"), 1002,
               "new text frame inside a fragmented message");
  expect_close(client_frame(op_text, "{") + client_frame(fin | op_binary, "}"), 1002,
               "new binary frame inside a fragmented message");
}

TEST_F(WsConformance, InvalidUtf8TextCloses1007) {
  expect_close(text("{\"type\":\"ping\",\"ref\":\"\xFF\"}"), 1007, "0xFF in a text frame");
  expect_close(text("\xED\xA0\x80"), 1007, "a surrogate");
  expect_close(text("\xC0\xAF"), 1007, "an overlong encoding");
  // Each fragment alone ends in a valid prefix; together the sequence is broken.
  expect_close(client_frame(op_text, "{\"ref\":\"\xCE") + client_frame(fin | op_cont, "A\"}"),
               1007, "invalid only across the fragment boundary");
}

TEST_F(WsConformance, ValidUtf8SplitAcrossFragmentsIsAccepted) {
  auto c = raw_ws::open(port());
  std::string m = ping_message("\xCE\xBA\xF0\x9F\x98\x80");  // κ😀
  auto split = m.find("\xCE") + 1;                          // inside κ
  auto split2 = m.find("\xF0") + 2;                         // inside 😀
  c.write(client_frame(op_text, m.substr(0, split)) +
          client_frame(op_cont, m.substr(split, split2 - split)) +
          client_frame(fin | op_cont, m.substr(split2)));
  auto j = c.next_json();
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["ref"], "\xCE\xBA\xF0\x9F\x98\x80");
}

TEST_F(WsConformance, ValidCloseCodesAreEchoed) {
  for (std::uint16_t code : {1000, 1001, 1003, 1011, 3000, 4000, 4999})
    expect_close(client_frame(fin | op_close, close_payload(code, "bye")), code,
                 "close " + std::to_string(code));
  // A close without a code is answered without one.
  auto c = raw_ws::open(port());
  c.write(client_frame(fin | op_close, ""));
  auto got = c.close_code();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, 0);
}

TEST_F(WsConformance, InvalidCloseCodesClose1002) {
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535})
    expect_close(client_frame(fin | op_close, close_payload(code)), 1002,
                 "close " + std::to_string(code));
  expect_close(client_frame(fin | op_close, "\x03"), 1002, "close with a 1-byte payload");
}

TEST_F(WsConformance, CloseReasonThatIsNotUtf8Closes1007) {
  expect_close(client_frame(fin | op_close, close_payload(1000, "bad \xFF reason")), 1007,
               "invalid UTF-8 close reason");
}

TEST_F(WsConformance, SixteenAndSixtyFourBitLengthsAreAccepted) {
  auto c = raw_ws::open(port());
  // Short payloads in the longer forms too: a server must not insist on the shortest.
  for (auto [size, form] : std::vector<std::pair<std::size_t, length_form>>{
           {200, length_form::sixteen},
           {60000, length_form::sixteen},
           {30, length_form::sixteen},
           {70000, length_form::sixtyfour},
           {30, length_form::sixtyfour}}) {
    std::string ref(size > 30 ? size - 30 : 1, 'r');
    auto m = ping_message(ref);
    c.write(client_frame(fin | op_text, m, true, form));
    auto j = c.next_json();
    ASSERT_TRUE(j) << size;
    EXPECT_EQ((*j)["ref"], ref) << size;
  }
}

TEST_F(WsConformance, SixtyFourBitLengthWithTheTopBitSetCloses1002) {
  std::string f;
  f.push_back(static_cast<char>(fin | op_text));
  f.push_back(static_cast<char>(0x80 | 127));
  f.push_back(static_cast<char>(0x80));
  f.append(7, '\0');
  f.append(4, '\0');  // mask
  f.append("{}");
  expect_close(f, 1002, "64-bit length with the top bit set");
}

TEST_F(WsConformance, MessageOverTheLimitCloses1009) {
  expect_close(text(std::string(max_message + 1, ' ')), 1009, "one frame over the limit");
  std::string half((max_message + 2) / 2, ' ');
  expect_close(client_frame(op_text, half) + client_frame(fin | op_cont, half), 1009,
               "fragments over the limit together");
}

TEST_F(WsConformance, UnmaskedClientFrameCloses1002) {
  expect_close(client_frame(fin | op_text, ping_message("u"), false), 1002, "unmasked text");
  expect_close(client_frame(fin | op_ping, "u", false), 1002, "unmasked ping");
}

TEST_F(WsConformance, UpgradeWithABadKeyOrVersionIsRefused) {
  struct probe {
    std::string what;
    headers_t headers;
    unsigned status;
  };
  for (const auto& p : std::vector<probe>{
           {"key abc", {{"Sec-WebSocket-Key", "abc"}}, 400},
           {"key of 15 bytes", {{"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j"}}, 400},
           {"key not base64", {{"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j*Q=="}}, 400},
           {"no key", {{"Sec-WebSocket-Key", ""}}, 400},
           {"no version", {{"Sec-WebSocket-Version", ""}}, 400},
           {"version 8", {{"Sec-WebSocket-Version", "8"}}, 426},
       }) {
    raw_ws c(port());
    EXPECT_EQ(c.handshake(upgrade_request("/ws", p.headers)), p.status) << p.what;
    if (p.status == 426) EXPECT_EQ(c.headers().at("sec-websocket-version"), "13");
  }
  // The key twice: two header lines, each valid alone.
  raw_ws c(port());
  auto req = upgrade_request("/ws");
  req.insert(req.size() - 2, "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n");
  EXPECT_EQ(c.handshake(req), 400u) << "key sent twice";
  // The accepted key gets the RFC's accept value.
  raw_ws ok(port());
  ASSERT_EQ(ok.handshake(upgrade_request("/ws")), 101u);
  EXPECT_EQ(ok.headers().at("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_F(WsConformance, FrameSentWithTheUpgradeIsAnswered) {
  raw_ws c(port());
  ASSERT_EQ(c.handshake(upgrade_request("/ws"),
                        client_frame(fin | op_ping, "early") + text(ping_message("early-text"))),
            101u);
  auto pong = c.read_frame();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->opcode(), op_pong);
  EXPECT_EQ(pong->payload, "early");
  auto j = c.next_json();
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["ref"], "early-text");
}

TEST_F(WsConformance, HalfAFrameWithTheUpgradeIsCompletedByTheNextWrite) {
  raw_ws c(port());
  auto f = text(ping_message("split"));
  ASSERT_EQ(c.handshake(upgrade_request("/ws"), f.substr(0, 5)), 101u);
  c.write(f.substr(5));
  auto j = c.next_json();
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["ref"], "split");
}

TEST_F(WsConformance, HttpRequestPipelinedAfterTheUpgradeCloses1002) {
  raw_ws c(port());
  ASSERT_EQ(c.handshake(upgrade_request("/ws"), "GET /time HTTP/1.1\r\nHost: x\r\n\r\n"), 101u);
  auto code = c.close_code();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1002);
}

}  // namespace
}  // namespace rushcast::test
