#include "rushcast/hub/frame.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace rushcast::hub;

namespace {
std::string header_bytes(std::size_t n) {
  std::string h = ws_text_header(n);
  return h;
}
}  // namespace

TEST(Frame, SseHasIdEventDataAndBlankLine) {
  auto f = make_frame("e1-7", 7, "sale:1", "stock", R"({"stock":5})", true);
  EXPECT_EQ(f->sse, "id: e1-7\nevent: stock\ndata: {\"stock\":5}\n\n");
  EXPECT_EQ(f->seq, 7u);
  EXPECT_EQ(f->id, "e1-7");
  EXPECT_EQ(f->topic, "sale:1");
  EXPECT_EQ(f->name, "stock");
  EXPECT_TRUE(f->state);
  EXPECT_GT(f->published_ns, 0);
}

TEST(Frame, SseOmitsIdLineWhenIdEmpty) {
  auto f = make_frame("", 0, "sale:1", "countdown", R"({"phase":"open"})", false);
  EXPECT_EQ(f->sse, "event: countdown\ndata: {\"phase\":\"open\"}\n\n");
}

TEST(Frame, SseSplitsMultiLineDataIntoDataLines) {
  auto f = make_frame("e-1", 1, "t", "message", "{\n\"a\": 1,\r\n\"b\": 2\r}", false);
  EXPECT_EQ(f->sse, "id: e-1\nevent: message\ndata: {\ndata: \"a\": 1,\ndata: \"b\": 2\ndata: }\n\n");
}

TEST(Frame, SseNameAndIdCannotInjectFields) {
  auto f = make_frame("e-1\ndata: x", 1, "t", "evil\r\nid: 9", "{}", false);
  EXPECT_EQ(f->sse, "id: e-1 data: x\nevent: evil  id: 9\ndata: {}\n\n");
}

TEST(Frame, WsPayloadPutsTypeTopicIdFirst) {
  auto f = make_frame("e-3", 3, "auction:9", "price_update", R"({"currentPrice":120,"bidCount":2})",
                      true);
  EXPECT_EQ(f->ws_payload(),
            R"({"type":"price_update","topic":"auction:9","id":"e-3","currentPrice":120,"bidCount":2})");
  auto j = nlohmann::json::parse(f->ws_payload());
  EXPECT_EQ(j["currentPrice"], 120);
}

TEST(Frame, WsPayloadOfEmptyObject) {
  auto a = make_frame("e-1", 1, "t", "ping", "{}", false);
  EXPECT_EQ(a->ws_payload(), R"({"type":"ping","topic":"t","id":"e-1"})");
  auto b = make_frame("", 0, "t", "ping", " { \n\t } ", false);
  EXPECT_EQ(b->ws_payload(), R"({"type":"ping","topic":"t"})");
}

