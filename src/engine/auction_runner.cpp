// Owns one live auction: its decisions (one writer at a time, under the runner's lock), the
// batches of bids it hands the store, its strand for the end and countdown timers and the
// coalesced price events. Built by engine::start_auctions; called by api/auction_routes.
#include "rushcast/engine/auction_runner.hpp"

#include <algorithm>
#include <chrono>
#include <deque>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/core/clock.hpp"
#include "rushcast/engine/auction_events.hpp"
#include "rushcast/engine/shard_replies.hpp"
#include "rushcast/hub/coalescer.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/obs/metrics.hpp"
#include "rushcast/store/auction_store.hpp"

namespace rushcast::engine {
namespace {

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Set while this thread submits a write, holding mu_: a store that takes the rows or completes
// the write at once (one that has stopped) must not lock mu_ again.
thread_local bool submitting = false;

}  // namespace

// What other threads may read: only bids the store has committed, so a snapshot or a GET never
// shows a price that a crash could take back.
struct auction_runner::view : auction_view {};

struct auction_runner::pending {
  bid_accepted acc;
  boost::asio::any_io_executor shard;  // where the bidder is answered; empty: on the store thread
  bid_done done;
};

struct auction_runner::batch {
  std::vector<pending> bids;
};

struct auction_runner::timers {
  timers(const boost::asio::any_io_executor& ex, hub::hub& h, std::chrono::milliseconds window)
      : strand(boost::asio::make_strand(ex)),
        end(strand),
        start(strand),
        sync(strand),
        hold(strand),
        coalesce(strand, h, window) {}
  boost::asio::strand<boost::asio::any_io_executor> strand;
  boost::asio::steady_timer end;
  boost::asio::steady_timer start;
  boost::asio::steady_timer sync;
  boost::asio::steady_timer hold;  // ends a hold of the next write (batch_wait)
  hub::coalescer coalesce;
  bool stopped = false;
};

auction_runner::auction_runner(boost::asio::any_io_executor executor, hub::hub& h,
                               obs::metrics& m, std::shared_ptr<store::auction_store> store,
                               std::string id, std::string name, auction_rules rules,
                               auction_runner_options opt, auction::clock_fn clock)
    : id_(std::move(id)),
      id_json_(dump(nlohmann::json(id_))),
      name_(std::move(name)),
      rules_(rules),
      opt_(opt),
      clock_(clock ? std::move(clock) : auction::clock_fn(core::now_ms)),
      hub_(h),
      metrics_(m),
      store_(std::move(store)),
      t_(std::make_unique<timers>(executor, h, opt.coalesce)),
      auction_(id_, name_, rules_, clock_),
      durable_(id_, name_, rules_, clock_),
      price_gauge_labels_("auction=\"" + id_ + "\""),
      view_(std::make_unique<view>()) {}

auction_runner::~auction_runner() = default;

void auction_runner::start(const store::recovered_auction& rec, std::int64_t current_end_ms,
                           bool ended) {
  std::vector<bid_record> bids;
  bids.reserve(rec.bids.size());
  for (const auto& b : rec.bids) bids.push_back(bid_record{b.seq, b.user_id, b.amount, b.ts_ms});
  std::lock_guard decide(mu_);
  auction_.restore(bids, current_end_ms, ended);
  durable_.restore(bids, current_end_ms, ended);
  {
    std::lock_guard lk(view_mu_);
    view_->price = auction_.current_price();
    view_->leader = auction_.leader();
    view_->bid_count = auction_.bid_count();
    view_->start_ms = rules_.start_ms;
    view_->end_ms = auction_.end_ms();
    view_->ended = ended;
    view_->recent = auction_.recent_bids();
    if (ended) {
      auto o = auction_.outcome();
      view_->winner = o.winner;
      view_->final_price = o.final_price;
    }
  }
  metrics_.set_gauge("rushcast_auction_price", price_gauge_labels_, auction_.current_price());

  std::weak_ptr<auction_runner> weak = weak_from_this();
  hub_.set_snapshot(topic(), [weak](hub::transport tr) {
    std::vector<hub::snapshot_event> out;
    auto self = weak.lock();
    if (!self) return out;
    view v;
    {
      std::lock_guard lk(self->view_mu_);
      v = *self->view_;
    }
    std::int64_t now = self->clock_();
    if (tr == hub::transport::websocket) {
      out.push_back({"init", auction_init_json(self->id_, self->name_, self->rules_, v, now)});
    } else {
      out.push_back({"price_update", self->price_json(v)});
    }
    out.push_back({"countdown", self->countdown_json(v, now)});
    if (v.ended)
      out.push_back({"auction_end", auction_end_json(self->id_, v.winner, v.final_price)});
    return out;
  });

  boost::asio::post(t_->strand, [self = shared_from_this()] {
    {
      std::lock_guard lk(self->mu_);
      if (self->auction_.ended()) return;
    }
    self->arm_start_timer();
    self->arm_sync_timer();
    self->arm_end_timer();
  });
}

void auction_runner::stop() {
  {
    std::lock_guard lk(mu_);
    stopped_ = true;  // no bid is decided, and no write submitted, after this returns
    // Bids held for the next write go now, even behind one still running.
    hold_for_ = 0;
    if (!open_.empty() && !write_submitted_) submit_locked();
  }
  boost::asio::post(t_->strand, [self = shared_from_this()] {
    self->t_->stopped = true;
    self->t_->end.cancel();
    self->t_->start.cancel();
    self->t_->sync.cancel();
    self->t_->hold.cancel();
    self->t_->coalesce.stop();
  });
}

auction_runner::bid_reply auction_runner::reply_base(std::int64_t amount) const {
  bid_reply r;
  r.auction_id = id_;
  r.bid_amount = amount;
  r.min_increment = rules_.min_increment;
  r.start_ms = rules_.start_ms;
  return r;
}

std::optional<auction_runner::bid_reply> auction_runner::bid(std::string_view user,
                                                             std::int64_t amount,
                                                             bid_done& done) {
  bid_reply r = reply_base(amount);
  std::unique_lock lk(mu_);
  // Prices told to a bidder are committed ones: a bid still in flight may yet fail.
  r.current_price = durable_.current_price();
  if (stopped_ || resync_ || !store_->accepting()) {
    lk.unlock();
    r.code = errc::unavailable;
    metrics_.count_bid(errc::unavailable);
    return r;
  }
  auto res = auction_.place_bid(std::string(user), amount);
  if (!res) {
    auto refusal = auction_.refusal(static_cast<errc>(res.error().value()));
    r.end_ms = auction_.end_ms();
    if (hold_for_ > 0) count_decision_locked();
    lk.unlock();
    r.code = refusal.code;
    r.min_acceptable = refusal.min_acceptable;
    metrics_.count_bid(refusal.code);
    return r;
  }
  ++in_flight_;
  open_.push_back(pending{std::move(*res), this_thread_shard(), std::move(done)});
  if (opt_.batch_wait.count() <= 0) {
    if (!write_submitted_) submit_locked();
  } else if (hold_for_ > 0) {
    count_decision_locked();
  } else {
    submit_if_due_locked();
  }
  return std::nullopt;
}

// Under mu_, batch_wait > 0: the open bids go to the store unless a write already will take
// them, one is running (its completion decides), or the next write is held.
void auction_runner::submit_if_due_locked() {
  if (open_.empty() || write_submitted_ || write_running_ || hold_for_ > 0) return;
  submit_locked();
}

// Under mu_, while holding: one more bid was decided; the last one awaited ends the hold.
void auction_runner::count_decision_locked() {
  if (--hold_for_ == 0) submit_if_due_locked();
}

// Under mu_, on the store thread, as a write that answered `answered` bids completes: the
// next write waits for as many decisions, or until the strand's timer ends the hold. The
// wait is bounded by the last write's own duration too: waiting longer than a write takes
// would cost more than a second write.
void auction_runner::hold_next_write_locked(std::size_t answered) {
  auto took = std::chrono::steady_clock::now() - write_began_;
  auto wait = std::min<std::chrono::steady_clock::duration>(opt_.batch_wait, took);
  hold_for_ = answered;
  const std::uint64_t generation = ++hold_generation_;
  auto deadline = std::chrono::steady_clock::now() + wait;
  boost::asio::post(t_->strand, [self = shared_from_this(), generation, deadline] {
    if (self->t_->stopped) return;
    self->t_->hold.expires_at(deadline);
    self->t_->hold.async_wait([self, generation](boost::system::error_code ec) {
      if (!ec) self->on_hold_expired(generation);
    });
  });
}

void auction_runner::on_hold_expired(std::uint64_t generation) {
  std::lock_guard lk(mu_);
  if (generation != hold_generation_ || hold_for_ == 0) return;
  hold_for_ = 0;
  submit_if_due_locked();
}

// Under mu_. One write per batch: it takes, when the store thread begins it, every bid decided
// until then. Submitted under mu_ so that writes (and the end, in on_end) reach the store in
// the order they were decided in.
void auction_runner::submit_locked() {
  write_submitted_ = true;
  auto b = std::make_shared<batch>();
  std::weak_ptr<auction_runner> weak = weak_from_this();
  auto take = [weak, b]() -> store::bid_rows {
    store::bid_rows rows;
    auto self = weak.lock();
    if (!self) return rows;
    // A store may take at once, inside append_bids, on the thread that holds mu_ already.
    std::unique_lock lk(self->mu_, std::defer_lock);
    if (!submitting) lk.lock();
    self->write_submitted_ = false;
    self->write_running_ = true;
    if (self->opt_.batch_wait.count() > 0) self->write_began_ = std::chrono::steady_clock::now();
    b->bids = std::move(self->open_);
    self->open_.clear();
    rows.bids.reserve(b->bids.size());
    for (const auto& p : b->bids) {
      const bid_record& bid = p.acc.bid;
      rows.bids.push_back(store::stored_bid{bid.seq, bid.user, bid.amount, bid.ts_ms});
    }
    if (!b->bids.empty()) rows.current_end_ms = b->bids.back().acc.end_ms;
    return rows;
  };
  auto done = [self = shared_from_this(), b](boost::system::error_code ec) {
    if (!submitting) {
      self->on_committed(*b, ec);
      return;
    }
    auto& strand = self->t_->strand;
    boost::asio::post(strand, [self, b, ec] { self->on_committed(*b, ec); });
  };
  submitting = true;
  store_->append_bids(id_, std::move(take), std::move(done));
  submitting = false;
}

// On the store thread, once the write holding a batch is durable (or failed): the committed
// state moves on, every bidder of the batch is answered on its own shard (one post per shard),
// and the price goes to the strand's coalescer.
void auction_runner::on_committed(batch& b, boost::system::error_code ec) {
  shard_replies replies;
  bool extended = false;
  bool rearm = false;
  std::int64_t price = 0;
  const std::size_t n = b.bids.size();
  {
    std::lock_guard lk(mu_);
    in_flight_ -= n;
    write_running_ = false;
    if (ec) {
      // Memory holds these bids and maybe later ones: bids wait until every one in flight is
      // back, then the auction falls back to what the store has (resync_if_drained_locked).
      if (n > 0)
        if (auto logged = store_fail_log_.admit())
          spdlog::error("auction {}: {} bid(s) from seq {} could not be stored ({}); refusing "
                        "bids until the store takes writes again ({} such failure(s) since the "
                        "last line)",
                        id_, n, b.bids.front().acc.bid.seq, ec.message(), logged);
      resync_ = resync_ || n > 0;
      for (auto& p : b.bids) {
        bid_reply r = reply_base(p.acc.bid.amount);
        r.end_ms = p.acc.end_ms;
        r.code = errc::unavailable;
        r.current_price = durable_.current_price();
        replies.add(p.shard, [done = std::move(p.done), r = std::move(r)]() mutable {
          done(std::move(r));
        });
      }
    } else if (n > 0) {
      std::lock_guard vk(view_mu_);
      for (auto& p : b.bids) {
        durable_.apply_committed(p.acc);
        view_->end_ms = std::max(view_->end_ms, p.acc.end_ms);
        view_->recent.push_back(p.acc.bid);
        if (view_->recent.size() > auction::recent_capacity) view_->recent.pop_front();
        extended = extended || p.acc.extended;
        bid_reply r = reply_base(p.acc.bid.amount);
        r.end_ms = p.acc.end_ms;
        r.current_price = p.acc.bid.amount;
        replies.add(p.shard, [done = std::move(p.done), r = std::move(r)]() mutable {
          done(std::move(r));
        });
      }
      view_->price = price = durable_.current_price();
      view_->leader = durable_.leader();
      view_->bid_count = durable_.bid_count();
    }
    rearm = resync_if_drained_locked();
    if (opt_.batch_wait.count() > 0) {
      if (!ec && n > 0 && !stopped_ && !ending_)
        hold_next_write_locked(n);
      else
        submit_if_due_locked();
    }
  }
  b.bids.clear();
  metrics_.count_bid(ec ? errc::unavailable : errc::ok, n);
  replies.deliver();
  if (!ec && n > 0) {
    metrics_.set_gauge("rushcast_auction_price", price_gauge_labels_, price);
    post_price();
    if (extended) boost::asio::post(t_->strand, [self = shared_from_this()] {
      self->publish_countdown();
    });
  }
  if (rearm)
    boost::asio::post(t_->strand, [self = shared_from_this()] {
      if (!self->t_->stopped) self->arm_end_timer();
    });
}

// Under mu_. After a failed commit, once no bid is in flight: the deciding state becomes the
// committed one again (a soft close that only a lost bid earned is undone), and bids are taken
// again whenever the store accepts them. True when the end timer should be armed again.
bool auction_runner::resync_if_drained_locked() {
  if (!resync_ || in_flight_ != 0) return false;
  resync_ = false;
  auction_ = durable_;
  if (ending_) {
    auction_.finish();
    return false;
  }
  spdlog::info("auction {}: back to its stored state (price {}, {} bid(s))", id_,
               auction_.current_price(), auction_.bid_count());
  return !stopped_;
}

// The price event is built on the strand from the committed view, at most one post waiting:
// commits that land meanwhile are carried by the same event.
void auction_runner::post_price() {
  if (price_post_pending_.exchange(true, std::memory_order_acq_rel)) return;
  boost::asio::post(t_->strand, [self = shared_from_this()] {
    self->price_post_pending_.store(false, std::memory_order_release);
    view v;
    {
      std::lock_guard lk(self->view_mu_);
      v.price = self->view_->price;
      v.leader = self->view_->leader;
      v.bid_count = self->view_->bid_count;
      v.end_ms = self->view_->end_ms;
    }
    self->t_->coalesce.update(self->topic(), "price_update", self->price_json(v));
  });
}

std::string auction_runner::price_json(const view& v) const { return auction_price_json(id_, v); }

std::string auction_runner::countdown_json(const view& v, std::int64_t now) const {
  return auction_countdown_json(id_, v, now);
}

void auction_runner::publish_countdown() {
  view v;
  {
    std::lock_guard lk(view_mu_);
    v.start_ms = view_->start_ms;
    v.end_ms = view_->end_ms;
    v.ended = view_->ended;
  }
  t_->coalesce.update(topic(), "countdown", countdown_json(v, clock_()));
}

void auction_runner::arm_start_timer() {
  std::int64_t wait = rules_.start_ms - clock_();
  if (wait <= 0) return;
  t_->start.expires_after(std::chrono::milliseconds(wait));
  t_->start.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->t_->stopped) return;
    self->publish_countdown();  // phase change: upcoming -> open
  });
}

