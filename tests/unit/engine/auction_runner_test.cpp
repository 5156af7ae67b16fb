// Tests auction_runner against a store that fails on demand: a bid the store did not commit is
// never told as the price nor published, bids are refused (unavailable) while the store cannot
// write and taken again by themselves once it can, and the end is announced only once stored.
// One io_context polled by hand, a manual clock, no sockets, no sleeps.
#include <gtest/gtest.h>

#include <deque>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "../hub/recording_subscriber.hpp"
#include "rushcast/core/errc.hpp"
#include "rushcast/engine/auction_runner.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/obs/metrics.hpp"
#include "rushcast/store/auction_store.hpp"

using namespace rushcast;
using namespace rushcast::engine;
using json = nlohmann::json;

namespace {

const boost::system::error_code disk_full =
    make_error_code(boost::system::errc::no_space_on_device);

// Holds every write until the test completes it, with success or an error. A write takes its
// bids when it is submitted (a writer that starts at once) unless take_late is set, when it
// takes them as it completes (a writer still busy with an earlier batch).
class held_auction_store : public store::auction_store {
public:
  struct held_bid {
    store::bid_rows rows;
    take_fn take;
    done_fn done;
  };
  store::recovered_auction load(const std::string&) override { return {}; }
  void set_meta(const std::string&, const store::auction_meta&) override {}
  void append_bids(const std::string&, take_fn take, done_fn done) override {
    ++writes;
    held_bid h{{}, std::move(take), std::move(done)};
    if (!take_late) h.rows = h.take();
    bids.push_back(std::move(h));
  }
  void mark_ended(const std::string&, done_fn done) override { ends.push_back(std::move(done)); }
  bool accepting() const override { return accept; }

  // Completes the oldest write held (the writer completes in submit order).
  void finish_bid(boost::system::error_code ec = {}) {
    ASSERT_FALSE(bids.empty());
    auto b = std::move(bids.front());
    bids.pop_front();
    if (take_late) b.rows = b.take();
    taken.push_back(b.rows);
    b.done(ec);
  }
  void finish_end(boost::system::error_code ec = {}) {
    ASSERT_FALSE(ends.empty());
    auto d = std::move(ends.front());
    ends.pop_front();
    d(ec);
  }

  std::deque<held_bid> bids;
  std::deque<done_fn> ends;
  std::vector<store::bid_rows> taken;  // the rows of each completed write
  bool accept = true;
  bool take_late = false;
  int writes = 0;
};

struct fixture {
  std::int64_t now = 10'000;
  boost::asio::io_context ioc{1};
  hub::hub h{{ioc.get_executor()}, config::history_cfg{1000, 0}, "E"};
  obs::metrics metrics;
  std::shared_ptr<held_auction_store> st = std::make_shared<held_auction_store>();
  std::shared_ptr<hub::test::recording_subscriber> watcher =
      std::make_shared<hub::test::recording_subscriber>();
  std::shared_ptr<auction_runner> runner;

  explicit fixture(std::int64_t end_ms = 1'000'000, store::recovered_auction rec = {},
                   std::chrono::microseconds batch_wait = {}) {
    auction_rules rules;
    rules.start_price = 100;
    rules.min_increment = 10;
    rules.start_ms = 0;
    rules.end_ms = end_ms;
    auction_runner_options opt;
    opt.coalesce = std::chrono::milliseconds(0);  // publish every price at once
    opt.countdown_sync = std::chrono::milliseconds(0);
    opt.store_retry = std::chrono::milliseconds(0);
    opt.batch_wait = batch_wait;
    runner = std::make_shared<auction_runner>(ioc.get_executor(), h, metrics, st, "a", "A",
                                              rules, opt, [this] { return now; });
    h.subscribe(watcher, {"auction:a"}, std::nullopt, hub::transport::sse);
    runner->start(rec, end_ms, false);
    poll();
    watcher->got.clear();  // the snapshot
  }

  void poll() {
    for (int i = 0; i < 100 && (ioc.restart(), ioc.poll() > 0); ++i) {
    }
  }

  // Places a bid; the reply once the runner answered (nullopt while its write is held).
  std::shared_ptr<std::optional<auction_runner::bid_reply>> bid(const std::string& user,
                                                               std::int64_t amount) {
    auto out = std::make_shared<std::optional<auction_runner::bid_reply>>();
    auction_runner::bid_done done = [out](auction_runner::bid_reply r) { *out = std::move(r); };
    if (auto refused = runner->bid(user, amount, done)) *out = std::move(*refused);
    poll();
    return out;
  }

