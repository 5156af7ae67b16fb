// One sale decided in Redis: batched rc_sale_admit calls answered from their replies, the queue
// worked off by rc_sale_complete on every node (the Function makes each position go once), the
// view polled from rc_sale_state, countdowns on Redis time for this node's subscribers, and the
// stock/queue events from the one node holding the publisher lease.
#include "rushcast/engine/cluster_sale_runner.hpp"

#include <algorithm>
#include <optional>
#include <future>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/core/clock.hpp"
#include "rushcast/engine/sale_events.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/obs/metrics.hpp"
#include "rushcast/redis/client.hpp"
#include "rushcast/redis/error.hpp"
#include "rushcast/store/redis_sale_calls.hpp"

namespace rushcast::engine {
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// Not sent, or sent with its outcome unknown: the same call (same request ids) may go again.
bool worth_retrying(const boost::system::error_code& ec) {
  return ec == redis::error::not_connected || ec == redis::error::connection_lost ||
         ec == redis::error::timeout || ec == redis::error::too_many_pending;
}


user_answer earlier_answer(const std::string& sale_id, std::int64_t position, bool done) {
  user_answer a;
  a.position = position;
  a.status = done ? user_answer::success : user_answer::queued;
  if (done) a.order_id = sale_id + "-" + std::to_string(position);
  return a;
}

}  // namespace

// One rc_sale_admit call: its requests (same order as the Function answers them) and tries.
struct cluster_sale_runner::batch {
  std::vector<waiter> waiters;
  std::vector<std::string> command;
  // Set at its first failure that may be retried: it is tried again until then.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  bool maybe_applied = false;  // sent once with no answer: Redis may have admitted its buyers
  std::unique_ptr<asio::steady_timer> retry_timer;
};

cluster_sale_runner::cluster_sale_runner(asio::any_io_executor executor, hub::hub& h,
                                         obs::metrics& m, std::shared_ptr<redis::client> client,
                                         sale_params params, cluster_sale_options opt,
                                         std::int64_t clock_offset_ms)
    : id_(params.id),
      topic_("sale:" + params.id),
      strand_(asio::make_strand(executor)),
      hub_(h),
      metrics_(m),
      client_(std::move(client)),
      params_(std::move(params)),
      opt_(std::move(opt)),
      offset_ms_(clock_offset_ms),
      view_(std::make_shared<shared_view>()),
      poll_timer_(strand_),
      lease_timer_(strand_),
      complete_timer_(strand_),
      phase_timer_(strand_),
      sync_timer_(strand_) {
  opt_.max_batch = std::clamp<std::size_t>(opt_.max_batch, 1, 1000);
  opt_.max_calls_in_flight = std::max<std::size_t>(1, opt_.max_calls_in_flight);
  opt_.poll = std::max(opt_.poll, milliseconds(10));
  opt_.retry_tick = std::max(opt_.retry_tick, std::chrono::milliseconds(1));
  const std::string labels = "sale=\"" + id_ + "\"";
  stock_gauge_ = &metrics_.gauge("rushcast_sale_stock", labels);
  queued_gauge_ = &metrics_.gauge("rushcast_sale_queued", labels);
  std::lock_guard lk(view_->mu);
  sale_view& v = view_->v;
  v.id = id_;
  v.name = params_.name;
  v.total = params_.stock_total;
  v.stock = params_.stock_total;
  v.start_ms = params_.start_ms;
  v.end_ms = params_.end_ms;
}

cluster_sale_runner::~cluster_sale_runner() = default;

std::int64_t cluster_sale_runner::now_ms() const {
  return core::now_ms() + offset_ms_.load(std::memory_order_relaxed);
}

sale_view cluster_sale_runner::view() const {
  std::lock_guard lk(view_->mu);
  return view_->v;
}

void cluster_sale_runner::run() {
  // Each node answers its own subscribers' snapshots from its view: no Redis call per connect.
  hub_.set_snapshot(topic_, [view = view_, self = weak_from_this()](hub::transport) {
    sale_view v;
    {
      std::lock_guard lk(view->mu);
      v = view->v;
    }
    auto s = self.lock();
    const std::int64_t now = s ? s->now_ms() : core::now_ms();
    return std::vector<hub::snapshot_event>{{"stock", stock_json(v)},
                                            {"countdown", countdown_json(v, now)},
                                            {"queue", queue_json(v)}};
  });
  asio::post(strand_, [self = shared_from_this()] {
    self->last_phase_ = self->view().phase_at(self->now_ms());
    self->publish_countdown();
    self->arm_phase_timer();
    self->arm_sync_timer();
    self->poll();
    self->renew_lease();
    self->complete();
  });
}

