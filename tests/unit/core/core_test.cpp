// The ground floor's vocabulary: error codes and their category, id and topic syntax, the clock.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "rushcast/api/errc.hpp"
#include "rushcast/core/clock.hpp"
#include "rushcast/core/errc.hpp"
#include "rushcast/core/ids.hpp"

namespace rushcast {
namespace {

TEST(CoreErrc, EveryCodeHasAWireNameAMessageAndAStatus) {
  for (std::size_t i = 0; i < errc_count; ++i) {
    const auto e = static_cast<errc>(i);
    EXPECT_FALSE(error_name(e).empty()) << i;
    const auto ec = make_error_code(e);
    EXPECT_EQ(&ec.category(), &rushcast_category());
    EXPECT_NE(ec.message(), "unknown rushcast error") << i;
    EXPECT_GE(http_status(e), 200u) << i;
  }
  EXPECT_EQ(error_name(errc::bid_too_low), "bid_too_low");
  EXPECT_EQ(http_status(errc::bid_too_low), 409u);
  EXPECT_EQ(http_status(static_cast<errc>(errc_count)), 500u);
  EXPECT_EQ(error_name(static_cast<errc>(errc_count)), "internal");
}

TEST(CoreIds, EveryAdmittedUserIdMakesAValidUserTopic) {
  EXPECT_EQ(core::check_user_id("alice@example.com"), errc::ok);
  EXPECT_EQ(core::check_user_id(""), errc::missing_user_id);
  EXPECT_EQ(core::check_user_id("a b"), errc::bad_user_id);
  const std::string longest(core::max_user_id_bytes, 'u');
  EXPECT_EQ(core::check_user_id(longest), errc::ok);
  EXPECT_TRUE(core::valid_topic("user:" + longest));
  EXPECT_FALSE(core::valid_topic(std::string(core::max_topic_bytes + 1, 't')));
}

TEST(CoreClock, ReadsTheSystemClockInMilliseconds) {
  using namespace std::chrono;
  const auto before = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  const auto t = core::now_ms();
  const auto after = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  EXPECT_LE(before, t);
  EXPECT_LE(t, after);
}

}  // namespace
}  // namespace rushcast