  // The same without running the io_context afterwards: the strand's timers do not fire.
  std::shared_ptr<std::optional<auction_runner::bid_reply>> bid_unpolled(const std::string& user,
                                                                        std::int64_t amount) {
    auto out = std::make_shared<std::optional<auction_runner::bid_reply>>();
    auction_runner::bid_done done = [out](auction_runner::bid_reply r) { *out = std::move(r); };
    if (auto refused = runner->bid(user, amount, done)) *out = std::move(*refused);
    return out;
  }

  // Every event of one name published to watchers of auction:a, as JSON.
  std::vector<json> published(const std::string& name) {
    poll();
    std::vector<json> out;
    for (const auto& f : watcher->got)
      if (f->name == name) out.push_back(json::parse(f->ws_payload()));
    return out;
  }
};

}  // namespace

TEST(AuctionRunnerStore, BidIsAnsweredOnlyAfterItsCommit) {
  fixture f;
  auto r = f.bid("u1", 200);
  EXPECT_FALSE(r->has_value());
  ASSERT_EQ(f.st->bids.size(), 1u);
  f.st->finish_bid();
  f.poll();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->code, errc::ok);
  EXPECT_EQ((*r)->current_price, 200);
  ASSERT_EQ(f.published("price_update").size(), 1u);
  EXPECT_EQ(f.published("price_update").back()["currentPrice"], 200);
}

TEST(AuctionRunnerStore, FailedBidIsNeitherToldAsThePriceNorPublished) {
  fixture f;
  auto first = f.bid("u1", 200);
  f.st->finish_bid();
  f.poll();
  ASSERT_EQ((*first)->code, errc::ok);

  auto lost = f.bid("u2", 300);
  auto behind = f.bid("u3", 400);  // in flight behind the one that will fail
  ASSERT_EQ(f.st->bids.size(), 2u);
  f.st->finish_bid(disk_full);
  f.poll();
  ASSERT_TRUE(lost->has_value());
  EXPECT_EQ((*lost)->code, errc::unavailable);
  EXPECT_EQ((*lost)->current_price, 200) << "the refusal must show the stored price";

  // While a bid is still in flight behind the failure, new bids are refused with the stored
  // price, and never reach the store.
  auto refused = f.bid("u4", 500);
  ASSERT_TRUE(refused->has_value());
  EXPECT_EQ((*refused)->code, errc::unavailable);
  EXPECT_EQ((*refused)->current_price, 200);
  EXPECT_EQ(f.st->bids.size(), 1u);

  // The bid behind it was stored: it stands, and is the price now.
  f.st->finish_bid();
  f.poll();
  ASSERT_TRUE(behind->has_value());
  EXPECT_EQ((*behind)->code, errc::ok);
  EXPECT_EQ(f.runner->state_json(10)["currentPrice"], 400);

  for (const auto& p : f.published("price_update")) {
    EXPECT_NE(p["currentPrice"], 300) << "an unstored bid was published";
    EXPECT_NE(p["currentPrice"], 500);
  }
  // Held in a local: a range-for over a member of a temporary reads a destroyed object.
  const auto state = f.runner->state_json(50);
  for (const auto& b : state["bids"]) EXPECT_NE(b["amount"], 300);
}

TEST(AuctionRunnerStore, TakesBidsAgainByItselfAfterAFailedWrite) {
  fixture f;
  auto first = f.bid("u1", 200);
  f.st->finish_bid();
  auto lost = f.bid("u2", 300);
  f.st->finish_bid(disk_full);
  f.poll();
  ASSERT_EQ((*lost)->code, errc::unavailable);

  // The lost bid does not count: 250 beats the stored 200 (+10), without any restart.
  auto next = f.bid("u3", 250);
  ASSERT_EQ(f.st->bids.size(), 1u) << "the auction did not take bids again";
  f.st->finish_bid();
  f.poll();
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->code, errc::ok);
  EXPECT_EQ((*next)->current_price, 250);
  auto s = f.runner->state_json(10);
  EXPECT_EQ(s["currentPrice"], 250);
  EXPECT_EQ(s["leadingUser"], "u3");
}

