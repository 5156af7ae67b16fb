#include "rushcast/hub/coalescer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>

#include "recording_subscriber.hpp"
#include "rushcast/hub/hub.hpp"

using namespace rushcast::hub;
using rushcast::hub::test::recording_subscriber;
using namespace std::chrono_literals;

namespace {
struct fixture {
  fixture()
      : h(std::vector<boost::asio::any_io_executor>{ctx.get_executor()},
          rushcast::config::history_cfg{}, "E"),
        sub(std::make_shared<recording_subscriber>()) {
    h.subscribe(sub, {"sale:1", "sale:2"}, std::nullopt, transport::sse);
  }
  std::vector<std::string> received() {
    ctx.restart();
    ctx.poll();
    std::vector<std::string> out;
    for (auto& f : sub->got) out.push_back(f->topic + " " + f->name + " " + std::string(f->ws_payload()));
    return out;
  }
  boost::asio::io_context ctx;
  hub h;
  std::shared_ptr<recording_subscriber> sub;
};
}  // namespace

TEST(Coalescer, WindowZeroPublishesEveryUpdate) {
  fixture fx;
  coalescer c(fx.ctx.get_executor(), fx.h, 0ms);
  c.update("sale:1", "stock", R"({"stock":3})");
  c.update("sale:1", "stock", R"({"stock":2})");
  EXPECT_EQ(fx.h.last_seq(), 2u);
  auto got = fx.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(fx.sub->got[0]->state);
}

TEST(Coalescer, FirstUpdatePublishesAtOnceLaterOnesWaitAndLastWins) {
  fixture fx;
  coalescer c(fx.ctx.get_executor(), fx.h, 1h);
  c.update("sale:1", "stock", R"({"stock":3})");
  c.update("sale:1", "stock", R"({"stock":2})");
  c.update("sale:1", "stock", R"({"stock":1})");
  EXPECT_EQ(fx.h.last_seq(), 1u);
  c.flush();
  EXPECT_EQ(fx.h.last_seq(), 2u);
  c.flush();  // nothing pending: nothing published
  EXPECT_EQ(fx.h.last_seq(), 2u);
  auto got = fx.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], R"(sale:1 stock {"type":"stock","topic":"sale:1","id":"E-1","stock":3})");
  EXPECT_EQ(got[1], R"(sale:1 stock {"type":"stock","topic":"sale:1","id":"E-2","stock":1})");
}

TEST(Coalescer, TopicsAndNamesAreCoalescedSeparately) {
  fixture fx;
  coalescer c(fx.ctx.get_executor(), fx.h, 1h);
  c.update("sale:1", "stock", "{}");
  c.update("sale:2", "stock", "{}");
  c.update("sale:1", "queue", "{}");
  EXPECT_EQ(fx.h.last_seq(), 3u);
  c.update("sale:1", "stock", "{}");
  EXPECT_EQ(fx.h.last_seq(), 3u);
}

TEST(Coalescer, StopPublishesPendingThenPassesUpdatesThrough) {
  fixture fx;
  coalescer c(fx.ctx.get_executor(), fx.h, 1h);
  c.update("sale:1", "stock", R"({"stock":3})");
  c.update("sale:1", "stock", R"({"stock":2})");
  c.stop();
  EXPECT_EQ(fx.h.last_seq(), 2u);
  c.update("sale:1", "stock", R"({"stock":1})");
  EXPECT_EQ(fx.h.last_seq(), 3u);
  auto got = fx.received();
  ASSERT_EQ(got.size(), 3u);
}

TEST(Coalescer, WindowEndPublishesTheLatestValue) {
  fixture fx;
  auto strand = boost::asio::make_strand(fx.ctx);
  coalescer c(strand, fx.h, 20ms);
  c.update("sale:1", "stock", R"({"stock":3})");
  c.update("sale:1", "stock", R"({"stock":2})");
  c.update("sale:1", "stock", R"({"stock":1})");
  EXPECT_EQ(fx.h.last_seq(), 1u);
  // Bounded: the timer is due in 20 ms; give up after 2 s.
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (fx.h.last_seq() < 2 && std::chrono::steady_clock::now() < deadline) {
    fx.ctx.restart();
    fx.ctx.run_one_for(100ms);
  }
  EXPECT_EQ(fx.h.last_seq(), 2u);
  auto got = fx.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], R"(sale:1 stock {"type":"stock","topic":"sale:1","id":"E-2","stock":1})");
}

TEST(Coalescer, DestructionPublishesNothingAndCancelsTimers) {
  fixture fx;
  {
    coalescer c(fx.ctx.get_executor(), fx.h, 1h);
    c.update("sale:1", "stock", "{}");
    c.update("sale:1", "stock", "{}");
  }
  fx.ctx.restart();
  fx.ctx.poll();
  EXPECT_EQ(fx.h.last_seq(), 1u);
}

// A lazy update builds its data only when it is published: the values a window replaces are
// never made, and the one published is made from the state of that moment.
TEST(Coalescer, LazyUpdateBuildsOnlyWhatIsPublishedFromTheStateThen) {
  fixture fx;
  coalescer c(fx.ctx.get_executor(), fx.h, 1h);
  int made = 0, stock = 3;
  auto make = [&] {
    ++made;
    return R"({"stock":)" + std::to_string(stock) + "}";
  };
  c.update_lazy("sale:1", "stock", make);  // published at once
  EXPECT_EQ(made, 1);
  for (stock = 2; stock >= 0; --stock) c.update_lazy("sale:1", "stock", make);
  EXPECT_EQ(made, 1) << "a value the window replaces was built";
  stock = 7;  // what the state is when the window ends
  c.flush();
  EXPECT_EQ(made, 2);
  auto got = fx.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], R"(sale:1 stock {"type":"stock","topic":"sale:1","id":"E-1","stock":3})");
  EXPECT_EQ(got[1], R"(sale:1 stock {"type":"stock","topic":"sale:1","id":"E-2","stock":7})");
}
