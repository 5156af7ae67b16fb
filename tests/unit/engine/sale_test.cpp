// Tests the pure sale rules with a manual clock: phases, FIFO admission, sell-out without
// queueing, duplicates, per-user limit, processing order and recovery.
#include <gtest/gtest.h>

#include "rushcast/core/errc.hpp"
#include "rushcast/engine/sale.hpp"

using namespace rushcast;
using namespace rushcast::engine;

namespace {

struct fixture {
  std::int64_t now = 1000;
  sale s;
  explicit fixture(std::int64_t stock, std::int64_t limit = 1)
      : s(sale_params{"s1", "Sale", stock, 2000, 5000, limit}, [this] { return now; }) {}

  std::int64_t admit_ok(const std::string& user) {
    auto r = s.admit(user);
    EXPECT_TRUE(r.has_value()) << user;
    EXPECT_EQ(r->kind, admit_decision::queued) << user;
    s.admitted(r->position);
    return r->position;
  }
};

}  // namespace

TEST(SalePhase, FollowsServerClock) {
  fixture f(2);
  EXPECT_EQ(f.s.phase(), sale_phase::upcoming);
  f.now = 2000;
  EXPECT_EQ(f.s.phase(), sale_phase::open);
  f.admit_ok("a");
  f.admit_ok("b");
  EXPECT_EQ(f.s.phase(), sale_phase::sold_out);
  f.now = 5000;
  EXPECT_EQ(f.s.phase(), sale_phase::ended);
}

TEST(SaleAdmission, BeforeStartIsNotStarted) {
  fixture f(5);
  auto r = f.s.admit("a");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), make_error_code(errc::not_started));
  EXPECT_EQ(f.s.reserved(), 0);
}

TEST(SaleAdmission, AfterEndIsEnded) {
  fixture f(5);
  f.now = 6000;
  auto r = f.s.admit("a");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), make_error_code(errc::ended));
}

TEST(SaleAdmission, PositionsAreFifoAndReserveStock) {
  fixture f(3);
  f.now = 2500;
  EXPECT_EQ(f.admit_ok("a"), 1);
  EXPECT_EQ(f.admit_ok("b"), 2);
  EXPECT_EQ(f.s.reserved(), 2);
  EXPECT_EQ(f.s.queued(), 2);
  EXPECT_EQ(f.s.stock(), 3);  // nothing sold yet
}

TEST(SaleAdmission, SoldOutOnceEveryUnitIsReservedWithoutQueueing) {
  fixture f(2);
  f.now = 2500;
  f.admit_ok("a");
  f.admit_ok("b");
  auto r = f.s.admit("c");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->kind, admit_decision::sold_out);
  EXPECT_EQ(f.s.queued(), 2);
  EXPECT_EQ(f.s.last_position(), 2);
  EXPECT_EQ(f.s.answer_for("c").status, user_answer::sold_out);
}

TEST(SaleAdmission, SecondRequestIsDuplicate) {
  fixture f(5);
  f.now = 2500;
  f.admit_ok("a");
  auto r = f.s.admit("a");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), make_error_code(errc::duplicate));
  auto ans = f.s.answer_for("a");
  EXPECT_EQ(ans.status, user_answer::queued);
  EXPECT_EQ(ans.position, 1);
  EXPECT_EQ(f.s.reserved(), 1);
}

TEST(SaleAdmission, DuplicateAfterSuccessTellsTheOrder) {
  fixture f(5);
  f.now = 2500;
  f.admit_ok("a");
  auto p = f.s.take_next();
  ASSERT_TRUE(p);
  f.s.completed(*p);
  auto r = f.s.admit("a");
  ASSERT_TRUE(r.has_error());
  auto ans = f.s.answer_for("a");
  EXPECT_EQ(ans.status, user_answer::success);
  EXPECT_EQ(ans.order_id, "s1-1");
}

TEST(SaleAdmission, PerUserLimitCountsPerUser) {
  fixture f(10, 2);
  f.now = 2500;
  EXPECT_EQ(f.admit_ok("a"), 1);
  EXPECT_EQ(f.admit_ok("b"), 2);
  EXPECT_EQ(f.admit_ok("a"), 3);
  auto r = f.s.admit("a");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), make_error_code(errc::duplicate));
  EXPECT_EQ(f.s.slot(3)->user_seq, 2);
  EXPECT_EQ(f.s.answer_for("a").position, 3);
}

