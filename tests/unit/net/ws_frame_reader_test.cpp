// ws_frame_reader: client frames in any split, 7/16/64-bit lengths, fragmentation with control
// frames in between, protocol errors (1002), the message cap (1009) and close codes.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rushcast/net/ws_frame_reader.hpp"

using rushcast::net::ws_event;
using rushcast::net::ws_frame_reader;
using kind = ws_event::kind;

namespace {

// A masked client frame. len_bytes forces the length encoding (0: the shortest).
std::string frame(std::uint8_t opcode, const std::string& payload, bool fin = true,
                  bool masked = true, std::uint8_t rsv = 0, int len_bytes = 0) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | rsv | opcode));
  const std::uint8_t m = masked ? 0x80 : 0;
  const std::size_t n = payload.size();
  if (len_bytes == 0) len_bytes = n < 126 ? 1 : n <= 0xFFFF ? 2 : 8;
  if (len_bytes == 1) {
    f.push_back(static_cast<char>(m | n));
  } else if (len_bytes == 2) {
    f.push_back(static_cast<char>(m | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(static_cast<char>(m | 127));
    for (int k = 7; k >= 0; --k) f.push_back(static_cast<char>((std::uint64_t{n} >> (8 * k)) & 0xFF));
  }
  const unsigned char key[4] = {0x37, 0xFA, 0x21, 0x3D};
  if (masked) f.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < n; ++i)
    f.push_back(masked ? static_cast<char>(static_cast<unsigned char>(payload[i]) ^ key[i % 4])
                       : payload[i]);
  return f;
}

std::vector<ws_event> feed_all(ws_frame_reader& r, const std::string& bytes) {
  std::vector<ws_event> out;
  r.feed(bytes, out);
  return out;
}

std::vector<ws_event> feed_bytewise(ws_frame_reader& r, const std::string& bytes) {
  std::vector<ws_event> out;
  for (char c : bytes) r.feed(std::string_view(&c, 1), out);
  return out;
}

}  // namespace

TEST(WsFrameReader, SingleTextFrame) {
  ws_frame_reader r(1024);
  auto ev = feed_all(r, frame(0x1, R"({"type":"ping"})"));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, kind::text);
  EXPECT_EQ(ev[0].payload, R"({"type":"ping"})");
  EXPECT_TRUE(r.idle());
}

TEST(WsFrameReader, EmptyTextFrame) {
  ws_frame_reader r(1024);
  auto ev = feed_all(r, frame(0x1, ""));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, kind::text);
  EXPECT_EQ(ev[0].payload, "");
  EXPECT_TRUE(r.idle());
}

TEST(WsFrameReader, SplitByteByByte) {
  ws_frame_reader r(1024);
  const std::string bytes = frame(0x1, "hello") + frame(0x9, "p") + frame(0x1, "world");
  auto out = feed_bytewise(r, bytes);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].payload, "hello");
  EXPECT_EQ(out[1].type, kind::ping);
  EXPECT_EQ(out[1].payload, "p");
  EXPECT_EQ(out[2].payload, "world");
  EXPECT_TRUE(r.idle());
}

TEST(WsFrameReader, NotIdleWhileAFrameIsIncomplete) {
  ws_frame_reader r(1024);
  const std::string f = frame(0x1, "abc");
  std::vector<ws_event> out;
  r.feed(std::string_view(f.data(), 1), out);
  EXPECT_FALSE(r.idle());
  r.feed(std::string_view(f.data() + 1, f.size() - 2), out);
  EXPECT_FALSE(r.idle());
  EXPECT_TRUE(out.empty());
  r.feed(std::string_view(f.data() + f.size() - 1, 1), out);
  EXPECT_TRUE(r.idle());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, "abc");
}

TEST(WsFrameReader, SixteenBitLength) {
  ws_frame_reader r(100000);
  const std::string p(300, 'x');
  auto ev = feed_bytewise(r, frame(0x1, p));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].payload, p);
  const std::string q(65535, 'y');
  ev = feed_all(r, frame(0x1, q));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].payload, q);
}

TEST(WsFrameReader, SixtyFourBitLength) {
  ws_frame_reader r(200000);
  const std::string p(70000, 'z');
  auto ev = feed_all(r, frame(0x1, p));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].payload, p);
  // A short payload with a (non-minimal) 64-bit length is still read right.
  ev = feed_all(r, frame(0x1, "abc", true, true, 0, 8));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].payload, "abc");
}

TEST(WsFrameReader, FragmentedMessageWithAPingInTheMiddle) {
  ws_frame_reader r(1024);
  const std::string bytes = frame(0x1, "hel", false) + frame(0x9, "mid") +
                            frame(0x0, "lo ", false) + frame(0xA, "") + frame(0x0, "there");
  for (bool bytewise : {false, true}) {
    auto ev = bytewise ? feed_bytewise(r, bytes) : feed_all(r, bytes);
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].type, kind::ping);
    EXPECT_EQ(ev[0].payload, "mid");
    EXPECT_EQ(ev[1].type, kind::pong);
    EXPECT_EQ(ev[2].type, kind::text);
    EXPECT_EQ(ev[2].payload, "hello there");
    EXPECT_TRUE(r.idle());
  }
}