TEST(AuctionRunnerStore, RefusedWhileTheStoreDoesNotAcceptThenTakenAgain) {
  fixture f;
  auto first = f.bid("u1", 200);
  f.st->finish_bid();
  f.poll();

  f.st->accept = false;
  auto refused = f.bid("u2", 300);
  ASSERT_TRUE(refused->has_value());
  EXPECT_EQ((*refused)->code, errc::unavailable);
  EXPECT_EQ((*refused)->current_price, 200);
  EXPECT_TRUE(f.st->bids.empty()) << "a bid was offered to a store that does not accept";

  f.st->accept = true;
  auto taken = f.bid("u2", 300);
  ASSERT_EQ(f.st->bids.size(), 1u);
  f.st->finish_bid();
  f.poll();
  EXPECT_EQ((*taken)->code, errc::ok);
}

TEST(AuctionRunnerStore, EndIsAnnouncedOnceAndOnlyAfterItIsStored) {
  store::recovered_auction rec;
  rec.bids.push_back({1, "u1", 200, 5});
  rec.bids.push_back({2, "u2", 300, 6});
  fixture f(/*end_ms=*/10'000, rec);  // the end is due at once
  f.poll();
  ASSERT_EQ(f.st->ends.size(), 1u);
  f.st->finish_end(disk_full);
  f.poll();
  EXPECT_TRUE(f.published("auction_end").empty()) << "the end was announced before it was stored";

  // Retried by itself (store_retry 0 in this fixture).
  f.poll();
  ASSERT_EQ(f.st->ends.size(), 1u) << "storing the end was not retried";
  f.st->finish_end();
  f.poll();
  auto ends = f.published("auction_end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0]["winner"], "u2");
  EXPECT_EQ(ends[0]["finalPrice"], 300);
  EXPECT_EQ(f.runner->state_json(0)["winner"], "u2");
}

TEST(AuctionRunnerStore, BidsDecidedWhileAWriteWaitsShareOneWriteAndAreEachAnswered) {
  fixture f;
  f.st->take_late = true;
  auto a = f.bid("u1", 200);
  auto b = f.bid("u2", 210);
  auto low = f.bid("u3", 205);  // refused at once: never reaches the store
  auto c = f.bid("u3", 300);
  ASSERT_TRUE(low->has_value());
  EXPECT_EQ((*low)->code, errc::bid_too_low);
  EXPECT_EQ((*low)->current_price, 100) << "the refusal must show the committed price";
  EXPECT_EQ(f.st->writes, 1) << "one write per batch, not one per bid";
  EXPECT_FALSE(a->has_value());

  f.st->finish_bid();
  f.poll();
  ASSERT_EQ(f.st->taken.size(), 1u);
  ASSERT_EQ(f.st->taken[0].bids.size(), 3u);
  EXPECT_EQ(f.st->taken[0].bids[0].amount, 200);
  EXPECT_EQ(f.st->taken[0].bids[2].seq, 3u);
  for (auto* r : {&a, &b, &c}) {
    ASSERT_TRUE((*r)->has_value());
    EXPECT_EQ((**r)->code, errc::ok);
  }
  EXPECT_EQ((*c)->current_price, 300);
  auto prices = f.published("price_update");
  ASSERT_FALSE(prices.empty());
  EXPECT_EQ(prices.back()["currentPrice"], 300);

  // The next bid opens the next write.
  auto d = f.bid("u1", 400);
  EXPECT_EQ(f.st->writes, 2);
  f.st->finish_bid();
  f.poll();
  EXPECT_EQ((*d)->code, errc::ok);
}

TEST(AuctionRunnerStore, AFailedBatchAnswersEveryBidInItUnavailable) {
  fixture f;
  f.st->take_late = true;
  auto a = f.bid("u1", 200);
  auto b = f.bid("u2", 300);
  f.st->finish_bid(disk_full);
  f.poll();
  for (auto* r : {&a, &b}) {
    ASSERT_TRUE((*r)->has_value());
    EXPECT_EQ((**r)->code, errc::unavailable);
    EXPECT_EQ((**r)->current_price, 100);
  }
  EXPECT_TRUE(f.published("price_update").empty());
  // Back to the stored state at once: nothing else was in flight.
  auto again = f.bid("u3", 200);
  EXPECT_FALSE(again->has_value());
  f.st->finish_bid();
  f.poll();
  EXPECT_EQ((*again)->code, errc::ok);
}

// storage.bid_batch_wait_us: closed-loop bidders share one commit instead of alternating
// between two. The fixture's store takes a write's bids as it is submitted (a writer that
// starts at once) and completes it when the test says.
TEST(AuctionRunnerBatchWait, BidsDuringARunningWriteWaitForTheBiddersItAnswered) {
  fixture f(1'000'000, {}, std::chrono::seconds(10));
  auto a = f.bid("u1", 200);
  ASSERT_EQ(f.st->writes, 1);
  auto b = f.bid("u2", 300);  // the write with u1's bid is running
  EXPECT_EQ(f.st->writes, 1) << "a bid opened a second write behind a running one";

  f.st->finish_bid();  // answers u1; the next write waits for one more decision
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->code, errc::ok);
  EXPECT_EQ(f.st->writes, 1) << "u2's bid went to the store before u1 could come back";

  auto low = f.bid_unpolled("u1", 305);  // u1 back, refused: it is back all the same
  ASSERT_TRUE(low->has_value());
  EXPECT_EQ((*low)->code, errc::bid_too_low);
  ASSERT_EQ(f.st->writes, 2) << "the awaited decision did not end the wait";
  f.st->finish_bid();
  f.poll();
  ASSERT_EQ(f.st->taken.size(), 2u);
  ASSERT_EQ(f.st->taken[1].bids.size(), 1u);
  EXPECT_EQ(f.st->taken[1].bids[0].amount, 300);
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->code, errc::ok);
  EXPECT_EQ(f.published("price_update").back()["currentPrice"], 300);
}

