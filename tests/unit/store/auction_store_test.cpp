// Tests sqlite_auction_store on a real temporary SQLite file: meta and bids round trip, the
// end moved with its bid, duplicate seqs refused, the ended flag, and auctions kept apart.
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "rushcast/core/errc.hpp"
#include "rushcast/store/sqlite_auction_store.hpp"
#include "rushcast/store/sqlite_db.hpp"
#include "temp_dir.hpp"

using namespace rushcast;
namespace fs = std::filesystem;

namespace {

struct temp_dir : rushcast::test::temp_dir {
  temp_dir() : rushcast::test::temp_dir("rushcast-auctionstore") {}
  std::string db() const { return (path / "a.db").string(); }
};

}  // namespace

TEST(AuctionStore, RoundTripsMetaBidsAndMovedEnd) {
  temp_dir d;
  std::vector<boost::system::error_code> ec(5, make_error_code(errc::internal));
  {
    store::sqlite_db db(d.db(), config::storage_cfg{});
    store::sqlite_auction_store st(db);
    EXPECT_FALSE(st.load("a1").meta);
    st.set_meta("a1", {1000, 2000, 2000, false});
    st.set_meta("a2", {1000, 3000, 3000, false});
    st.append_bid("a1", {1, "ann", 150, 1100}, 2000, [&](auto e) { ec[0] = e; });
    st.append_bid("a1", {2, "bob", 160, 1990}, 2500, [&](auto e) { ec[1] = e; });  // extended
    st.append_bid("a1", {2, "eve", 900, 1991}, 9999, [&](auto e) { ec[2] = e; });  // seq taken
    st.append_bid("a2", {1, "cat", 500, 1200}, 3000, [&](auto e) { ec[3] = e; });
    st.mark_ended("nope", [&](auto e) { ec[4] = e; });
    db.stop();
  }
  EXPECT_FALSE(ec[0]);
  EXPECT_FALSE(ec[1]);
  EXPECT_TRUE(ec[2]) << "a second bid with the same seq must fail";
  EXPECT_FALSE(ec[3]);
  EXPECT_EQ(ec[4], make_error_code(errc::not_found));

  store::sqlite_db db(d.db(), config::storage_cfg{});
  store::sqlite_auction_store st(db);
  auto a1 = st.load("a1");
  ASSERT_TRUE(a1.meta);
  EXPECT_EQ(a1.meta->start_ms, 1000);
  EXPECT_EQ(a1.meta->end_ms, 2000);
  // The failed bid's end (9999) was rolled back with it.
  EXPECT_EQ(a1.meta->current_end_ms, 2500);
  EXPECT_FALSE(a1.meta->ended);
  ASSERT_EQ(a1.bids.size(), 2u);
  EXPECT_EQ(a1.bids[0].seq, 1u);
  EXPECT_EQ(a1.bids[0].user_id, "ann");
  EXPECT_EQ(a1.bids[0].amount, 150);
  EXPECT_EQ(a1.bids[0].ts_ms, 1100);
  EXPECT_EQ(a1.bids[1].user_id, "bob");
  EXPECT_EQ(a1.bids[1].amount, 160);
  auto a2 = st.load("a2");
  ASSERT_EQ(a2.bids.size(), 1u);
  EXPECT_EQ(a2.bids[0].user_id, "cat");
  EXPECT_EQ(a2.meta->current_end_ms, 3000);
}

TEST(AuctionStore, EndedFlagSurvivesReopen) {
  temp_dir d;
  boost::system::error_code ended = make_error_code(errc::internal);
  {
    store::sqlite_db db(d.db(), config::storage_cfg{});
    store::sqlite_auction_store st(db);
    st.set_meta("a1", {1000, 2000, 2000, false});
    st.mark_ended("a1", [&](auto e) { ended = e; });
    db.stop();
  }
  EXPECT_FALSE(ended);
  store::sqlite_db db(d.db(), config::storage_cfg{});
  store::sqlite_auction_store st(db);
  auto a1 = st.load("a1");
  ASSERT_TRUE(a1.meta);
  EXPECT_TRUE(a1.meta->ended);
  EXPECT_TRUE(a1.bids.empty());
}

// A work in the same group commit fails, so the batch runs again: the bids handed over by the
// one take() are written all the same (take() gives them only once, as the runner's does).
TEST(AuctionStore, BidsTakenOnceAreWrittenWhenTheirBatchRunsAgain) {
  temp_dir d;
  store::sqlite_db db(d.db(), config::storage_cfg{});
  store::sqlite_auction_store st(db);
  st.set_meta("a1", {1000, 2000, 2000, false});
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  // Holds the writer until the other works are queued behind it: one batch.
  db.submit(
      [&](sqlite3*) {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return go; });
        return boost::system::error_code{};
      },
      nullptr);
  int takes = 0;
  boost::system::error_code bids_ec = make_error_code(errc::internal);
  st.append_bids(
      "a1",
      [&takes] {
        store::bid_rows rows;
        if (takes++ == 0) rows = store::bid_rows{{{1, "ann", 150, 1100}, {2, "bob", 160, 1200}}, 2000};
        return rows;
      },
      [&](boost::system::error_code ec) { bids_ec = ec; });
  boost::system::error_code failing_ec;
  db.submit([](sqlite3*) { return make_error_code(errc::internal); },
            [&](boost::system::error_code ec) { failing_ec = ec; });
  {
    std::lock_guard lk(mu);
    go = true;
  }
  cv.notify_all();
  db.stop();
  EXPECT_EQ(failing_ec, make_error_code(errc::internal));
  EXPECT_FALSE(bids_ec);
  EXPECT_EQ(takes, 1) << "take() ran again";
  store::sqlite_db again(d.db(), config::storage_cfg{});
  store::sqlite_auction_store st2(again);
  EXPECT_EQ(st2.load("a1").bids.size(), 2u) << "bids of a retried batch were lost";
}
