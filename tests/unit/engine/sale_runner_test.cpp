// Tests sale_runner against a store that fails on demand: nothing is acknowledged unless it
// was stored, a purchase is refused (unavailable) without reserving stock while the store
// cannot write, and a queued buyer's order is retried until stored: never lost, never doubled.
// One io_context polled by hand, a manual clock, no sockets, no sleeps.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "../hub/recording_subscriber.hpp"
#include "rushcast/core/errc.hpp"
#include "rushcast/engine/sale_runner.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/obs/metrics.hpp"
#include "rushcast/store/sale_store.hpp"

using namespace rushcast;
using namespace rushcast::engine;
using json = nlohmann::json;

namespace {

const boost::system::error_code disk_full =
    make_error_code(boost::system::errc::no_space_on_device);

// Holds every write until the test completes it, with success or an error.
class held_sale_store : public store::sale_store {
public:
  store::recovered_sale load(const std::string&) override { return {}; }
  void set_meta(const std::string&, const store::sale_meta&) override {}
  void for_each_buyer(const std::string&,
                      const std::function<void(std::string_view)>& fn) override {
    for (const auto& r : rows) fn(r.user_id);
  }
  boost::system::result<store::finished_admissions> finished_for(const std::string&,
                                                                 std::string_view user,
                                                                 std::int64_t up_to) override {
    store::finished_admissions f;
    for (const auto& r : rows) {
      if (r.user_id != user || r.position > up_to) continue;
      if (f.count++ == 0 || r.user_seq > f.latest_seq) {
        f.latest_seq = r.user_seq;
        f.latest_position = r.position;
      }
    }
    return f;
  }
  // Holds every record of a batch; the batch's one callback runs once the test finished each
  // of its records (the store answers a batch once, with one result per record).
  void persist(const std::string&, store::sale_batch b, batch_done_fn done) override {
    ++batches;
    auto pending = std::make_shared<held_batch>();
    pending->result.admissions.resize(b.admissions.size());
    pending->result.orders.resize(b.orders.size());
    pending->left = b.admissions.size() + b.orders.size();
    pending->done = std::move(done);
    for (std::size_t i = 0; i < b.admissions.size(); ++i) {
      admits.push_back({b.admissions[i].position,
                        [this, pending, i, a = b.admissions[i]](boost::system::error_code ec) {
                          // Kept as stored once the write succeeds, for finished_for().
                          if (!ec) rows.push_back(a);
                          pending->result.admissions[i] = ec;
                          pending->finish_one();
                        }});
    }
    for (std::size_t i = 0; i < b.orders.size(); ++i) {
      completes.push_back({b.orders[i].position,
                           [pending, i](boost::system::error_code ec) {
                             pending->result.orders[i] = ec;
                             pending->finish_one();
                           }});
    }
  }
  bool accepting() const override { return accept; }
  bool writes_orders_with_admissions() const override { return ride_along; }

  struct held_batch {
    store::sale_batch_result result;
    std::size_t left = 0;
    batch_done_fn done;
    void finish_one() {
      if (--left == 0) done(std::move(result));
    }
  };
  struct held {
    std::int64_t position;
    done_fn done;
  };
  // Completes the oldest write of a kind (the writer completes in submit order).
  static std::int64_t finish(std::deque<held>& q, boost::system::error_code ec) {
    if (q.empty()) {
      ADD_FAILURE() << "no write held";
      return 0;
    }
    auto h = std::move(q.front());
    q.pop_front();
    h.done(ec);
    return h.position;
  }
  std::int64_t finish_admit(boost::system::error_code ec = {}) { return finish(admits, ec); }
  std::int64_t finish_complete(boost::system::error_code ec = {}) {
    return finish(completes, ec);
  }

