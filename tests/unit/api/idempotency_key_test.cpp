// What an Idempotency-Key header may hold.
#include <gtest/gtest.h>

#include "rushcast/api/idempotency_key.hpp"
#include "rushcast/core/errc.hpp"

namespace rushcast::api {
namespace {

TEST(IdempotencyKey, AbsentHeaderIsNoKey) {
  auto k = read_idempotency_key(std::nullopt);
  ASSERT_TRUE(k);
  EXPECT_EQ(*k, "");
}

TEST(IdempotencyKey, IdCharactersUpToTheBoundAreTaken) {
  EXPECT_EQ(*read_idempotency_key(std::string("550e8400-e29b-41d4-a716-446655440000")),
            "550e8400-e29b-41d4-a716-446655440000");
  EXPECT_EQ(*read_idempotency_key(std::string("a_b.c:d-E9")), "a_b.c:d-E9");
  const std::string longest(max_idempotency_key_bytes, 'k');
  EXPECT_EQ(*read_idempotency_key(longest), longest);
}

TEST(IdempotencyKey, EmptyTooLongOrOtherCharactersIsBadRequest) {
  for (const std::string bad :
       {std::string(), std::string(max_idempotency_key_bytes + 1, 'k'), std::string("a b"),
        std::string("a\tb"), std::string("caf\xc3\xa9"), std::string("a@b"),
        std::string("a/b"), std::string("a+b")}) {
    auto k = read_idempotency_key(bad);
    ASSERT_FALSE(k) << bad;
    EXPECT_EQ(k.error(), make_error_code(errc::bad_request));
  }
}

}  // namespace
}  // namespace rushcast::api