void cluster_sale_runner::stop() {
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  asio::post(strand_, [self = shared_from_this(), done] {
    if (!self->stopped_) {
      self->stopped_ = true;
      self->poll_timer_.cancel();
      self->lease_timer_.cancel();
      self->complete_timer_.cancel();
      self->phase_timer_.cancel();
      self->sync_timer_.cancel();
      self->leader_ = false;
      // Nothing was sent for these: they may buy again elsewhere.
      batch b;
      b.waiters.assign(std::make_move_iterator(self->waiting_.begin()),
                       std::make_move_iterator(self->waiting_.end()));
      self->waiting_.clear();
      self->answer_all(b, nullptr, errc::unavailable);
    }
    done->set_value();
  });
  // Drain calls this while the threads run; the bound matters only when they do not.
  fut.wait_for(std::chrono::seconds(1));
}

// ---------------------------------------------------------------------------------------------
// Admissions

void cluster_sale_runner::admit(std::string user_id, admit_done done, asio::io_context* home,
                                std::string request_id) {
  asio::post(strand_, [self = shared_from_this(), user = std::move(user_id),
                       done = std::move(done), home, rid = std::move(request_id)]() mutable {
    if (self->stopped_ || self->waiting_.size() >= self->opt_.max_waiting) {
      self->metrics_.count_admission(obs::admission_outcome::unavailable);
      admit_reply r;
      r.code = errc::unavailable;
      if (home)
        asio::post(*home, [done = std::move(done), r] { done(r); });
      else
        done(r);
      return;
    }
    // A client's key and a node's id never meet: "k:" and "n:" (the Function scopes either
    // to its user and sale).
    std::string id = rid.empty() ? "n:" + self->opt_.node_id + ":" +
                                       std::to_string(++self->next_request_)
                                 : "k:" + rid;
    self->waiting_.push_back({std::move(user), std::move(id), home, std::move(done)});
    self->schedule_flush();
  });
}

