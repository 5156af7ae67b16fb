// The file descriptor check of limits.max_connections: the numbers and the advice it logs.
#include "rushcast/app/fd_limit.hpp"

#include <gtest/gtest.h>

using namespace rushcast::app;

TEST(FdLimit, NeedsOnePerConnectionAndTheDaemonsOwn) {
  EXPECT_GT(fds_needed(100000, 4), 100000u);
  EXPECT_LT(fds_needed(100000, 4), 100200u);
  EXPECT_GT(fds_needed(100000, 16), fds_needed(100000, 1));
}

TEST(FdLimit, WarnsWithTheNumbersAndHowToRaiseIt) {
  const auto needed = fds_needed(100000, 2);
  std::string w = fd_limit_warning(100000, needed, 1024);
  EXPECT_NE(w.find("limits.max_connections is 100000"), std::string::npos) << w;
  EXPECT_NE(w.find("only 1024"), std::string::npos) << w;
  EXPECT_NE(w.find(std::to_string(needed)), std::string::npos) << w;
  EXPECT_NE(w.find("LimitNOFILE"), std::string::npos) << w;
  EXPECT_NE(w.find("OPERATIONS.md"), std::string::npos) << w;
}

TEST(FdLimit, QuietWhenTheLimitSuffices) {
  const auto needed = fds_needed(1000, 2);
  EXPECT_EQ(fd_limit_warning(1000, needed, needed), "");
  EXPECT_EQ(fd_limit_warning(1000, needed, 1048576), "");
}