TEST(SaleAdmission, ReleasedUnitGoesBackAndUserMayRetry) {
  fixture f(1);
  f.now = 2500;
  auto r = f.s.admit("a");
  ASSERT_TRUE(r.has_value());
  f.s.release(r->position);
  EXPECT_EQ(f.s.reserved(), 0);
  EXPECT_EQ(f.s.phase(), sale_phase::open);
  EXPECT_EQ(f.s.answer_for("a").status, user_answer::none);
  EXPECT_EQ(f.admit_ok("a"), 2);
  // The hole at position 1 is skipped by processing.
  EXPECT_EQ(f.s.take_next(), std::optional<std::int64_t>(2));
}

TEST(SaleProcessing, WorksOffInAdmissionOrder) {
  fixture f(5);
  f.now = 2500;
  f.admit_ok("a");
  f.admit_ok("b");
  f.admit_ok("c");
  std::vector<std::int64_t> order;
  while (auto p = f.s.take_next()) {
    order.push_back(*p);
    f.s.completed(*p);
    EXPECT_EQ(f.s.head(), *p);
  }
  EXPECT_EQ(order, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(f.s.sold(), 3);
  EXPECT_EQ(f.s.stock(), 2);
  EXPECT_EQ(f.s.queued(), 0);
}

TEST(SaleProcessing, PendingHeadBlocksTheLine) {
  fixture f(5);
  f.now = 2500;
  auto r1 = f.s.admit("a");
  auto r2 = f.s.admit("b");
  f.s.admitted(r2->position);
  EXPECT_FALSE(f.s.take_next());  // position 1 is not durable yet
  f.s.admitted(r1->position);
  EXPECT_EQ(f.s.take_next(), std::optional<std::int64_t>(1));
  EXPECT_EQ(f.s.take_next(), std::optional<std::int64_t>(2));
}

TEST(SaleProcessing, RetryReturnsToTheHead) {
  fixture f(5);
  f.now = 2500;
  f.admit_ok("a");
  f.admit_ok("b");
  auto p1 = f.s.take_next();
  auto p2 = f.s.take_next();
  f.s.retry(*p1);
  EXPECT_EQ(f.s.head(), 0);
  f.s.completed(*p2);
  EXPECT_EQ(f.s.head(), 0);  // 1 is still open
  EXPECT_EQ(f.s.take_next(), std::optional<std::int64_t>(1));
  f.s.completed(1);
  EXPECT_EQ(f.s.head(), 2);
  EXPECT_FALSE(f.s.take_next());
}

TEST(SaleRecovery, ResumesFromStoredState) {
  fixture f(4);
  f.now = 2500;
  f.s.recover({{1, "a", 1, true, 2100}, {2, "b", 1, true, 2101}, {4, "d", 1, false, 2103},
               {3, "c", 1, false, 2102}});
  EXPECT_EQ(f.s.sold(), 2);
  EXPECT_EQ(f.s.stock(), 2);
  EXPECT_EQ(f.s.queued(), 2);
  EXPECT_EQ(f.s.head(), 2);
  EXPECT_EQ(f.s.phase(), sale_phase::sold_out);
  EXPECT_EQ(f.s.answer_for("a").status, user_answer::success);
  EXPECT_EQ(f.s.answer_for("c").position, 3);
  EXPECT_TRUE(f.s.admit("b").has_error());
  EXPECT_EQ(f.s.take_next(), std::optional<std::int64_t>(3));
  EXPECT_EQ(f.s.take_next(), std::optional<std::int64_t>(4));
}

TEST(SaleRecovery, MissingPositionsAreHoles) {
  fixture f(4);
  f.now = 2500;
  f.s.recover({{2, "b", 1, false, 2100}});
  EXPECT_EQ(f.s.reserved(), 1);
  EXPECT_EQ(f.s.take_next(), std::optional<std::int64_t>(2));
  EXPECT_EQ(f.admit_ok("c"), 3);
}

TEST(SaleAdmission, WithoutStoreOnlyAnswersThatNeedNoWrite) {
  fixture f(1);
  f.now = 1000;
  EXPECT_EQ(f.s.admit("early", false).error(), make_error_code(errc::not_started));
  f.now = 3000;
  EXPECT_EQ(f.s.admit("u1", false).error(), make_error_code(errc::unavailable));
  EXPECT_EQ(f.s.reserved(), 0) << "a unit was reserved for a write that cannot happen";
  EXPECT_EQ(f.s.last_position(), 0);
  f.admit_ok("u1");
  EXPECT_EQ(f.s.admit("u1", false).error(), make_error_code(errc::duplicate));
  auto late = f.s.admit("u2", false);
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->kind, admit_decision::sold_out);
  f.now = 6000;
  EXPECT_EQ(f.s.admit("u3", false).error(), make_error_code(errc::ended));
}