TEST(AuctionRunnerBatchWait, AwaitedBidsShareTheNextWrite) {
  fixture f(1'000'000, {}, std::chrono::seconds(10));
  auto a1 = f.bid("u1", 200);
  auto b1 = f.bid("u2", 300);
  auto c1 = f.bid("u3", 400);
  f.st->finish_bid();  // answers u1; u2 and u3 wait
  auto a2 = f.bid_unpolled("u1", 500);
  ASSERT_EQ(f.st->writes, 2);
  f.st->finish_bid();  // answers u2, u3 and u1: the next write waits for three decisions
  auto b2 = f.bid_unpolled("u2", 600);
  auto c2 = f.bid_unpolled("u3", 700);
  EXPECT_EQ(f.st->writes, 2) << "the wait ended before every answered bidder was back";
  auto a3 = f.bid_unpolled("u1", 800);
  ASSERT_EQ(f.st->writes, 3);
  f.st->finish_bid();
  f.poll();
  ASSERT_EQ(f.st->taken.size(), 3u);
  ASSERT_EQ(f.st->taken[2].bids.size(), 3u) << "the three bids did not share one write";
  EXPECT_EQ(f.st->taken[2].bids[0].seq, 5u);
  EXPECT_EQ(f.st->taken[2].bids[2].amount, 800);
  for (auto* r : {&a1, &b1, &c1, &a2, &b2, &c2, &a3}) {
    ASSERT_TRUE((*r)->has_value());
    EXPECT_EQ((**r)->code, errc::ok);
  }
}

TEST(AuctionRunnerBatchWait, WaitEndsAfterTheLastWritesDurationWhenNobodyComesBack) {
  // batch_wait is 10 s, but the last write took microseconds: a longer wait would cost more
  // than the write it saves.
  fixture f(1'000'000, {}, std::chrono::seconds(10));
  f.bid("u1", 200);
  auto b = f.bid("u2", 300);
  f.st->finish_bid();
  EXPECT_EQ(f.st->writes, 1);
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
       f.st->writes < 2 && std::chrono::steady_clock::now() < until;) {
    f.ioc.restart();
    f.ioc.run_one_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(f.st->writes, 2) << "the held bid never went to the store";
  f.st->finish_bid();
  f.poll();
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->code, errc::ok);
}

TEST(AuctionRunnerBatchWait, StopSendsHeldBidsToTheStore) {
  fixture f(1'000'000, {}, std::chrono::seconds(10));
  f.bid("u1", 200);
  auto b = f.bid("u2", 300);
  f.st->finish_bid();
  ASSERT_EQ(f.st->writes, 1);
  f.runner->stop();
  ASSERT_EQ(f.st->writes, 2) << "a held bid was left behind at stop";
  f.st->finish_bid();
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->code, errc::ok);
}

TEST(AuctionRunnerBatchWait, WithoutAWaitEveryBidOpensAWriteBehindARunningOne) {
  fixture f;  // batch_wait 0
  auto a = f.bid("u1", 200);
  auto b = f.bid("u2", 300);
  EXPECT_EQ(f.st->writes, 2);
  // Both answered once durable (and no write is left holding the runner).
  f.st->finish_bid();
  f.st->finish_bid();
  f.poll();
  ASSERT_TRUE(a->has_value());
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->code, errc::ok);
}