TEST(Frame, WsPayloadKeepsLeadingWhitespaceDataValid) {
  auto f = make_frame("e-1", 1, "t", "m", "  {  \"x\" : [1, 2] }", false);
  auto j = nlohmann::json::parse(f->ws_payload());
  EXPECT_EQ(j["x"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(j["type"], "m");
}

TEST(Frame, WsPayloadEscapesNameAndTopic) {
  std::string name = "we\"ird\\name\x01";
  std::string topic = "chat:a\"b\nc";
  auto f = make_frame("e-1", 1, topic, name, R"({"k":"v"})", false);
  auto j = nlohmann::json::parse(f->ws_payload());
  EXPECT_EQ(j["type"], name);
  EXPECT_EQ(j["topic"], topic);
  EXPECT_EQ(j["k"], "v");
}

TEST(Frame, WsPayloadWithoutTopicOrIdHasNeitherKey) {
  auto f = make_frame("", 0, "", "resync", R"({"reason":"epoch"})", false);
  EXPECT_EQ(f->ws_payload(), R"({"type":"resync","reason":"epoch"})");
}

TEST(Frame, NonObjectDataStaysValidJson) {
  auto f = make_frame("e-1", 1, "t", "m", "[1,2]", false);
  auto j = nlohmann::json::parse(f->ws_payload());
  EXPECT_EQ(j["data"], nlohmann::json::array({1, 2}));
  auto g = make_frame("e-1", 1, "t", "m", "", false);
  EXPECT_TRUE(nlohmann::json::parse(g->ws_payload())["data"].is_null());
}

TEST(Frame, WsHeaderUsesSevenBitLengthUpTo125) {
  EXPECT_EQ(header_bytes(0), std::string("\x81\x00", 2));
  EXPECT_EQ(header_bytes(125), std::string("\x81\x7d", 2));
}

TEST(Frame, WsHeaderUsesSixteenBitLengthFrom126) {
  EXPECT_EQ(header_bytes(126), std::string("\x81\x7e\x00\x7e", 4));
  EXPECT_EQ(header_bytes(65535), std::string("\x81\x7e\xff\xff", 4));
}

TEST(Frame, WsHeaderUsesSixtyFourBitLengthFrom65536) {
  EXPECT_EQ(header_bytes(65536), std::string("\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
}

TEST(Frame, WsFrameIsHeaderPlusPayload) {
  for (std::size_t n : {10u, 200u, 70000u}) {
    std::string big(n, 'x');
    auto f = make_frame("e-1", 1, "t", "m", R"({"v":")" + big + "\"}", false);
    const std::string h = ws_text_header(f->ws_payload().size());
    ASSERT_EQ(f->ws_frame.size(), h.size() + f->ws_payload().size());
    EXPECT_EQ(f->ws_frame.substr(0, h.size()), h);
    EXPECT_EQ(f->ws_frame.substr(h.size()), f->ws_payload());
    // The length the header declares is the payload's.
    std::size_t declared = static_cast<unsigned char>(h[1]) & 0x7f;
    if (declared == 126) {
      declared = (static_cast<unsigned char>(h[2]) << 8) | static_cast<unsigned char>(h[3]);
    } else if (declared == 127) {
      declared = 0;
      for (int i = 2; i < 10; ++i) declared = (declared << 8) | static_cast<unsigned char>(h[i]);
    }
    EXPECT_EQ(declared, f->ws_payload().size());
  }
}

TEST(Frame, WsReplyHasNoSseAndNoSeq) {
  auto f = make_ws_reply(R"({"type":"pong","serverTime":1})");
  EXPECT_TRUE(f->sse.empty());
  EXPECT_EQ(f->seq, 0u);
  EXPECT_EQ(f->ws_payload(), R"({"type":"pong","serverTime":1})");
  EXPECT_EQ(f->ws_frame, ws_text_header(f->ws_payload().size()) + std::string(f->ws_payload()));
}

namespace {
// True when view lies inside s's own buffer (shares its storage, not a copy).
bool inside(std::string_view view, const std::string& s) {
  return view.data() >= s.data() && view.data() + view.size() <= s.data() + s.size();
}
}  // namespace

TEST(Frame, KeepsTheEventJsonOnce) {
  const std::string data = R"({"currentPrice":120,"bidCount":2})";
  auto f = make_frame("e-3", 3, "auction:9", "price_update", data, false);
  // The data object long-poll answers with is a view of the SSE bytes, not a third copy ...
  EXPECT_EQ(f->data_json(), data);
  EXPECT_TRUE(inside(f->data_json(), f->sse));
  // ... and the WebSocket payload is the frame's own bytes behind its header.
  EXPECT_TRUE(inside(f->ws_payload(), f->ws_frame));
  EXPECT_EQ(f->ws_frame.size(), ws_text_header(f->ws_payload().size()).size() +
                                    f->ws_payload().size());
  // Two wire forms and nothing else: every byte the frame holds is in sse or ws_frame.
  static_assert(sizeof(frame) <= 5 * sizeof(std::string) + 32,
                "a frame holds id, topic, name, sse and ws_frame, and a few numbers");
}

TEST(Frame, DataWithLineBreaksHasNoDataView) {
  auto f = make_frame("e-1", 1, "t", "m", "{\n\"a\": 1}", false);
  EXPECT_TRUE(f->data_json().empty());
  auto g = make_frame("e-1", 1, "t", "m", "", false);
  EXPECT_TRUE(g->data_json().empty());
}

TEST(Frame, WsPayloadOfAControlFrameIsItsBody) {
  auto f = std::make_shared<frame>();
  f->ws_frame = std::string("\x89\x02hi", 4);
  EXPECT_EQ(f->ws_payload(), "hi");
}
