// Who a request is: userId with auth off, token sources with auth on, the publish key.
#include <gtest/gtest.h>

#include "rushcast/core/errc.hpp"
#include "rushcast/api/http_types.hpp"
#include "rushcast/auth/authenticator.hpp"

using namespace rushcast;

namespace {

config::auth_cfg jwt_cfg() {
  config::auth_cfg c;
  c.mode = "jwt";
  c.jwt_secret = "k3y";
  c.publish_key = "pub";
  return c;
}

std::string token_for(const std::string& sub) {
  return auth::sign_hs256(R"({"sub":")" + sub + R"(","exp":4102444800})", "k3y");
}

}  // namespace

TEST(Authenticator, AuthOffTakesUserIdParameter) {
  config::auth_cfg c;
  auth::authenticator a(c);
  api::request req;
  req.query["userId"] = "u1";
  auto id = a.identify(req);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->user_id, "u1");
  EXPECT_FALSE(id->from_token);
  EXPECT_FALSE(a.jwt_on());
}

TEST(Authenticator, AuthOffWithoutUserIdIsAnonymous) {
  auth::authenticator a(config::auth_cfg{});
  auto id = a.identify(api::request{});
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->user_id.empty());
}

TEST(Authenticator, AuthOffRefusesControlCharsInUserId) {
  auth::authenticator a(config::auth_cfg{});
  api::request req;
  req.query["userId"] = std::string("a\nb");
  auto id = a.identify(req);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error(), make_error_code(errc::bad_user_id));
}

TEST(Authenticator, OneUserIdRuleForQueriesBodiesAndTokens) {
  auth::authenticator off(config::auth_cfg{});
  auth::authenticator on(jwt_cfg());
  for (std::string bad : {std::string("\xF0\x9F\x98\x80"), std::string("a b"), std::string("a/b"), std::string(121, 'x')}) {
    api::request req;
    req.query["userId"] = bad;
    EXPECT_EQ(off.identify(req).error(), make_error_code(errc::bad_user_id)) << bad;
    EXPECT_EQ(off.acting_user(req, bad).error(), make_error_code(errc::bad_user_id)) << bad;
    api::request with_token;
    with_token.query["token"] = token_for(bad);
    EXPECT_EQ(on.identify(with_token).error(), make_error_code(errc::unauthorized)) << bad;
  }
  api::request req;
  req.query["userId"] = "alice@example.com";
  EXPECT_EQ(off.identify(req)->user_id, "alice@example.com");
  req.query["token"] = token_for("alice@example.com");
  EXPECT_EQ(on.identify(req)->user_id, "alice@example.com");
}

TEST(Authenticator, TokenFromQuery) {
  auth::authenticator a(jwt_cfg());
  api::request req;
  req.query["token"] = token_for("alice");
  auto id = a.identify(req);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->user_id, "alice");
  EXPECT_TRUE(id->from_token);
}

TEST(Authenticator, TokenFromBearerHeader) {
  auth::authenticator a(jwt_cfg());
  api::request req;
  req.headers["authorization"] = "bearer " + token_for("bob");
  auto id = a.identify(req);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->user_id, "bob");
}

TEST(Authenticator, TokenFromCookie) {
  auth::authenticator a(jwt_cfg());
  api::request req;
  req.headers["cookie"] = "theme=dark; rushcast_token=" + token_for("carol") + "; x=y";
  auto id = a.identify(req);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->user_id, "carol");
}

TEST(Authenticator, UserIdParameterIsIgnoredWithJwt) {
  auth::authenticator a(jwt_cfg());
  api::request req;
  req.query["userId"] = "mallory";
  auto id = a.identify(req);
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->user_id.empty());
}

TEST(Authenticator, BadTokenIsUnauthorized) {
  auth::authenticator a(jwt_cfg());
  api::request req;
  req.query["token"] = auth::sign_hs256(R"({"sub":"alice","exp":4102444800})", "wrong");
  auto id = a.identify(req);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error(), make_error_code(errc::unauthorized));
}

TEST(Authenticator, ActingUserFollowsTheMode) {
  auth::authenticator off(config::auth_cfg{});
  api::request req;
  EXPECT_EQ(*off.acting_user(req, "u7"), "u7");
  EXPECT_EQ(off.acting_user(req, "").error(), make_error_code(errc::missing_user_id));
  EXPECT_EQ(off.acting_user(req, std::string(129, 'x')).error(),
            make_error_code(errc::bad_user_id));

  auth::authenticator on(jwt_cfg());
  EXPECT_EQ(on.acting_user(req, "u7").error(), make_error_code(errc::unauthorized));
  req.query["token"] = token_for("alice");
  EXPECT_EQ(*on.acting_user(req, "someone-else"), "alice");
}

TEST(Authenticator, PublishKeyMustMatchExactly) {
  auth::authenticator a(jwt_cfg());
  api::request req;
  EXPECT_FALSE(a.check_publish_key(req));
  req.headers["authorization"] = "Bearer pub";
  EXPECT_TRUE(a.check_publish_key(req));
  req.headers["authorization"] = "Bearer pubx";
  EXPECT_FALSE(a.check_publish_key(req));
  req.headers["authorization"] = "Basic pub";
  EXPECT_FALSE(a.check_publish_key(req));
  req.headers["authorization"] = "Bearer ";
  EXPECT_FALSE(a.check_publish_key(req));
}

TEST(Authenticator, EmptyPublishKeyDisablesPublishing) {
  auth::authenticator a(config::auth_cfg{});
  api::request req;
  req.headers["authorization"] = "Bearer ";
  EXPECT_FALSE(a.check_publish_key(req));
  req.headers["authorization"] = "Bearer anything";
  EXPECT_FALSE(a.check_publish_key(req));
}