  std::deque<held> admits;
  std::deque<held> completes;
  std::vector<store::admission_record> rows;  // admissions stored
  std::size_t batches = 0;                     // persist() calls
  bool accept = true;
  bool ride_along = false;  // writes an admission already done (orders ride along)
};

struct fixture {
  std::int64_t now = 10'000;
  boost::asio::io_context ioc{1};
  hub::hub h{{ioc.get_executor()}, config::history_cfg{1000, 0}, "E"};
  obs::metrics metrics;
  std::shared_ptr<held_sale_store> st = std::make_shared<held_sale_store>();
  std::shared_ptr<hub::test::recording_subscriber> buyers =
      std::make_shared<hub::test::recording_subscriber>();
  std::shared_ptr<sale_runner> runner;

  explicit fixture(std::int64_t stock, std::size_t max_batch = 512, bool ride_along = false,
                   std::size_t max_in_flight = 1024, const store::recovered_sale& rec = {}) {
    st->ride_along = ride_along;
    sale_runner_options opt;
    opt.max_batch = max_batch;
    opt.max_in_flight = max_in_flight;
    opt.coalesce = std::chrono::milliseconds(0);
    opt.countdown_sync = std::chrono::milliseconds(0);
    opt.store_retry = std::chrono::milliseconds(0);
    runner = std::make_shared<sale_runner>(ioc.get_executor(), h, metrics, st,
                                           sale_params{"s", "S", stock, 0, 1'000'000, 1}, opt,
                                           [this] { return now; });
    h.subscribe(buyers, {"user:u1", "user:u2", "user:u3"}, std::nullopt, hub::transport::sse);
    runner->recover(rec);
    runner->run();
    poll();
  }

  void poll() {
    for (int i = 0; i < 100 && (ioc.restart(), ioc.poll() > 0); ++i) {
    }
  }

  std::shared_ptr<std::optional<admit_reply>> admit(const std::string& user) {
    auto out = std::make_shared<std::optional<admit_reply>>();
    runner->admit(user, [out](admit_reply r) { *out = r; });
    poll();
    return out;
  }

  // Lets the store take every held write, admissions first, until nothing is held.
  void settle() {
    poll();
    while (!st->admits.empty() || !st->completes.empty()) {
      while (!st->admits.empty()) st->finish_admit();
      while (!st->completes.empty()) st->finish_complete();
      poll();
    }
  }

  std::vector<json> results_for(const std::string& user) {
    poll();
    std::vector<json> out;
    for (const auto& f : buyers->got)
      if (f->name == "result" && f->topic == "user:" + user)
        out.push_back(json::parse(f->ws_payload()));
    return out;
  }
};

// A shard's io_context polled by hand: what ran (it may have stopped, out of work, before).
std::size_t poll_of(boost::asio::io_context& ioc) {
  ioc.restart();
  return ioc.poll();
}

}  // namespace

TEST(SaleRunnerStore, FailedAdmissionAnswersUnavailableAndGivesTheUnitBack) {
  fixture f(1);
  auto lost = f.admit("u1");
  EXPECT_FALSE(lost->has_value()) << "answered before the store did";
  f.st->finish_admit(disk_full);
  f.poll();
  ASSERT_TRUE(lost->has_value());
  EXPECT_EQ((*lost)->code, errc::unavailable);
  EXPECT_EQ(f.runner->view().queued, 0);

  // The one unit is free again for the next buyer (the same one may retry, too).
  auto again = f.admit("u1");
  f.st->finish_admit();
  f.poll();
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->code, errc::ok);
  EXPECT_FALSE((*again)->sold_out);
}

TEST(SaleRunnerStore, RefusedWithoutReservingWhileTheStoreDoesNotAccept) {
  fixture f(1);
  f.st->accept = false;
  auto refused = f.admit("u1");
  ASSERT_TRUE(refused->has_value());
  EXPECT_EQ((*refused)->code, errc::unavailable);
  EXPECT_TRUE(f.st->admits.empty()) << "offered to a store that does not accept";
  EXPECT_EQ(f.runner->view().queued, 0);
  EXPECT_EQ(f.runner->view().phase_at(f.now), sale_phase::open) << "stock stayed reserved";

  f.st->accept = true;
  auto taken = f.admit("u1");
  ASSERT_EQ(f.st->admits.size(), 1u);
  f.st->finish_admit();
  f.poll();
  EXPECT_EQ((*taken)->code, errc::ok);
}

