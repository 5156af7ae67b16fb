// HS256 tokens: what is accepted, and every way a token is refused.
#include <string>

#include <gtest/gtest.h>

#include "rushcast/api/errc.hpp"
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

TEST(Jwt, TokenWithoutExpIsAccepted) {
  auto r = verify_hs256(sign_hs256(R"({"sub":"bob"})", secret), secret, now);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "bob");
}

TEST(Jwt, MatchesAKnownVector) {
  // jwt.io's HS256 example with secret "your-256-bit-secret".
  const std::string t =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  auto r = verify_hs256(t, "your-256-bit-secret", now);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "1234567890");
}

TEST(Jwt, BadSignatureIsRefused) {
  auto t = sign_hs256(R"({"sub":"alice"})", "other-secret");
  EXPECT_TRUE(refused(t));
  auto good = sign_hs256(R"({"sub":"alice"})", secret);
  good.back() = good.back() == 'A' ? 'B' : 'A';
  EXPECT_TRUE(refused(good));
}

TEST(Jwt, TamperedPayloadIsRefused) {
  auto t = sign_hs256(R"({"sub":"alice"})", secret);
  auto d1 = t.find('.');
  auto d2 = t.find('.', d1 + 1);
  std::string forged = t.substr(0, d1 + 1) + b64url(R"({"sub":"admin"})") + t.substr(d2);
  EXPECT_TRUE(refused(forged));
}

TEST(Jwt, ExpiredTokenIsRefused) {
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"alice","exp":1799999999})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"alice","exp":1800000000})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"alice","exp":"never"})", secret)));
}

TEST(Jwt, NotBeforeInTheFutureIsRefused) {
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"alice","nbf":1800000100})", secret)));
}

TEST(Jwt, AlgNoneIsRefused) {
  std::string t = b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(R"({"sub":"alice"})") + ".";
  EXPECT_TRUE(refused(t));
}

TEST(Jwt, OtherAlgorithmIsRefusedEvenWithAValidHs256Signature) {
  // Same signing input as a real HS256 token would have, but the header claims HS512.
  std::string head = b64url(R"({"alg":"HS512"})");
  auto real = sign_hs256(R"({"sub":"alice"})", secret);
  std::string t = head + real.substr(real.find('.'));
  EXPECT_TRUE(refused(t));
}

TEST(Jwt, MissingOrEmptySubIsRefused) {
  EXPECT_TRUE(refused(sign_hs256(R"({"name":"alice"})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":""})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":42})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"({"sub":"a\u0001b"})", secret)));
  EXPECT_TRUE(refused(sign_hs256(R"(["sub"])", secret)));
}

TEST(Jwt, GarbageIsRefused) {
  for (std::string g : {"", ".", "..", "...", "abc", "a.b", "a.b.c", "a.b.c.d", "!!!.###.$$$",
                        "eyJhbGciOiJIUzI1NiJ9.e30=.AAAA"}) {
    EXPECT_TRUE(refused(g)) << g;
  }
  auto t = sign_hs256(R"({"sub":"alice"})", secret);
  EXPECT_TRUE(refused(t + "="));  // padding is not base64url as JWS uses it
}

TEST(Jwt, EmptySecretAcceptsNothing) {
  auto t = sign_hs256(R"({"sub":"alice"})", "");
  EXPECT_FALSE(verify_hs256(t, "", now));
}