// Behind the handlers already queued on the strand: the admissions that arrived together
// leave in one call.
void cluster_sale_runner::schedule_flush() {
  if (flush_posted_ || waiting_.empty()) return;
  flush_posted_ = true;
  asio::post(strand_, [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void cluster_sale_runner::flush() {
  while (!waiting_.empty() && calls_in_flight_ < opt_.max_calls_in_flight) {
    auto b = std::make_shared<batch>();
    const std::size_t n = std::min(opt_.max_batch, waiting_.size());
    b->waiters.assign(std::make_move_iterator(waiting_.begin()),
                      std::make_move_iterator(waiting_.begin() + static_cast<std::ptrdiff_t>(n)));
    waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(n));
    std::vector<store::redis_admit_request> reqs;
    reqs.reserve(n);
    for (const auto& w : b->waiters) reqs.push_back({w.user_id, w.request_id});
    b->command = store::sale_admit_command(id_, reqs);
    ++calls_in_flight_;
    send(std::move(b));
  }
}

void cluster_sale_runner::send(std::shared_ptr<batch> b) {
  client_->execute(b->command, [w = weak_from_this(), b](boost::system::error_code ec,
                                                         redis::reply r) mutable {
    auto self = w.lock();
    if (!self) return;
    asio::dispatch(self->strand_, [self, b = std::move(b), ec, r = std::move(r)]() mutable {
      self->on_admit(std::move(b), ec, r);
    });
  });
}

void cluster_sale_runner::on_admit(std::shared_ptr<batch> b, boost::system::error_code ec,
                                   const redis::reply& r) {
  if (ec && worth_retrying(ec) && !stopped_) {
    const auto now = std::chrono::steady_clock::now();
    if (!b->deadline) b->deadline = now + opt_.unsent_grace;
    if (!b->maybe_applied && redis::outcome_unknown(ec)) {
      b->maybe_applied = true;
      b->deadline = now + opt_.outcome_deadline;
    }
    if (now < *b->deadline) {
      // Same command, same request ids: an admission the lost reply carried is replayed, not
      // made again. The call keeps its place among the calls in flight meanwhile.
      b->retry_timer = std::make_unique<asio::steady_timer>(strand_, opt_.retry_tick);
      b->retry_timer->async_wait([w = weak_from_this(), b](boost::system::error_code) {
        if (auto self = w.lock()) self->send(b);
      });
      return;
    }
  }
  --calls_in_flight_;
  if (ec) {
    if (ec == redis::error::server_error) note_server_error(r.str);
    if (auto n = fail_log_.admit())
      spdlog::warn("sale {}: {} admission(s) not decided: {} ({} such failure(s) since the last "
                   "line)",
                   id_, b->waiters.size(), r.str.empty() ? ec.message() : r.str, n);
    answer_all(*b, nullptr, ec == redis::error::server_error ? errc::internal : errc::unavailable);
  } else if (auto parsed = store::parse_sale_admit(r, b->waiters.size())) {
    note_time(parsed->counts.now_ms);
    apply_counts(parsed->counts);
    answer_all(*b, &*parsed, errc::ok);
  } else {
    spdlog::error("sale {}: rc_sale_admit answered in an unknown shape", id_);
    answer_all(*b, nullptr, errc::internal);
  }
  flush();
}

// Every waiter of b gets its answer: from reply's results, or failure for all. Grouped by the
// shard that holds each connection: one post per shard.
void cluster_sale_runner::answer_all(batch& b, const store::redis_admit_reply* reply,
                                     errc failure) {
  struct shard_answers {
    asio::io_context* home;
    std::vector<std::pair<admit_done, admit_reply>> answers;
  };
  std::vector<shard_answers> by_home;
  std::vector<std::pair<admit_done, admit_reply>> direct;
  for (std::size_t i = 0; i < b.waiters.size(); ++i) {
    waiter& w = b.waiters[i];
    admit_reply a;
    if (!reply) {
      a.code = failure;
      metrics_.count_admission(obs::admission_outcome::unavailable);
    } else {
      const auto& res = reply->results[i];
      switch (res.kind) {
        case store::redis_admit_result::queued:
          a.position = res.position;
          metrics_.count_admission(obs::admission_outcome::queued);
          break;
        case store::redis_admit_result::sold_out:
          a.sold_out = true;
          metrics_.count_admission(obs::admission_outcome::sold_out);
          break;
        case store::redis_admit_result::duplicate:
          a.code = errc::duplicate;
          a.earlier = earlier_answer(id_, res.position, res.done);
          metrics_.count_admission(obs::admission_outcome::duplicate);
          break;
        case store::redis_admit_result::not_started:
          a.code = errc::not_started;
          a.start_ms = res.time_ms;
          metrics_.count_admission(obs::admission_outcome::not_started);
          break;
        case store::redis_admit_result::ended:
          a.code = errc::ended;
          metrics_.count_admission(obs::admission_outcome::ended);
          break;
      }
    }
    if (!w.home) {
      direct.emplace_back(std::move(w.done), std::move(a));
      continue;
    }
    auto it = std::find_if(by_home.begin(), by_home.end(),
                           [&](const shard_answers& s) { return s.home == w.home; });
    if (it == by_home.end()) it = by_home.insert(by_home.end(), shard_answers{w.home, {}});
    it->answers.emplace_back(std::move(w.done), std::move(a));
  }
  for (auto& group : by_home)
    asio::post(*group.home, [answers = std::move(group.answers)]() mutable {
      for (auto& [done, reply] : answers) done(std::move(reply));
    });
  for (auto& [done, a] : direct) done(std::move(a));
}

// ---------------------------------------------------------------------------------------------
// View, time and the lease

void cluster_sale_runner::note_time(std::int64_t redis_now_ms) {
  offset_ms_.store(redis_now_ms - core::now_ms(), std::memory_order_relaxed);
}

// Replies on one connection come in the order Redis ran the calls, so each one's counts are
// at least as new as the last one's: the view follows the latest.
void cluster_sale_runner::apply_counts(const store::redis_sale_counts& c) {
  sale_view copy;
  {
    std::lock_guard lk(view_->mu);
    sale_view& v = view_->v;
    v.total = c.total;
    v.head = c.head;
    v.stock = std::max<std::int64_t>(0, c.total - c.head);
    v.queued = std::max<std::int64_t>(0, c.reserved - c.head);
    v.all_reserved = c.reserved >= c.total;
    copy = v;
  }
  refresh_gauges(copy);
  note_phase();
}

void cluster_sale_runner::refresh_gauges(const sale_view& v) {
  stock_gauge_->store(v.stock, std::memory_order_relaxed);
  queued_gauge_->store(v.queued, std::memory_order_relaxed);
}

// "unknown sale": Redis lost the sale (restarted without its AOF, or flushed). The sale is
// stored again as this node knows it (absolute times), so that the cluster can go on; what
// was admitted before is gone with the data, as the bus's epoch change tells clients.
void cluster_sale_runner::note_server_error(const std::string& text) {
  if (text.find("unknown sale") == std::string::npos || reinit_in_flight_ || stopped_) return;
  reinit_in_flight_ = true;
  const sale_view v = view();
  spdlog::error("sale {}: Redis does not know the sale any more (its data was lost?); storing "
                "it again",
                id_);
  client_->execute(store::sale_init_command(id_, v.total, "abs:" + std::to_string(v.start_ms),
                                            "abs:" + std::to_string(v.end_ms),
                                            params_.per_user_limit, opt_.process_rate_per_s),
                   [w = weak_from_this()](boost::system::error_code, redis::reply) {
                     auto self = w.lock();
                     if (!self) return;
                     asio::dispatch(self->strand_, [self] { self->reinit_in_flight_ = false; });
                   });
}

void cluster_sale_runner::arm_poll(milliseconds after) {
  if (stopped_) return;
  poll_timer_.expires_after(after);
  poll_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (ec || !self || self->stopped_) return;
    self->poll();
  });
}

