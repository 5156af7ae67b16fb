// Tests the pure sale rules with a manual clock: phases, FIFO admission, sell-out without
// queueing, duplicates, per-user limit, processing order and recovery; and memory bounded by the
// live window, finished buyers answered from a stand-in for the store.
#include <gtest/gtest.h>

#include "rushcast/core/errc.hpp"
#include "rushcast/engine/sale.hpp"

using namespace rushcast;
using namespace rushcast::engine;

namespace {

// Stands in for the store: every durable admission, as sale_runner writes them.
struct fake_store {
  std::vector<recovered_admission> rows;
  int lookups = 0;
  bool fail = false;

  boost::system::result<finished_buyer> finished(std::string_view user, std::int64_t up_to) {
    ++lookups;
    if (fail) return make_error_code(errc::unavailable);
    finished_buyer f;
    for (const auto& r : rows) {
      if (r.user_id != user || r.position > up_to) continue;
      ++f.count;
      if (r.user_seq > f.latest_seq) {
        f.latest_seq = r.user_seq;
        f.latest_position = r.position;
      }
    }
    return f;
  }
};

struct fixture {
  std::int64_t now = 1000;
  fake_store store;
  sale s;
  explicit fixture(std::int64_t stock, std::int64_t limit = 1)
      : s(sale_params{"s1", "Sale", stock, 2000, 5000, limit}, [this] { return now; },
          [this](std::string_view u, std::int64_t up_to) { return store.finished(u, up_to); }) {}

  std::int64_t admit_ok(const std::string& user) {
    auto r = s.admit(user);
    EXPECT_TRUE(r.has_value()) << user;
    if (!r) return 0;
    EXPECT_EQ(r->kind, admit_decision::queued) << user;
    store.rows.push_back({r->position, user, r->user_seq, false, now});
    s.admitted(r->position);
    return r->position;
  }

  // Works off everything durable, as the runner does once each order is stored.
  void work_off() {
    while (auto p = s.take_next()) s.completed(*p);
  }