TEST(SaleRunnerStore, OrderRetriedUntilStoredNeverLostNeverDoubled) {
  fixture f(3);
  auto a = f.admit("u1");
  f.st->finish_admit();
  f.poll();
  ASSERT_EQ((*a)->code, errc::ok);
  ASSERT_EQ(f.st->completes.size(), 1u);
  f.st->finish_complete(disk_full);
  f.poll();
  EXPECT_TRUE(f.results_for("u1").empty()) << "a result was told before its order was stored";
  EXPECT_EQ(f.runner->view().stock, 3);

  // While orders fail, more buyers queue, but only one order is tried at a time.
  ASSERT_EQ(f.st->completes.size(), 1u) << "the order was not retried";
  auto b = f.admit("u2");
  auto c = f.admit("u3");
  EXPECT_FALSE(b->has_value()) << "answered before the store did";
  f.st->finish_complete(disk_full);  // the retry fails too
  f.poll();
  while (!f.st->admits.empty()) {
    f.st->finish_admit();
    f.poll();
  }
  ASSERT_TRUE(b->has_value() && c->has_value());
  ASSERT_EQ((*b)->code, errc::ok);
  ASSERT_EQ((*c)->code, errc::ok);
  EXPECT_EQ(f.st->completes.size(), 1u);
  EXPECT_EQ(f.st->completes.front().position, 1) << "the queue order was not kept";

  f.st->finish_complete(disk_full);
  f.poll();
  ASSERT_EQ(f.st->completes.size(), 1u) << "the order was not retried";
  EXPECT_EQ(f.st->finish_complete(), 1);
  f.poll();
  // Back to full speed: the other two go out together.
  EXPECT_EQ(f.st->completes.size(), 2u);
  f.st->finish_complete();
  f.st->finish_complete();
  f.poll();

  for (const char* u : {"u1", "u2", "u3"}) {
    auto r = f.results_for(u);
    ASSERT_EQ(r.size(), 1u) << u;
    EXPECT_EQ(r[0]["result"], "success");
  }
  EXPECT_EQ(f.runner->view().stock, 0);
  EXPECT_EQ(f.runner->view().queued, 0);
}

TEST(SaleRunnerStore, OrderTheStoreAlreadyHasIsCompletedOnce) {
  fixture f(2);
  auto a = f.admit("u1");
  f.st->finish_admit();
  f.poll();
  // The store says the position is no longer queued: an earlier try committed it.
  f.st->finish_complete(make_error_code(errc::not_found));
  f.poll();
  EXPECT_TRUE(f.st->completes.empty());
  ASSERT_EQ(f.results_for("u1").size(), 1u);
  EXPECT_EQ(f.runner->view().stock, 1);
}

TEST(SaleRunnerStore, AnswersThatNeedNoWriteStillGoWhileTheStoreDoesNotAccept) {
  fixture f(1);
  auto a = f.admit("u1");
  f.st->finish_admit();
  f.poll();
  ASSERT_EQ((*a)->code, errc::ok);
  f.st->accept = false;
  auto again = f.admit("u1");
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->code, errc::duplicate);
  auto late = f.admit("u2");
  ASSERT_TRUE(late->has_value());
  EXPECT_EQ((*late)->code, errc::ok);
  EXPECT_TRUE((*late)->sold_out);
}

TEST(SaleRunnerStore, FinishedBuyerIsAnsweredFromTheStore) {
  fixture f(10);
  for (const char* u : {"u1", "u2", "u3"}) {
    auto r = f.admit(u);
    f.settle();
    ASSERT_EQ((*r)->code, errc::ok);
  }
  ASSERT_EQ(f.results_for("u2").size(), 1u) << "the result event was lost with the slot";
  EXPECT_EQ(f.results_for("u2")[0]["orderId"], "s-2");

  auto dup = f.admit("u2");
  ASSERT_TRUE(dup->has_value());
  EXPECT_EQ((*dup)->code, errc::duplicate);
  EXPECT_EQ((*dup)->earlier.status, user_answer::success);
  EXPECT_EQ((*dup)->earlier.position, 2);
  EXPECT_EQ((*dup)->earlier.order_id, "s-2");
  EXPECT_TRUE(f.st->admits.empty()) << "a duplicate was written";

  std::optional<user_answer> res;
  f.runner->result_for("u3", [&](user_answer a) { res = a; });
  f.poll();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, user_answer::success);
  EXPECT_EQ(res->order_id, "s-3");
}

