// The display-name rule (chat presence "username").
#include <string>

#include <gtest/gtest.h>

#include "rushcast/api/display_name.hpp"

using rushcast::api::valid_display_name;

TEST(DisplayName, AcceptsPrintableUtf8UpTo64Bytes) {
  EXPECT_TRUE(valid_display_name("alice"));
  EXPECT_TRUE(valid_display_name("Zoë Smith"));
  EXPECT_TRUE(valid_display_name("\xE5\xAD\x90\xF0\x9F\x98\x80"));  // 子😀
  EXPECT_TRUE(valid_display_name(std::string(64, 'x')));
}

TEST(DisplayName, RefusesEmptyLongInvalidUtf8AndControls) {
  EXPECT_FALSE(valid_display_name(""));
  EXPECT_FALSE(valid_display_name(std::string(65, 'x')));
  EXPECT_FALSE(valid_display_name("\xFF\xFE"));          // the chat-room breaker of issue 11
  EXPECT_FALSE(valid_display_name("ab\xC3"));            // truncated sequence
  EXPECT_FALSE(valid_display_name("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(valid_display_name("\xE0\x80\xAF"));      // overlong, 3 bytes
  EXPECT_FALSE(valid_display_name("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(valid_display_name("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(valid_display_name("a\nb"));
  EXPECT_FALSE(valid_display_name(std::string("a\0b", 3)));
  EXPECT_FALSE(valid_display_name("a\x7F"));
  EXPECT_FALSE(valid_display_name("a\xC2\x85"));  // U+0085, a C1 control
}