TEST(WsFrameReader, BinaryMessage) {
  ws_frame_reader r(1024);
  auto ev = feed_all(r, frame(0x2, std::string("\x00\xff", 2)));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, kind::binary);
  EXPECT_EQ(ev[0].payload, std::string("\x00\xff", 2));
}

TEST(WsFrameReader, UnmaskedFrameIsAProtocolError) {
  ws_frame_reader r(1024);
  auto ev = feed_all(r, frame(0x1, "hi", true, false) + frame(0x1, "ignored"));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, kind::error);
  EXPECT_EQ(ev[0].code, 1002);
  EXPECT_TRUE(r.failed());
  EXPECT_FALSE(r.idle());
  // Nothing more once failed.
  EXPECT_TRUE(feed_all(r, frame(0x1, "later")).empty());
}

TEST(WsFrameReader, OversizeMessageIs1009) {
  ws_frame_reader r(16);
  auto ev = feed_all(r, frame(0x1, std::string(17, 'a')));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, kind::error);
  EXPECT_EQ(ev[0].code, 1009);

  // Exactly at the cap is fine; fragments add up.
  ws_frame_reader ok(16);
  ev = feed_all(ok, frame(0x1, std::string(16, 'a')));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, kind::text);

  ws_frame_reader frag(16);
  ev = feed_all(frag, frame(0x1, std::string(10, 'a'), false) + frame(0x0, std::string(7, 'b')));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, kind::error);
  EXPECT_EQ(ev[0].code, 1009);

  // Known from the header alone: a huge announced length fails before any payload arrives.
  ws_frame_reader big(16);
  std::string hdr = frame(0x1, std::string(70000, 'c')).substr(0, 14);
  ev = feed_all(big, hdr);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, 1009);
}

TEST(WsFrameReader, ReservedBitsAndUnknownOpcodesAre1002) {
  for (std::uint8_t rsv : {0x40, 0x20, 0x10}) {
    ws_frame_reader r(1024);
    auto ev = feed_all(r, frame(0x1, "x", true, true, rsv));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].type, kind::error);
    EXPECT_EQ(ev[0].code, 1002);
  }
  for (std::uint8_t op : {0x3, 0x7, 0xB, 0xF}) {
    ws_frame_reader r(1024);
    auto ev = feed_all(r, frame(op, "x"));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].code, 1002);
  }
}

TEST(WsFrameReader, BadFragmentationAndControlFramesAre1002) {
  auto first_error = [](const std::string& bytes) {
    ws_frame_reader r(100000);
    for (auto& e : feed_all(r, bytes))
      if (e.type == kind::error) return e.code;
    return std::uint16_t{0};
  };
  EXPECT_EQ(first_error(frame(0x0, "orphan")), 1002);                       // no message
  EXPECT_EQ(first_error(frame(0x1, "a", false) + frame(0x1, "b")), 1002);  // nested start
  EXPECT_EQ(first_error(frame(0x9, "p", false)), 1002);                     // fragmented ping
  EXPECT_EQ(first_error(frame(0x9, std::string(126, 'p'))), 1002);          // control > 125
  EXPECT_EQ(first_error(frame(0x8, "x")), 1002);                           // 1-byte close
  EXPECT_EQ(first_error(frame(0x8, std::string("\x03\xed", 2))), 1002);    // code 1005
  EXPECT_EQ(first_error(frame(0x1, "\xc3\x28")), 1007);                     // bad UTF-8
}

TEST(WsFrameReader, CloseWithCodeAndReason) {
  ws_frame_reader r(1024);
  auto ev = feed_bytewise(r, frame(0x8, std::string("\x03\xe8", 2) + "bye"));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, kind::close);
  EXPECT_EQ(ev[0].code, 1000);
  EXPECT_EQ(ev[0].payload, "bye");

  ws_frame_reader empty(1024);
  ev = feed_all(empty, frame(0x8, ""));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, kind::close);
  EXPECT_EQ(ev[0].code, 0);

  ws_frame_reader app(1024);
  ev = feed_all(app, frame(0x8, std::string("\x0f\xa0", 2)));  // 4000
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, 4000);
}

TEST(WsFrameReader, ValidUtf8IsAccepted) {
  ws_frame_reader r(1024);
  const std::string s = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";
  auto ev = feed_bytewise(r, frame(0x1, s.substr(0, 5), false) + frame(0x0, s.substr(5)));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, kind::text);
  EXPECT_EQ(ev[0].payload, s);
}
