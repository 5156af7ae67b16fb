// The RESP codec over hiredis: commands formatted byte for byte, every reply type converted,
// replies split across reads or packed into one, and bytes that are not RESP.
#include "rushcast/redis/reply.hpp"

#include <gtest/gtest.h>

#include "rushcast/redis/error.hpp"

namespace rushcast::redis {
namespace {

std::optional<reply> parse_one(std::string_view bytes) {
  reply_reader r;
  r.feed(bytes.data(), bytes.size());
  boost::system::error_code ec;
  auto out = r.next(ec);
  EXPECT_FALSE(ec) << bytes;
  return out;
}

TEST(RedisCodec, CommandIsAnArrayOfBulkStrings) {
  const std::string_view args[] = {"SET", "k", "value"};
  EXPECT_EQ(format_command(args), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n");
}

TEST(RedisCodec, CommandArgumentsAreBinarySafe) {
  const std::string bin("a\0b\r\n", 5);
  const std::string_view args[] = {"SET", bin, ""};
  static constexpr char expected[] = "*3\r\n$3\r\nSET\r\n$5\r\na\0b\r\n\r\n$0\r\n\r\n";
  EXPECT_EQ(format_command(args), std::string(expected, sizeof expected - 1));
}

TEST(RedisCodec, StatusReply) {
  auto r = parse_one("+OK\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, reply::kind::status);
  EXPECT_EQ(r->str, "OK");
}

TEST(RedisCodec, ErrorReplyKeepsItsText) {
  auto r = parse_one("-ERR unknown command 'NOPE'\r\n");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_error());
  EXPECT_EQ(r->str, "ERR unknown command 'NOPE'");
}

TEST(RedisCodec, IntegerReply) {
  auto r = parse_one(":-1234567890123\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, reply::kind::integer);
  EXPECT_EQ(r->integer, -1234567890123);
  EXPECT_EQ(r->as_int(), -1234567890123);
  EXPECT_EQ(r->text(), "-1234567890123");
}

TEST(RedisCodec, BulkStringIsBinarySafe) {
  auto r = parse_one(std::string("$4\r\na\0\r\n\r\n", 11));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, reply::kind::string);
  EXPECT_EQ(r->str, std::string("a\0\r\n", 4));
}

TEST(RedisCodec, NilBulkAndNilArrayAreNil) {
  auto a = parse_one("$-1\r\n");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_nil());
  auto b = parse_one("*-1\r\n");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->is_nil());
}

TEST(RedisCodec, NestedArraysAreConverted) {
  auto r = parse_one("*3\r\n:1\r\n*2\r\n$3\r\nabc\r\n$-1\r\n*0\r\n");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->is_array());
  ASSERT_EQ(r->elements.size(), 3u);
  EXPECT_EQ(r->at(0).integer, 1);
  ASSERT_EQ(r->at(1).elements.size(), 2u);
  EXPECT_EQ(r->at(1).at(0).str, "abc");
  EXPECT_TRUE(r->at(1).at(1).is_nil());
  EXPECT_TRUE(r->at(2).is_array());
  EXPECT_TRUE(r->at(2).elements.empty());
  EXPECT_TRUE(r->at(7).is_nil());  // out of range: nil, not a crash
}

TEST(RedisCodec, BulkStringOfDigitsReadsAsInteger) {
  reply r;
  r.type = reply::kind::string;
  r.str = "42";
  EXPECT_EQ(r.as_int(), 42);
  r.str = "4x";
  EXPECT_FALSE(r.as_int());
  r.type = reply::kind::nil;
  EXPECT_FALSE(r.as_int());
}

TEST(RedisCodec, ReplySplitAcrossReadsWaitsForTheRest) {
  const std::string bytes = "*2\r\n$5\r\nhello\r\n:7\r\n";
  reply_reader r;
  boost::system::error_code ec;
  for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
    r.feed(&bytes[i], 1);
    EXPECT_FALSE(r.next(ec)) << "after byte " << i;
    EXPECT_FALSE(ec);
  }
  r.feed(&bytes.back(), 1);
  auto out = r.next(ec);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->at(0).str, "hello");
  EXPECT_EQ(out->at(1).integer, 7);
}

TEST(RedisCodec, SeveralRepliesInOneReadComeOutInOrder) {
  reply_reader r;
  const std::string bytes = "+A\r\n:2\r\n$1\r\nc\r\n";
  r.feed(bytes.data(), bytes.size());
  boost::system::error_code ec;
  EXPECT_EQ(r.next(ec)->str, "A");
  EXPECT_EQ(r.next(ec)->integer, 2);
  EXPECT_EQ(r.next(ec)->str, "c");
  EXPECT_FALSE(r.next(ec));
  EXPECT_FALSE(ec);
}

TEST(RedisCodec, BytesThatAreNotRespAreAProtocolError) {
  reply_reader r;
  const std::string bytes = "HTTP/1.1 200 OK\r\n";
  r.feed(bytes.data(), bytes.size());
  boost::system::error_code ec;
  EXPECT_FALSE(r.next(ec));
  EXPECT_EQ(ec, make_error_code(error::protocol_error));
  EXPECT_FALSE(r.error_text().empty());
}

TEST(RedisErrors, EachHasAMessageAndTheCategory) {
  for (int e = 1; e <= static_cast<int>(error::closed); ++e) {
    auto ec = make_error_code(static_cast<error>(e));
    EXPECT_STREQ(ec.category().name(), "rushcast.redis");
    EXPECT_NE(ec.message(), "unknown redis error");
  }
}

}  // namespace
}  // namespace rushcast::redis
