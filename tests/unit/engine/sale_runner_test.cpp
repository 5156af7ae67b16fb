// Tests sale_runner against a store that fails on demand: nothing is acknowledged unless it
// was stored, a purchase is refused (unavailable) without reserving stock while the store
// cannot write, and a queued buyer's order is retried until stored: never lost, never doubled.
// One io_context polled by hand, a manual clock, no sockets, no sleeps.
#include <gtest/gtest.h>

#include <deque>
#include <optional>

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
  void admit(const std::string&, const store::admission_record& a, done_fn done) override {
    // Kept as stored once the write succeeds, for finished_for().
    admits.push_back({a.position, [this, a, done = std::move(done)](boost::system::error_code ec) {
                        if (!ec) rows.push_back(a);
                        done(ec);
                      }});
  }
  void complete(const std::string&, std::int64_t position, std::string,
                done_fn done) override {
    completes.push_back({position, std::move(done)});
  }
  bool accepting() const override { return accept; }

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
  bool accept = true;
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

  explicit fixture(std::int64_t stock) {
    sale_runner_options opt;
    opt.coalesce = std::chrono::milliseconds(0);
    opt.countdown_sync = std::chrono::milliseconds(0);
    opt.store_retry = std::chrono::milliseconds(0);
    runner = std::make_shared<sale_runner>(ioc.get_executor(), h, metrics, st,
                                           sale_params{"s", "S", stock, 0, 1'000'000, 1}, opt,
                                           [this] { return now; });
    h.subscribe(buyers, {"user:u1", "user:u2", "user:u3"}, std::nullopt, hub::transport::sse);
    runner->recover({});
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

  std::vector<json> results_for(const std::string& user) {
    poll();
    std::vector<json> out;
    for (const auto& f : buyers->got)
      if (f->name == "result" && f->topic == "user:" + user)
        out.push_back(json::parse(f->ws_payload()));
    return out;
  }
};

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
  auto b = f.admit("u2");
  f.st->finish_admit();
  auto c = f.admit("u3");
  f.st->finish_admit();
  f.poll();
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
    f.st->finish_admit();
    f.poll();
    ASSERT_EQ((*r)->code, errc::ok);
  }
  while (!f.st->completes.empty()) {
    f.st->finish_complete();
    f.poll();
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