  // Recovery from a store holding exactly these rows (load() gives totals and the tail).
  void recover_all(std::vector<recovered_admission> all) {
    store.rows = all;
    recovered_state r;
    for (const auto& a : all) {
      ++r.admitted;
      if (a.done) ++r.done;
      r.last_position = std::max(r.last_position, a.position);
    }
    r.tail = std::move(all);
    s.recover(std::move(r));
    for (const auto& a : store.rows) s.note_buyer(a.user_id);
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
  f.recover_all({{1, "a", 1, true, 2100}, {2, "b", 1, true, 2101}, {4, "d", 1, false, 2103},
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
  f.recover_all({{2, "b", 1, false, 2100}});
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

TEST(SaleMemory, WorkedOffBuyersLeaveMemoryAndAreStillAnswered) {
  constexpr int buyers = 20'000;
  constexpr int window = 50;
  fixture f(1'000'000);
  f.now = 2500;
  std::size_t max_window = 0, max_users = 0;
  for (int i = 0; i < buyers; ++i) {
    f.admit_ok("b" + std::to_string(i));
    max_window = std::max(max_window, f.s.window_size());
    max_users = std::max(max_users, f.s.users_in_memory());
    if ((i + 1) % window == 0) f.work_off();
  }
  f.work_off();
  EXPECT_LE(max_window, static_cast<std::size_t>(window)) << "memory grew with the buyers";
  EXPECT_LE(max_users, static_cast<std::size_t>(window));
  EXPECT_EQ(f.s.window_size(), 0u);
  EXPECT_EQ(f.s.users_in_memory(), 0u);
  EXPECT_EQ(f.s.head(), buyers);
  EXPECT_EQ(f.s.last_position(), buyers);
  EXPECT_EQ(f.s.sold(), buyers);
  // Fresh buyers are told apart by the filter, without reading the store.
  EXPECT_LE(f.store.lookups, 20) << "the filter let most fresh buyers through to the store";

  // A finished buyer: the same duplicate answer and result as while it was in memory.
  auto dup = f.s.admit("b0");
  ASSERT_TRUE(dup.has_error());
  EXPECT_EQ(dup.error(), make_error_code(errc::duplicate));
  auto first = f.s.answer_for("b0");
  EXPECT_EQ(first.status, user_answer::success);
  EXPECT_EQ(first.position, 1);
  EXPECT_EQ(first.order_id, "s1-1");
  auto mid = f.s.answer_for("b12345");
  EXPECT_EQ(mid.status, user_answer::success);
  EXPECT_EQ(mid.position, 12346);
  EXPECT_EQ(mid.order_id, "s1-12346");
  EXPECT_EQ(f.s.reserved(), buyers) << "a duplicate reserved a unit";
  EXPECT_EQ(f.s.answer_for("never").status, user_answer::none);
  EXPECT_EQ(f.admit_ok("late"), buyers + 1);
}

TEST(SaleMemory, PerUserLimitCountsFinishedAndLiveAdmissions) {
  fixture f(100, 3);
  f.now = 2500;
  EXPECT_EQ(f.admit_ok("a"), 1);
  f.work_off();  // a's first purchase leaves memory
  EXPECT_EQ(f.s.users_in_memory(), 0u);
  EXPECT_EQ(f.admit_ok("a"), 2);
  EXPECT_EQ(f.s.slot(2)->user_seq, 2) << "the store's count was not used";
  EXPECT_EQ(f.admit_ok("a"), 3);
  EXPECT_EQ(f.s.slot(3)->user_seq, 3);
  auto r = f.s.admit("a");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), make_error_code(errc::duplicate));
  EXPECT_EQ(f.s.answer_for("a").status, user_answer::queued);
  EXPECT_EQ(f.s.answer_for("a").position, 3);
  f.work_off();
  EXPECT_EQ(f.s.admit("a").error(), make_error_code(errc::duplicate));
  auto a = f.s.answer_for("a");
  EXPECT_EQ(a.status, user_answer::success);
  EXPECT_EQ(a.order_id, "s1-3");
}

TEST(SaleMemory, ReleasedAdmissionAfterFinishedOnesKeepsTheCount) {
  fixture f(100, 2);
  f.now = 2500;
  f.admit_ok("a");
  f.work_off();
  auto r = f.s.admit("a");  // second purchase, its write then fails
  ASSERT_TRUE(r.has_value());
  f.s.release(r->position);
  EXPECT_EQ(f.s.users_in_memory(), 0u);
  EXPECT_EQ(f.s.answer_for("a").status, user_answer::success);
  EXPECT_EQ(f.admit_ok("a"), 3);
  EXPECT_EQ(f.s.admit("a").error(), make_error_code(errc::duplicate));
}

TEST(SaleMemory, UnreadableStoreIsUnavailableAndReservesNothing) {
  fixture f(100);
  f.now = 2500;
  f.admit_ok("a");
  f.work_off();
  f.store.fail = true;
  auto r = f.s.admit("a");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), make_error_code(errc::unavailable));
  EXPECT_EQ(f.s.answer_for("a").status, user_answer::unavailable);
  EXPECT_EQ(f.s.reserved(), 1);
  // A fresh buyer needs no read.
  EXPECT_EQ(f.admit_ok("b"), 2);
}

TEST(SaleRecovery, KeepsOnlyTheUnfinishedTailInMemory) {
  fixture f(10, 2);
  f.now = 2500;
  // 1-3 done, 4 a hole (write failed), 5 done after 6 waits, 6 waiting; a has one done.
  f.recover_all({{1, "a", 1, true, 2100}, {2, "b", 1, true, 2101}, {3, "c", 1, true, 2102},
                 {5, "e", 1, true, 2104}, {6, "a", 2, false, 2105}, {7, "f", 1, false, 2106}});
  EXPECT_EQ(f.s.head(), 5);
  EXPECT_EQ(f.s.window_size(), 2u);
  EXPECT_EQ(f.s.users_in_memory(), 2u);
  EXPECT_EQ(f.s.sold(), 4);
  EXPECT_EQ(f.s.reserved(), 6);
  EXPECT_EQ(f.s.answer_for("b").status, user_answer::success);
  EXPECT_EQ(f.s.answer_for("b").order_id, "s1-2");
  EXPECT_EQ(f.s.answer_for("e").order_id, "s1-5");
  EXPECT_EQ(f.s.answer_for("a").status, user_answer::queued);
  EXPECT_EQ(f.s.admit("a").error(), make_error_code(errc::duplicate)) << "a's finished one lost";
  EXPECT_EQ(f.admit_ok("b"), 8);
  EXPECT_EQ(f.s.slot(8)->user_seq, 2);
  EXPECT_EQ(f.s.take_next(), std::optional<std::int64_t>(6));
}

// process_rate_per_s 0: an admission next in line is taken before it is durable, its order
// written with it; once durable it is worked off at once, in admission order.
TEST(SaleProcessing, OrderRidesAlongOnlyForTheAdmissionNextInLine) {
  fixture f(5);
  f.now = 2500;
  auto r1 = f.s.admit("a");
  auto r2 = f.s.admit("b");
  auto r3 = f.s.admit("c");
  EXPECT_FALSE(f.s.take_with_admission(r2->position)) << "taken before position 1";
  EXPECT_TRUE(f.s.take_with_admission(r1->position));
  EXPECT_TRUE(f.s.take_with_admission(r2->position));
  EXPECT_FALSE(f.s.take_with_admission(r2->position)) << "taken twice";
  EXPECT_FALSE(f.s.take_next()) << "position 3 is not durable yet";
  EXPECT_EQ(f.s.answer_for("a").status, user_answer::queued);

  f.s.completed_with_admission(r1->position);
  EXPECT_EQ(f.s.head(), 1);
  EXPECT_EQ(f.s.sold(), 1);
  // Position 2's write failed: its unit goes back, and the line goes on after it.
  f.s.release(r2->position);
  EXPECT_EQ(f.s.head(), 2);
  EXPECT_EQ(f.s.reserved(), 2);
  EXPECT_EQ(f.s.answer_for("b").status, user_answer::none);
  f.s.admitted(r3->position);
  EXPECT_EQ(f.s.take_next(), std::optional<std::int64_t>(3));
  f.s.completed(3);
  EXPECT_EQ(f.s.head(), 3);
  EXPECT_EQ(f.s.sold(), 2);
  EXPECT_EQ(f.s.stock(), 3);
  EXPECT_EQ(f.s.queued(), 0);
  // Worked off, "a" left memory: the store (its row written done) answers for it.
  f.store.rows.push_back({r1->position, "a", 1, true, f.now});
  EXPECT_EQ(f.s.answer_for("a").status, user_answer::success);
  EXPECT_EQ(f.s.answer_for("a").order_id, "s1-1");
}

// An order retried after a failure moves the cursor back; a later admission whose order rode
// along is not taken a second time.
TEST(SaleProcessing, RetryDoesNotTakeAnOrderThatRodeAlongAgain) {
  fixture f(5);
  f.now = 2500;
  f.admit_ok("a");
  auto p1 = f.s.take_next();
  auto r2 = f.s.admit("b");
  ASSERT_TRUE(f.s.take_with_admission(r2->position));
  f.s.retry(*p1);
  EXPECT_EQ(f.s.take_next(), std::optional<std::int64_t>(1));
  EXPECT_FALSE(f.s.take_next()) << "position 2 was taken again";
  f.s.completed(1);
  f.s.completed_with_admission(r2->position);
  EXPECT_EQ(f.s.head(), 2);
  EXPECT_EQ(f.s.sold(), 2);
}