void auction_runner::arm_sync_timer() {
  if (opt_.countdown_sync.count() <= 0) return;
  t_->sync.expires_after(opt_.countdown_sync);
  t_->sync.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->t_->stopped) return;
    {
      std::lock_guard lk(self->mu_);
      if (self->auction_.ended()) return;
    }
    self->publish_countdown();
    self->arm_sync_timer();
  });
}

void auction_runner::arm_end_timer() {
  std::int64_t end_ms = 0;
  {
    std::lock_guard lk(mu_);
    end_ms = auction_.end_ms();
  }
  std::int64_t wait = std::max<std::int64_t>(0, end_ms - clock_());
  t_->end.expires_after(std::chrono::milliseconds(wait));
  t_->end.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->t_->stopped) return;
    self->on_end();
  });
}

void auction_runner::on_end() {
  {
    std::unique_lock lk(mu_);
    if (auction_.ended() || ending_) return;
    if (!auction_.due()) {  // a soft close moved the end since the timer was armed
      lk.unlock();
      arm_end_timer();
      return;
    }
    ending_ = true;
    auction_.finish();  // later bids are refused as ended
    // Bids held for the next write go before the end.
    hold_for_ = 0;
    if (!open_.empty() && !write_submitted_) submit_locked();
    // Under mu_, like every bid write: the end reaches the store after every accepted bid.
    store_end();
  }
  t_->sync.cancel();
}

