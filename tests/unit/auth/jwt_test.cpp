// HS256 tokens: what is accepted, and every way a token is refused.
#include <string>

#include <gtest/gtest.h>

#include "rushcast/core/errc.hpp"
#include "rushcast/auth/authenticator.hpp"

using rushcast::auth::sign_hs256;
using rushcast::auth::verify_hs256;

namespace {

constexpr const char* secret = "top-secret-key";
constexpr std::int64_t now = 1'800'000'000;

// Base64url of a raw string, to forge tokens by hand.
std::string b64url(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    for (int s : {18, 12, 6, 0}) out += t[(v >> s) & 63];
  }
  if (in.size() - i == 1) {
    unsigned v = (unsigned char)in[i] << 16;
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
  } else if (in.size() - i == 2) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    for (int s : {18, 12, 6}) out += t[(v >> s) & 63];
  }
  return out;
}

bool refused(const std::string& token) {
  auto r = verify_hs256(token, secret, now);
  if (r) return false;
  EXPECT_EQ(r.error(), rushcast::make_error_code(rushcast::errc::unauthorized));
  return true;
}

}  // namespace

TEST(Jwt, GoodTokenGivesSub) {
  auto t = sign_hs256(R"({"sub":"alice","exp":1900000000})", secret);
  auto r = verify_hs256(t, secret, now);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "alice");
}

// A token without "exp" would never expire: a leaked one could not be retired.
TEST(Jwt, TokenWithoutExpIsRefused) {
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"bob"})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"bob","exp":null})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"bob","nbf":1700000000})", secret)));
  // jwt.io's HS256 example (secret "your-256-bit-secret") carries no exp.
  EXPECT_FALSE(verify_hs256("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                            "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
                            "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
                            "your-256-bit-secret", now));
}

TEST(Jwt, SubMustPassTheUserIdRule) {
  EXPECT_TRUE(verify_hs256(sign_hs256(R"({"sub":"alice@example.com","exp":1900000000})", secret),
                           secret, now));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"\ud83d\ude00","exp":1900000000})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"a b","exp":1900000000})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":")" + std::string(121, 'a') + R"(","exp":1900000000})",
                                 secret)));
}

TEST(Jwt, DeepClaimsAreRefusedWithoutCrashing) {
  std::string deep = R"({"sub":"alice","exp":1900000000,"x":)" + std::string(5000, '[') +
                     std::string(5000, ']') + "}";
  EXPECT_TRUE(refused(sign_hs256(deep, secret)));
}

TEST(Jwt, MatchesAKnownVector) {
  // jwt.io's HS256 example plus "exp":1900000000, signed with "your-256-bit-secret" by
  // Python's hmac (an implementation independent of ours).
  const std::string t =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyLCJleHAiOjE5MDAwMDAwMDB9."
      "iIhcPM75d3fp9L7Br2GfLoSitdGZ8UOa7XG8fV__PMM";
  auto r = verify_hs256(t, "your-256-bit-secret", now);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "1234567890");
}

TEST(Jwt, BadSignatureIsRefused) {
  auto t = sign_hs256(R"({"sub":"alice","exp":1900000000})", "other-secret");
  EXPECT_TRUE(refused(t));
  auto good = sign_hs256(R"({"sub":"alice","exp":1900000000})", secret);
  good.back() = good.back() == 'A' ? 'B' : 'A';
  EXPECT_TRUE(refused(good));
}

TEST(Jwt, TamperedPayloadIsRefused) {
  auto t = sign_hs256(R"({"sub":"alice","exp":1900000000})", secret);
  auto d1 = t.find('.');
  auto d2 = t.find('.', d1 + 1);
  std::string forged = t.substr(0, d1 + 1) + b64url(R"({"sub":"admin","exp":1900000000})") + t.substr(d2);
  EXPECT_TRUE(refused(forged));
}

TEST(Jwt, ExpiredTokenIsRefused) {
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"alice","exp":1799999999})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"alice","exp":1800000000})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"alice","exp":"never"})", secret)));
}

TEST(Jwt, NotBeforeInTheFutureIsRefused) {
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"alice","nbf":1800000100,"exp":1900000000})", secret)));
  EXPECT_TRUE(verify_hs256(sign_hs256(R"({"sub":"alice","nbf":1799999999,"exp":1900000000})", secret),
                           secret, now));
}

TEST(Jwt, AlgNoneIsRefused) {
  std::string t = b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(R"({"sub":"alice","exp":1900000000})") + ".";
  EXPECT_TRUE(refused(t));
}

TEST(Jwt, OtherAlgorithmIsRefusedEvenWithAValidHs256Signature) {
  // Same signing input as a real HS256 token would have, but the header claims HS512.
  std::string head = b64url(R"({"alg":"HS512"})");
  auto real = sign_hs256(R"({"sub":"alice","exp":1900000000})", secret);
  std::string t = head + real.substr(real.find('.'));
  EXPECT_TRUE(refused(t));
}

TEST(Jwt, MissingOrEmptySubIsRefused) {
  EXPECT_TRUE(refused(sign_hs256(R"({"name":"alice","exp":1900000000})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"","exp":1900000000})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":42,"exp":1900000000})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"a\u0001b","exp":1900000000})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"(["sub"])", secret)));
}

TEST(Jwt, GarbageIsRefused) {
  for (std::string g : {"", ".", "..", "...", "abc", "a.b", "a.b.c", "a.b.c.d", "!!!.###.$$$",
                        "eyJhbGciOiJIUzI1NiJ9.e30=.AAAA"}) {
    EXPECT_TRUE(refused(g)) << g;
  }
  auto t = sign_hs256(R"({"sub":"alice","exp":1900000000})", secret);
  EXPECT_TRUE(refused(t + "="));  // padding is not base64url as JWS uses it
}

TEST(Jwt, EmptySecretAcceptsNothing) {
  auto t = sign_hs256(R"({"sub":"alice","exp":1900000000})", "");
  EXPECT_FALSE(verify_hs256(t, "", now));
}