// The view every opt_.poll; the lease holder publishes stock and queue when they changed.
// One poll at a time, and its publishes leave in the order of the polls: the bus carries
// the counts in the order Redis had them.
void cluster_sale_runner::poll() {
  client_->execute(store::sale_state_command(id_), [w = weak_from_this()](
                                                       boost::system::error_code ec,
                                                       redis::reply r) {
    auto self = w.lock();
    if (!self) return;
    asio::dispatch(self->strand_, [self, ec, r = std::move(r)] {
      if (self->stopped_) return;
      if (ec) {
        if (ec == redis::error::server_error) self->note_server_error(r.str);
      } else if (auto s = store::parse_sale_state(r)) {
        self->note_time(s->counts.now_ms);
        self->apply_counts(s->counts);
        if (self->leader_.load(std::memory_order_relaxed)) {
          const sale_view v = self->view();
          if (v.stock != self->published_stock_) {
            self->published_stock_ = v.stock;
            self->hub_.publish(self->topic_, "stock", stock_json(v), true);
          }
          if (v.queued != self->published_queued_ || v.head != self->published_head_) {
            self->published_queued_ = v.queued;
            self->published_head_ = v.head;
            self->hub_.publish(self->topic_, "queue", queue_json(v), true);
          }
        }
      }
      self->arm_poll(self->opt_.poll);
    });
  });
}

void cluster_sale_runner::arm_lease(milliseconds after) {
  if (stopped_) return;
  lease_timer_.expires_after(after);
  lease_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (ec || !self || self->stopped_) return;
    self->renew_lease();
  });
}

void cluster_sale_runner::renew_lease() {
  client_->execute(
      store::sale_lease_command(id_, opt_.node_id, opt_.lease.count()),
      [w = weak_from_this()](boost::system::error_code ec, redis::reply r) {
        auto self = w.lock();
        if (!self) return;
        asio::dispatch(self->strand_, [self, ec, r = std::move(r)] {
          if (self->stopped_) return;
          // An unanswered renewal may have lapsed: stop publishing until one is answered.
          const bool holds = !ec && r.as_int().value_or(0) == 1;
          if (holds && !self->leader_.load(std::memory_order_relaxed)) {
            spdlog::info("sale {}: this node publishes the sale's stock and queue now", self->id_);
            // The first poll as holder publishes the current counts.
            self->published_stock_ = self->published_queued_ = self->published_head_ = -1;
          }
          self->leader_.store(holds, std::memory_order_relaxed);
          if (holds) self->sweep_unannounced();
          // Unanswered (not connected yet, Redis away): asked again soon, so that a cluster
          // that starts or comes back has a publisher within a poll or two.
          self->arm_lease(ec ? std::min(self->opt_.poll * 5, self->opt_.lease / 3)
                             : self->opt_.lease / 3);
        });
      });
}

// ---------------------------------------------------------------------------------------------
// Completion

void cluster_sale_runner::arm_complete(milliseconds after) {
  if (stopped_) return;
  complete_timer_.expires_after(after);
  complete_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (ec || !self || self->stopped_) return;
    self->complete();
  });
}

// Every node calls rc_sale_complete: the Function works off each position once, in order, at
// process_rate_per_s for the whole sale; this node announces the orders its call completed.
void cluster_sale_runner::complete() {
  const std::int64_t rate = opt_.process_rate_per_s;
  const milliseconds every =
      rate > 0 ? milliseconds(std::max<std::int64_t>(10, 1000 / rate)) : opt_.complete_idle;
  client_->execute(
      store::sale_complete_command(id_, static_cast<std::int64_t>(opt_.max_batch)),
      [w = weak_from_this(), every](boost::system::error_code ec, redis::reply r) {
        auto self = w.lock();
        if (!self) return;
        asio::dispatch(self->strand_, [self, ec, r = std::move(r), every] {
          if (self->stopped_) return;
          std::optional<store::redis_complete_reply> c;
          if (!ec) c = store::parse_sale_complete(r);
          if (!c) {
            if (ec == redis::error::server_error) self->note_server_error(r.str);
            return self->arm_complete(every);
          }
          self->note_time(c->now_ms);
          const std::int64_t total = self->view().total;
          if (!c->users.empty()) self->announce(c->head_before + 1, c->users);
          self->apply_counts({c->now_ms, total, c->reserved, c->head_after});
          // As fast as Redis answers while there is work and no rate; else on the period.
          const bool more = self->opt_.process_rate_per_s == 0 && !c->users.empty() &&
                            c->head_after < c->reserved;
          self->arm_complete(more ? milliseconds(0) : every);
        });
      });
}