// On the strand. Submitted after every accepted bid, so its completion follows theirs: the
// end is announced only once it is durable, with the outcome of the committed bids alone.
void auction_runner::store_end() {
  store_->mark_ended(id_, [self = shared_from_this()](boost::system::error_code ec) {
    boost::asio::post(self->t_->strand, [self, ec] { self->on_end_stored(ec); });
  });
}

void auction_runner::on_end_stored(boost::system::error_code ec) {
  if (ec) {
    if (auto n = store_fail_log_.admit())
      spdlog::error("auction {}: storing its end failed ({}); retrying every {} ms ({} such "
                    "failure(s) since the last line)",
                    id_, ec.message(), opt_.store_retry.count(), n);
    if (t_->stopped) return;  // a restart ends it again: its end has passed
    t_->end.expires_after(opt_.store_retry);
    t_->end.async_wait([self = shared_from_this()](boost::system::error_code e) {
      if (!e && !self->t_->stopped) self->store_end();
    });
    return;
  }
  auction_outcome outcome;
  {
    std::lock_guard decide(mu_);
    outcome = durable_.finish();
    std::lock_guard lk(view_mu_);
    view_->ended = true;
    view_->winner = outcome.winner;
    view_->final_price = outcome.final_price;
  }
  const std::string topic = this->topic();
  publish_countdown();
  // Pending price and countdown go out before the end, so no watcher sees a price after it.
  t_->coalesce.flush();
  hub_.publish(topic, "auction_end",
               auction_end_json(id_, outcome.winner, outcome.final_price));
  for (const auto& r : outcome.results) {
    hub_.publish("user:" + r.user, "result",
                 auction_result_json(id_, r.won, outcome.final_price, r.highest_bid));
  }
  spdlog::info("auction {} ended: winner {}, final price {}", id_,
               outcome.winner.value_or("none"),
               outcome.final_price ? std::to_string(*outcome.final_price) : "none");
}

nlohmann::json auction_runner::state_json(std::size_t last_bids) const {
  view v;
  {
    std::lock_guard lk(view_mu_);
    v = *view_;
  }
  std::int64_t now = clock_();
  return auction_state_json(id_, name_, rules_, v, now, last_bids);
}

}  // namespace rushcast::engine
