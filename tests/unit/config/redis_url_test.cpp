// storage.redis_url: every part of redis://[[user]:password@]host[:port][/db], and each way it
// can be wrong.
#include "rushcast/config/redis_url.hpp"

#include <gtest/gtest.h>

namespace rushcast::config {
namespace {

std::string why_not(std::string_view text) {
  std::string why;
  EXPECT_FALSE(parse_redis_url(text, &why)) << text;
  return why;
}

TEST(RedisUrl, HostAloneTakesTheDefaults) {
  auto u = parse_redis_url("redis://127.0.0.1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 6379);
  EXPECT_EQ(u->db, 0u);
  EXPECT_TRUE(u->password.empty());
  EXPECT_TRUE(u->username.empty());
}

TEST(RedisUrl, PortAndDatabaseAreRead) {
  auto u = parse_redis_url("redis://redis.internal:6380/3");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "redis.internal");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 3u);
}

TEST(RedisUrl, PasswordWithoutUserIsRead) {
  auto u = parse_redis_url("redis://:s3cret@10.1.2.3:6379/0");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->password, "s3cret");
  EXPECT_TRUE(u->username.empty());
  EXPECT_EQ(u->host, "10.1.2.3");
}

TEST(RedisUrl, AclUserAndEscapedPasswordAreRead) {
  auto u = parse_redis_url("redis://app:p%40ss%3Aw@h/1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->username, "app");
  EXPECT_EQ(u->password, "p@ss:w");
  EXPECT_EQ(u->db, 1u);
}

TEST(RedisUrl, BareWordBeforeAtIsThePassword) {
  auto u = parse_redis_url("redis://secret@h");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->password, "secret");
  EXPECT_TRUE(u->username.empty());
}

TEST(RedisUrl, Ipv6HostInBrackets) {
  auto u = parse_redis_url("redis://[::1]:7000/2");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 7000);
  EXPECT_EQ(u->db, 2u);
}

TEST(RedisUrl, TrailingSlashMeansDatabaseZero) {
  auto u = parse_redis_url("redis://h:1/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->db, 0u);
}

TEST(RedisUrl, WrongSchemeIsRefused) {
  EXPECT_NE(why_not("rediss://h").find("redis://"), std::string::npos);
  EXPECT_NE(why_not("127.0.0.1:6379").find("redis://"), std::string::npos);
}

TEST(RedisUrl, BadPartsAreNamed) {
  EXPECT_EQ(why_not("redis://"), "has no host");
  EXPECT_EQ(why_not("redis://:6379"), "has no host");
  EXPECT_EQ(why_not("redis://h:"), "has an empty port");
  EXPECT_EQ(why_not("redis://h:0"), "has a port that is not an integer between 1 and 65535");
  EXPECT_EQ(why_not("redis://h:65536"), "has a port that is not an integer between 1 and 65535");
  EXPECT_EQ(why_not("redis://h:12ab"), "has a port that is not an integer between 1 and 65535");
  EXPECT_NE(why_not("redis://h/x").find("database"), std::string::npos);
  EXPECT_NE(why_not("redis://h/-1").find("database"), std::string::npos);
  EXPECT_EQ(why_not("redis://:@h"), "has an empty password before '@'");
  EXPECT_NE(why_not("redis://:p%4@h").find("%-escape"), std::string::npos);
  EXPECT_NE(why_not("redis://[::1").find("'['"), std::string::npos);
  EXPECT_NE(why_not("redis://h h").find("host"), std::string::npos);
}

TEST(RedisUrl, ErrorNeverRepeatsThePassword) {
  EXPECT_EQ(why_not("redis://:hunter2@h:0").find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace rushcast::config