// The buyers' results of positions first, first + 1, ...; then Redis forgets the range. A node
// that dies before that leaves it in rc:sale:{ID}:unannounced, for the lease holder's sweep.
void cluster_sale_runner::announce(std::int64_t first, const std::vector<std::string>& users) {
  const std::int64_t total = view().total;
  for (std::size_t i = 0; i < users.size(); ++i) {
    if (users[i].empty()) continue;
    const std::int64_t pos = first + static_cast<std::int64_t>(i);
    hub_.publish("user:" + users[i], "result",
                 result_json(id_, id_ + "-" + std::to_string(pos), pos,
                             std::max<std::int64_t>(0, total - pos)));
  }
  client_->execute(store::sale_announced_command(id_, first),
                   [](boost::system::error_code, redis::reply) {});
}

// The lease holder, every renewal: ranges another node worked off and never announced.
void cluster_sale_runner::sweep_unannounced() {
  client_->execute(
      store::sale_unannounced_command(id_, opt_.unannounced_after.count(), 64),
      [w = weak_from_this()](boost::system::error_code ec, redis::reply r) {
        auto self = w.lock();
        if (!self || ec) return;
        asio::dispatch(self->strand_, [self, r = std::move(r)] {
          auto u = store::parse_sale_unannounced(r);
          if (!u || self->stopped_) return;
          for (const auto& range : u->ranges) {
            spdlog::warn("sale {}: orders {}..{} were worked off by a node that did not announce "
                         "them; announcing their results",
                         self->id_, range.first,
                         range.first + static_cast<std::int64_t>(range.users.size()) - 1);
            self->announce(range.first, range.users);
          }
        });
      });
}

// ---------------------------------------------------------------------------------------------
// Countdown: derived from Redis time, so each node tells its own subscribers (publish_local)
// rather than N nodes putting N copies on the bus.

void cluster_sale_runner::publish_countdown() {
  hub_.publish_local(topic_, "countdown", countdown_json(view(), now_ms()), true);
}

void cluster_sale_runner::note_phase() {
  const sale_phase now = view().phase_at(now_ms());
  if (now == last_phase_) return;
  spdlog::info("sale {}: {} -> {}", id_, phase_name(last_phase_), phase_name(now));
  last_phase_ = now;
  publish_countdown();
}

void cluster_sale_runner::arm_phase_timer() {
  if (stopped_) return;
  const std::int64_t now = now_ms();
  const std::int64_t next =
      now < params_.start_ms ? params_.start_ms : (now < params_.end_ms ? params_.end_ms : -1);
  if (next < 0) return;
  phase_timer_.expires_after(milliseconds(next - now));
  phase_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (ec || !self || self->stopped_) return;
    // Early against Redis time (the steady clock, a moving offset): re-armed until the phase
    // really changed.
    self->note_phase();
    self->arm_phase_timer();
  });
}

void cluster_sale_runner::arm_sync_timer() {
  if (stopped_ || opt_.countdown_sync.count() <= 0) return;
  sync_timer_.expires_after(opt_.countdown_sync);
  sync_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (ec || !self || self->stopped_) return;
    self->publish_countdown();
    self->arm_sync_timer();
  });
}

// ---------------------------------------------------------------------------------------------

void cluster_sale_runner::result_for(std::string user_id, std::function<void(user_answer)> done) {
  client_->execute(store::sale_user_command(id_, user_id),
                   [id = id_, done = std::move(done)](boost::system::error_code ec,
                                                      redis::reply r) {
                     user_answer a;
                     auto u = ec ? std::nullopt : store::parse_sale_user(r);
                     if (!u) {
                       a.status = user_answer::unavailable;
                     } else if (u->count > 0) {
                       a = earlier_answer(id, u->latest_position, u->done);
                     } else {
                       a.status = u->sold_out ? user_answer::sold_out : user_answer::none;
                     }
                     done(std::move(a));
                   });
}

}  // namespace rushcast::engine