// Admissions decided while the store is busy (or in one turn of the strand) leave as ONE batch,
// in admission order, and the positions told are that order.
TEST(SaleRunnerBatch, AdmissionsDecidedTogetherGoToTheStoreAsOneBatch) {
  fixture f(10);
  std::vector<std::optional<admit_reply>> got(5);
  for (int i = 0; i < 5; ++i)
    f.runner->admit("b" + std::to_string(i), [&got, i](admit_reply r) { got[i] = r; });
  f.poll();
  EXPECT_EQ(f.st->batches, 1u);
  ASSERT_EQ(f.st->admits.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(f.st->admits[i].position, i + 1);
  for (const auto& g : got) EXPECT_FALSE(g) << "answered before its batch was durable";

  // More buyers while that batch is with the store: they wait and go together next.
  for (int i = 5; i < 8; ++i) f.runner->admit("b" + std::to_string(i), [](admit_reply) {});
  f.poll();
  EXPECT_EQ(f.st->batches, 1u) << "a second batch went out before the first was durable";
  for (int i = 0; i < 5; ++i) f.st->finish_admit();
  f.poll();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(got[i]);
    EXPECT_EQ(got[i]->code, errc::ok);
    EXPECT_EQ(got[i]->position, i + 1) << "FIFO position differs from admission order";
  }
  EXPECT_EQ(f.st->batches, 2u);
  EXPECT_EQ(f.st->admits.size(), 3u);
}

// A batch that fails as a whole gives every unit back; nothing is told queued.
TEST(SaleRunnerBatch, FailedBatchGivesEveryUnitBack) {
  fixture f(2);
  std::vector<std::optional<admit_reply>> got(2);
  for (int i = 0; i < 2; ++i)
    f.runner->admit("b" + std::to_string(i), [&got, i](admit_reply r) { got[i] = r; });
  f.poll();
  ASSERT_EQ(f.st->admits.size(), 2u);
  f.st->finish_admit(disk_full);
  f.st->finish_admit(disk_full);
  f.poll();
  for (const auto& g : got) {
    ASSERT_TRUE(g);
    EXPECT_EQ(g->code, errc::unavailable);
  }
  EXPECT_EQ(f.runner->view().stock, 2);
  EXPECT_EQ(f.runner->view().queued, 0);
  // Both units can be bought again, and no more than both.
  auto a = f.admit("c1");
  auto b = f.admit("c2");
  auto c = f.admit("c3");
  f.settle();
  EXPECT_EQ((*a)->code, errc::ok);
  EXPECT_EQ((*b)->code, errc::ok);
  ASSERT_TRUE(c->has_value());
  EXPECT_TRUE((*c)->sold_out) << "oversold after a failed batch";
}

// A burst over max_batch is written in bounded batches, oldest first.
TEST(SaleRunnerBatch, BurstOverTheBoundIsWrittenInBoundedBatchesInOrder) {
  fixture f(10, 2);
  std::vector<std::int64_t> told;
  for (int i = 0; i < 5; ++i)
    f.runner->admit("b" + std::to_string(i), [&told](admit_reply r) { told.push_back(r.position); });
  f.poll();
  EXPECT_EQ(f.st->admits.size(), 2u);
  f.settle();
  EXPECT_EQ(told, (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_GE(f.st->batches, 3u);
}

// The answers of one batch reach each shard that holds connections in one post, and run there.
TEST(SaleRunnerBatch, AnswersOfOneBatchReachEachShardInOnePost) {
  fixture f(10);
  boost::asio::io_context shard_a{1}, shard_b{1};
  int on_a = 0, on_b = 0;
  for (int i = 0; i < 3; ++i)
    f.runner->admit("a" + std::to_string(i), [&](admit_reply r) { on_a += r.code == errc::ok; },
                    &shard_a);
  for (int i = 0; i < 2; ++i)
    f.runner->admit("b" + std::to_string(i), [&](admit_reply r) { on_b += r.code == errc::ok; },
                    &shard_b);
  f.poll();
  // The batch leaves from the shard that decided first (a post to its own io_context).
  EXPECT_EQ(poll_of(shard_a), 1u);
  while (!f.st->admits.empty()) f.st->finish_admit();
  f.poll();
  EXPECT_EQ(on_a + on_b, 0) << "an answer ran on the sale's strand, not on its shard";
  EXPECT_EQ(poll_of(shard_a), 1u);
  EXPECT_EQ(poll_of(shard_b), 1u);
  EXPECT_EQ(on_a, 3);
  EXPECT_EQ(on_b, 2);
}

namespace {

// Stores every batch at once (on the strand that hands it over).
class instant_sale_store : public store::sale_store {
public:
  store::recovered_sale load(const std::string&) override { return {}; }
  void set_meta(const std::string&, const store::sale_meta&) override {}
  void for_each_buyer(const std::string&, const std::function<void(std::string_view)>&) override {}
  boost::system::result<store::finished_admissions> finished_for(const std::string&,
                                                                 std::string_view,
                                                                 std::int64_t) override {
    return store::finished_admissions{};
  }
  void persist(const std::string&, store::sale_batch b, batch_done_fn done) override {
    batches.fetch_add(1);
    done(store::sale_batch_result::all_failed(b, {}));
  }
  bool accepting() const override { return true; }
  std::atomic<int> batches{0};
};

}  // namespace

// Two shards decide at once on their own threads (no hop to the strand): never oversold, every
// position told once, and the positions are exactly 1..stock.
TEST(SaleRunnerBatch, ShardsDecidingAtOnceNeverOversell) {
  constexpr int stock = 600, per_shard = 500;
  boost::asio::io_context strand_ctx{1};
  auto guard = boost::asio::make_work_guard(strand_ctx);
  hub::hub h{{strand_ctx.get_executor()}, config::history_cfg{10, 0}, "E"};
  obs::metrics metrics;
  auto st = std::make_shared<instant_sale_store>();
  sale_runner_options opt;
  opt.countdown_sync = std::chrono::milliseconds(0);
  auto runner = std::make_shared<sale_runner>(strand_ctx.get_executor(), h, metrics, st,
                                              sale_params{"s", "S", stock, 0, 1'000'000, 1},
                                              opt, [] { return std::int64_t{10'000}; });
  runner->recover({});
  runner->run();
  std::thread strand_thread([&] { strand_ctx.run(); });

  std::vector<std::int64_t> positions[2];
  int sold_out[2] = {0, 0};
  auto shard = [&](int k) {
    boost::asio::io_context home{1};
    int answered = 0;
    for (int i = 0; i < per_shard; ++i) {
      runner->admit("s" + std::to_string(k) + "-" + std::to_string(i),
                    [&, k](admit_reply r) {
                      ++answered;
                      if (r.code == errc::ok && r.sold_out) ++sold_out[k];
                      else if (r.code == errc::ok) positions[k].push_back(r.position);
                    },
                    &home);
      home.poll();
    }
    for (int spins = 0; answered < per_shard && spins < 10000; ++spins) {
      home.restart();
      if (home.poll() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(answered, per_shard);
  };
  std::thread a(shard, 0), b(shard, 1);
  a.join();
  b.join();
  runner->stop();
  guard.reset();
  strand_ctx.stop();
  strand_thread.join();

  std::vector<std::int64_t> all = positions[0];
  all.insert(all.end(), positions[1].begin(), positions[1].end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(stock)) << "oversold or units lost";
  for (int i = 0; i < stock; ++i) ASSERT_EQ(all[i], i + 1);
  EXPECT_EQ(sold_out[0] + sold_out[1], 2 * per_shard - stock);
}

// A batch decided on a shard leaves from that shard, and the next one leaves from the store's
// completion of the previous: neither waits for the sale's strand (each hop through it is a
// thread wake-up per batch, and a batch the store could already be writing).
TEST(SaleRunnerBatch, BatchesLeaveWithoutAHopThroughTheStrand) {
  fixture f(10);
  boost::asio::io_context shard{1};
  std::vector<std::int64_t> told;
  auto answer = [&told](admit_reply r) { told.push_back(r.position); };
  f.runner->admit("a1", answer, &shard);
  f.runner->admit("a2", answer, &shard);
  f.poll();  // the strand alone does not send it
  EXPECT_EQ(f.st->batches, 0u);
  EXPECT_EQ(poll_of(shard), 1u);
  ASSERT_EQ(f.st->batches, 1u) << "the batch did not leave from the deciding shard";
  EXPECT_EQ(f.st->admits.size(), 2u);

  // Decided while the first batch is with the store: sent by its completion, with the orders
  // of the first batch, before the strand or the shard ran anything.
  f.runner->admit("a3", answer, &shard);
  EXPECT_EQ(poll_of(shard), 0u) << "a flush was posted while a batch was with the store";
  f.st->finish_admit();
  f.st->finish_admit();
  ASSERT_EQ(f.st->batches, 2u) << "the next batch waited for the strand";
  EXPECT_EQ(f.st->admits.size(), 1u);
  EXPECT_EQ(f.st->completes.size(), 2u);
  EXPECT_TRUE(told.empty());
  EXPECT_EQ(poll_of(shard), 1u);  // the first batch's answers, in one post
  EXPECT_EQ(told, (std::vector<std::int64_t>{1, 2}));
  f.settle();
  poll_of(shard);
  EXPECT_EQ(told, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(f.runner->view().stock, 7);
}

// process_rate_per_s 0 with a store that writes an admission already done: the order rides in
// its admission's write (no second write), the result follows once that write is durable.
TEST(SaleRunnerBatch, OrderRidesAlongWithItsAdmissionAtRateZero) {
  fixture f(10, 512, true);
  auto a = f.admit("u1");
  auto b = f.admit("u2");  // decided while u1's batch is with the store: the next batch
  ASSERT_EQ(f.st->batches, 1u);
  EXPECT_TRUE(f.results_for("u1").empty()) << "a result before its order was durable";
  f.st->finish_admit();
  f.poll();
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->code, errc::ok);
  EXPECT_EQ((*a)->position, 1);
  EXPECT_TRUE(f.st->completes.empty()) << "the order went in a write of its own";
  EXPECT_EQ(f.st->batches, 2u);
  f.st->finish_admit();
  f.poll();
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->position, 2);
  EXPECT_TRUE(f.st->completes.empty()) << "the order went in a write of its own";
  EXPECT_EQ(f.st->batches, 2u);

  ASSERT_EQ(f.st->rows.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(f.st->rows[i].done);
    EXPECT_EQ(f.st->rows[i].order_id, "s-" + std::to_string(i + 1));
  }
  auto r1 = f.results_for("u1");
  auto r2 = f.results_for("u2");
  ASSERT_EQ(r1.size(), 1u);
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(r1[0]["orderId"], "s-1");
  EXPECT_EQ(r1[0]["position"], 1);
  EXPECT_EQ(r1[0]["stock"], 9);
  EXPECT_EQ(r2[0]["orderId"], "s-2");
  EXPECT_EQ(r2[0]["stock"], 8);
  EXPECT_EQ(f.runner->view().stock, 8);
  EXPECT_EQ(f.runner->view().queued, 0);
  EXPECT_EQ(f.runner->view().head, 2);
}

// A store that cannot write fails the admission and the order that rode along with it: the
// unit goes back, no result is told, and the next buyer's order rides along again.
TEST(SaleRunnerBatch, FailedWriteOfAnOrderThatRodeAlongGivesTheUnitBack) {
  fixture f(1, 512, true);
  auto a = f.admit("u1");
  f.st->finish_admit(disk_full);
  f.poll();
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->code, errc::unavailable);
  EXPECT_TRUE(f.results_for("u1").empty());
  EXPECT_EQ(f.runner->view().stock, 1);
  EXPECT_EQ(f.runner->view().queued, 0);

  auto b = f.admit("u2");
  f.st->finish_admit();
  f.poll();
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->code, errc::ok);
  EXPECT_TRUE(f.st->completes.empty());
  ASSERT_EQ(f.results_for("u2").size(), 1u);
  EXPECT_EQ(f.runner->view().stock, 0);
  auto c = f.admit("u3");
  ASSERT_TRUE(c->has_value());
  EXPECT_TRUE((*c)->sold_out) << "oversold after a failed write";
}

// While older admissions still wait for their orders (recovered ones, worked off
// max_in_flight at a time), a new admission's order does not ride along: it would jump the
// line. Its order is written separately, after theirs, in admission order.
TEST(SaleRunnerBatch, OrderRidesAlongOnlyWhenItsAdmissionIsNextInLine) {
  store::recovered_sale rec;
  rec.admitted = 3;
  rec.last_position = 3;
  for (std::int64_t p = 1; p <= 3; ++p) {
    store::admission_record a;
    a.position = p;
    a.user_id = "r" + std::to_string(p);
    rec.admissions.push_back(a);
  }
  fixture f(10, 512, true, 1, rec);
  ASSERT_EQ(f.st->completes.size(), 1u);
  auto a = f.admit("u1");
  ASSERT_EQ(f.st->batches, 1u);
  std::vector<std::int64_t> orders;
  orders.push_back(f.st->finish_complete());
  f.poll();
  // Order 2 and the new admission (position 4) leave together; position 3 is not taken yet.
  ASSERT_EQ(f.st->admits.size(), 1u);
  EXPECT_EQ(f.st->admits.front().position, 4);
  f.st->finish_admit();
  orders.push_back(f.st->finish_complete());
  f.poll();
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->position, 4);
  ASSERT_EQ(f.st->rows.size(), 1u);
  EXPECT_FALSE(f.st->rows[0].done) << "position 4's order jumped the line";
  while (!f.st->completes.empty()) {
    orders.push_back(f.st->finish_complete());
    f.poll();
  }
  EXPECT_EQ(orders, (std::vector<std::int64_t>{1, 2, 3, 4}));
  ASSERT_EQ(f.results_for("u1").size(), 1u);
  EXPECT_EQ(f.runner->view().stock, 6);
  EXPECT_EQ(f.runner->view().queued, 0);

  // The line is worked off: the next admission's order rides along again.
  auto b = f.admit("u2");
  f.st->finish_admit();
  f.poll();
  EXPECT_EQ((*b)->position, 5);
  EXPECT_TRUE(f.st->completes.empty());
  EXPECT_TRUE(f.st->rows.back().done);
  ASSERT_EQ(f.results_for("u2").size(), 1u);
}

// The result of an order that rode along is published on the shard that gets the answer, not
// on the store's thread that finished the batch.
TEST(SaleRunnerBatch, ResultOfAnOrderThatRodeAlongIsPublishedWithItsAnswer) {
  fixture f(10, 512, true);
  boost::asio::io_context shard{1};
  std::vector<std::int64_t> told;
  f.runner->admit("u1", [&told](admit_reply r) { told.push_back(r.position); }, &shard);
  EXPECT_EQ(poll_of(shard), 1u);  // the batch leaves from the deciding shard
  ASSERT_EQ(f.st->admits.size(), 1u);
  f.st->finish_admit();
  f.poll();
  EXPECT_TRUE(f.results_for("u1").empty()) << "published on the store's thread";
  const auto before = f.h.last_seq();
  EXPECT_EQ(poll_of(shard), 1u);  // the answers and the results, in one post
  EXPECT_EQ(told, (std::vector<std::int64_t>{1}));
  EXPECT_EQ(f.h.last_seq(), before + 1);
  auto r = f.results_for("u1");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["orderId"], "s-1");
  EXPECT_EQ(r[0]["stock"], 9);
}
