// One sale on its strand: admissions answered only once durable, orders worked off in
// admission order at process_rate_per_s, countdown/stock/queue events, snapshot and gauges.
// Built by engine::start_sales; driven by api/sale_routes.
#include "rushcast/engine/sale_runner.hpp"

#include <algorithm>
#include <future>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/engine/sale_events.hpp"
#include "rushcast/hub/coalescer.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/obs/metrics.hpp"
#include "rushcast/store/sale_store.hpp"

namespace rushcast::engine {
namespace asio = boost::asio;

sale_runner::sale_runner(asio::any_io_executor executor, hub::hub& h, obs::metrics& m,
                         std::shared_ptr<store::sale_store> st, sale_params params,
                         sale_runner_options opt, clock_fn clock)
    : id_(params.id),
      strand_(asio::make_strand(executor)),
      hub_(h),
      metrics_(m),
      store_(std::move(st)),
      opt_(opt),
      clock_(clock),
      sale_(std::move(params), clock,
            // Finished buyers are read from the store on the strand: see
            // store::sale_store::finished_for for why that is safe and cheap.
            [st = store_, id = id_](std::string_view user, std::int64_t up_to)
                -> boost::system::result<finished_buyer> {
              auto f = st->finished_for(id, user, up_to);
              if (!f) return f.error();
              return finished_buyer{f->count, f->latest_position, f->latest_seq,
                                    std::move(f->latest_order_id)};
            }),
      coalescer_(std::make_unique<hub::coalescer>(strand_, h, opt.coalesce)),
      phase_timer_(strand_),
      sync_timer_(strand_),
      process_timer_(strand_),
      view_(std::make_shared<shared_view>()),
      topic_("sale:" + id_) {
  next_ = std::make_unique<batch_in_flight>();
  orders_ride_along_ = opt_.process_rate_per_s == 0 && store_->writes_orders_with_admissions();
  const std::string labels = "sale=\"" + id_ + "\"";
  stock_gauge_ = &metrics_.gauge("rushcast_sale_stock", labels);
  queued_gauge_ = &metrics_.gauge("rushcast_sale_queued", labels);
  // Admissions held in memory (the window after the head): follows the queue, not the buyers.
  in_memory_gauge_ = &metrics_.gauge("rushcast_sale_in_memory", labels);
  {
    const auto& p = sale_.params();
    std::lock_guard lk(view_->mu);
    view_->v.id = p.id;
    view_->v.name = p.name;
    view_->v.start_ms = p.start_ms;
    view_->v.end_ms = p.end_ms;
  }
  refresh_view();
}

// The batch with the store: what it holds, to finish each record when the result comes back.
struct sale_runner::batch_in_flight {
  store::sale_batch batch;      // moved to the store when the batch leaves
  std::vector<waiter> waiters;  // one per batch.admissions, same order
  std::vector<std::int64_t> order_positions;  // one per batch.orders, same order
};

sale_runner::~sale_runner() = default;

void sale_runner::recover(const store::recovered_sale& r) {
  std::lock_guard lk(mu_);
  recovered_state rs;
  rs.admitted = r.admitted;
  rs.done = r.done;
  rs.last_position = r.last_position;
  rs.tail.reserve(r.admissions.size());
  for (const auto& a : r.admissions)
    rs.tail.push_back({a.position, a.user_id, a.user_seq, a.done, a.ts_ms});
  sale_.recover(std::move(rs));
  // Every stored buyer goes into the filter, so that a finished one is looked up in the store.
  if (r.admitted > 0)
    store_->for_each_buyer(id_, [this](std::string_view u) { sale_.note_buyer(u); });
  refresh_view();
  if (r.admitted > 0)
    spdlog::info("sale {}: recovered {} admission(s), {} sold, {} waiting", id_, r.admitted,
                 sale_.sold(), sale_.queued());
}

void sale_runner::run() {
  // The snapshot reads only the shared copy: it runs on shard threads, never on the strand.
  hub_.set_snapshot(topic_, [view = view_, clock = clock_](hub::transport) {
    sale_view v;
    {
      std::lock_guard lk(view->mu);
      v = view->v;
    }
    const std::int64_t now = clock();
    return std::vector<hub::snapshot_event>{{"stock", stock_json(v)},
                                            {"countdown", countdown_json(v, now)},
                                            {"queue", queue_json(v)}};
  });
  asio::post(strand_, [self = shared_from_this()] {
    std::lock_guard lk(self->mu_);
    self->last_phase_ = self->sale_.phase();
    self->publish_countdown();
    self->publish_state();
    self->arm_phase_timer();
    self->arm_sync_timer();
    self->last_tick_ = std::chrono::steady_clock::now();
    if (self->opt_.process_rate_per_s > 0)
      self->arm_process_timer();
    else
      self->pump(-1);
  });
}

void sale_runner::stop() {
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  asio::post(strand_, [self = shared_from_this(), done] {
    std::lock_guard lk(self->mu_);
    if (!self->stopped_) {
      self->stopped_ = true;
      self->phase_timer_.cancel();
      self->sync_timer_.cancel();
      self->process_timer_.cancel();
      self->coalescer_->stop();
    }
    done->set_value();
  });
  // Drain calls this from the main thread while the shards still run; the bound only matters
  // when they do not (a start-up failure).
  fut.wait_for(std::chrono::seconds(1));
}

sale_view sale_runner::view() const {
  std::lock_guard lk(view_->mu);
  return view_->v;
}

// The figures that change; id, name and times are set once in the constructor.
void sale_runner::refresh_view() {
  const std::int64_t stock = sale_.stock();
  const std::int64_t queued = sale_.queued();
  {
    std::lock_guard lk(view_->mu);
    sale_view& v = view_->v;
    v.stock = stock;
    v.total = sale_.total();
    v.queued = queued;
    v.head = sale_.head();
    v.all_reserved = sale_.reserved() >= sale_.total();
  }
  stock_gauge_->store(stock, std::memory_order_relaxed);
  queued_gauge_->store(queued, std::memory_order_relaxed);
  in_memory_gauge_->store(static_cast<std::int64_t>(sale_.window_size()),
                          std::memory_order_relaxed);
}

void sale_runner::publish_countdown() {
  hub_.publish(topic_, "countdown", countdown_json(view(), clock_()), true);
}

// The events are made when the coalescer sends them, from the view of that moment: a burst
// of admissions within one window builds one stock and one queue event, not one per buyer.
void sale_runner::publish_state() {
  coalescer_->update_lazy(topic_, "stock", [view = view_] {
    std::lock_guard lk(view->mu);
    return stock_json(view->v);
  });
  coalescer_->update_lazy(topic_, "queue", [view = view_] {
    std::lock_guard lk(view->mu);
    return queue_json(view->v);
  });
}

void sale_runner::note_phase() {
  sale_phase now = sale_.phase();
  if (now == last_phase_) return;
  spdlog::info("sale {}: {} -> {}", id_, phase_name(last_phase_), phase_name(now));
  last_phase_ = now;
  // State before the countdown, so a client that sees "sold_out" already has the last stock.
  coalescer_->flush();
  publish_countdown();
}

void sale_runner::arm_phase_timer() {
  const std::int64_t now = clock_();
  const auto& p = sale_.params();
  std::int64_t next = now < p.start_ms ? p.start_ms : (now < p.end_ms ? p.end_ms : -1);
  if (next < 0 || stopped_) return;
  phase_timer_.expires_after(std::chrono::milliseconds(next - now));
  phase_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (ec || !self) return;
    std::lock_guard lk(self->mu_);
    if (self->stopped_) return;
    // The steady clock may fire a little early against the wall clock: re-arm until the
    // phase really changed, so the countdown never announces a phase that has not begun.
    self->note_phase();
    self->arm_phase_timer();
  });
}

void sale_runner::arm_sync_timer() {
  if (stopped_ || opt_.countdown_sync.count() <= 0) return;
  sync_timer_.expires_after(opt_.countdown_sync);
  sync_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (ec || !self) return;
    std::lock_guard lk(self->mu_);
    if (self->stopped_) return;
    self->publish_countdown();
    self->arm_sync_timer();
  });
}

void sale_runner::arm_process_timer() {
  if (stopped_) return;
  const auto interval = std::chrono::milliseconds(
      std::max<std::int64_t>(10, 1000 / std::max<std::int64_t>(1, opt_.process_rate_per_s)));
  process_timer_.expires_after(interval);
  process_timer_.async_wait([w = weak_from_this(), interval](boost::system::error_code ec) {
    auto self = w.lock();
    if (ec || !self) return;
    std::lock_guard lk(self->mu_);
    if (self->stopped_) return;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed_ms =
        std::chrono::duration<double, std::milli>(now - self->last_tick_).count();
    self->last_tick_ = now;
    const double rate = static_cast<double>(self->opt_.process_rate_per_s);
    // No banking of idle time: at most one interval's worth (and at least one order) at once.
    const double cap = std::max(1.0, rate * static_cast<double>(interval.count()) / 1000.0);
    self->credit_ = std::min(cap, self->credit_ + elapsed_ms * rate / 1000.0);
    auto budget = static_cast<std::int64_t>(self->credit_);
    if (budget > 0) self->pump(budget);
    self->arm_process_timer();
  });
}

// On the strand. Hands the next durable positions to the store, in order; budget < 0 means
// no rate limit (bounded only by max_in_flight).
void sale_runner::pump(std::int64_t budget, bool schedule) {
  // While orders fail to store, one is tried at a time: the others stay queued, in order.
  const std::size_t max_in_flight = orders_failing_ ? 1 : opt_.max_in_flight;
  while (!stopped_ && in_flight_ < max_in_flight && budget != 0) {
    auto pos = sale_.take_next();
    if (!pos) break;
    if (budget > 0) {
      --budget;
      credit_ -= 1;
    }
    ++in_flight_;
    next_->batch.orders.push_back({*pos, sale_.order_id_for(*pos)});
  }
  if (schedule) schedule_flush(nullptr);
}

bool sale_runner::on_order_durable(std::int64_t position, boost::system::error_code ec) {
  --in_flight_;
  // not_found: the position is no longer queued in the store, so an earlier try of this very
  // order did commit; it is completed once, here, and announced once.
  if (ec && ec != make_error_code(errc::not_found)) {
    if (auto n = order_fail_log_.admit())
      spdlog::warn("sale {}: order {} not stored ({}); retrying every {} ms ({} such failure(s) "
                   "since the last line)",
                   id_, position, ec.message(), opt_.store_retry.count(), n);
    sale_.retry(position);
    orders_failing_ = true;
    // The timer lives on the strand: strand_upkeep() arms it.
    if (opt_.process_rate_per_s == 0) retry_wanted_ = true;
    return false;
  }
  if (orders_failing_) {
    orders_failing_ = false;
    spdlog::info("sale {}: orders are stored again", id_);
  }
  // The slot leaves memory once the head passes it: take its user first.
  const admission_slot* s = sale_.slot(position);
  const std::string user = s ? s->user_id : std::string();
  sale_.completed(position);
  if (!user.empty()) publish_result({user, position, sale_.stock()});
  return true;
}

// Any thread, no lock needed: order_id_for reads only the sale's fixed id.
void sale_runner::publish_result(const due_result& r) {
  hub_.publish("user:" + r.user, "result",
               result_json(id_, sale_.order_id_for(r.position), r.position, r.stock));
}

// As publish_result for each, under one hub lock.
void sale_runner::publish_results(std::vector<due_result>& due) {
  thread_local std::vector<hub::hub::owned_event> events;
  events.clear();
  events.reserve(due.size());
  for (auto& r : due) {
    std::string topic;
    topic.reserve(5 + r.user.size());
    topic += "user:";
    topic += r.user;
    events.push_back({std::move(topic), "result",
                      result_json(id_, sale_.order_id_for(r.position), r.position, r.stock)});
  }
  hub_.publish_all(events);
}

void sale_runner::arm_retry_timer() {
  if (retry_armed_ || stopped_) return;
  retry_armed_ = true;
  process_timer_.expires_after(opt_.store_retry);
  process_timer_.async_wait([w = weak_from_this()](boost::system::error_code e) {
    auto self = w.lock();
    if (!self) return;
    std::lock_guard lk(self->mu_);
    self->retry_armed_ = false;
    if (!e && !self->stopped_) self->pump(-1);
  });
}

void sale_runner::admit(std::string user_id, admit_done done, asio::io_context* home,
                        std::string /*request_id*/) {
  if (home) {
    std::optional<admit_reply> now;
    {
      std::lock_guard lk(mu_);
      now = decide(user_id, home, done);
    }
    if (now) done(std::move(*now));  // on the caller's shard already
    return;
  }
  asio::post(strand_, [self = shared_from_this(), user = std::move(user_id),
                       done = std::move(done)]() mutable {
    std::optional<admit_reply> now;
    {
      std::lock_guard lk(self->mu_);
      now = self->decide(user, nullptr, done);
    }
    if (now) done(std::move(*now));
  });
}

// Under mu_, on any thread: a phase change is announced on the strand (the coalescer and the
// countdown live there).
void sale_runner::note_phase_soon() {
  if (phase_post_pending_ || sale_.phase() == last_phase_) return;
  phase_post_pending_ = true;
  asio::post(strand_, [self = shared_from_this()] {
    std::lock_guard lk(self->mu_);
    self->phase_post_pending_ = false;
    self->note_phase();
  });
}

// Under mu_: the decision. A queued one reserves the unit and joins the next batch; its
// answer waits for that batch to be durable.
std::optional<admit_reply> sale_runner::decide(std::string& user, asio::io_context* home,
                                               admit_done& done) {
  admit_reply reply;
  if (stopped_) {
    reply.code = errc::unavailable;
    return reply;
  }
  // While the store takes no writes, a purchase that would need one is refused before
  // anything is reserved; answers that need no write (duplicate, sold out...) still go.
  auto r = sale_.admit(user, store_->accepting());
  user_answer earlier;
  if (r.has_error() && r.error() == make_error_code(errc::duplicate)) {
    earlier = sale_.answer_for(user);
    if (earlier.status == user_answer::unavailable) r = make_error_code(errc::unavailable);
  }
  if (r.has_error()) {
    const auto& ec = r.error();
    if (ec == make_error_code(errc::unavailable)) {
      reply.code = errc::unavailable;
      metrics_.count_admission(obs::admission_outcome::unavailable);
      return reply;
    }
    if (ec == make_error_code(errc::not_started)) {
      reply.code = errc::not_started;
      reply.start_ms = sale_.params().start_ms;
      metrics_.count_admission(obs::admission_outcome::not_started);
    } else if (ec == make_error_code(errc::ended)) {
      reply.code = errc::ended;
      metrics_.count_admission(obs::admission_outcome::ended);
    } else {
      reply.code = errc::duplicate;
      reply.earlier = std::move(earlier);
      metrics_.count_admission(obs::admission_outcome::duplicate);
    }
    note_phase_soon();
    return reply;
  }
  if (r->kind == admit_decision::sold_out) {
    reply.sold_out = true;
    metrics_.count_admission(obs::admission_outcome::sold_out);
    note_phase_soon();
    return reply;
  }
  // The unit is reserved now; the answer waits for the store.
  store::admission_record rec;
  rec.position = r->position;
  rec.user_id = user;
  rec.user_seq = r->user_seq;
  rec.ts_ms = clock_();
  next_->batch.admissions.push_back(std::move(rec));
  // The user goes with the waiter only when its result will be published from the answer's
  // shard (orders_ride_along_); otherwise on_order_durable reads it from the slot.
  next_->waiters.push_back({r->position, home, std::move(done),
                            orders_ride_along_ ? std::move(user) : std::string(), false});
  refresh_view();
  note_phase_soon();
  schedule_flush(home);
  return std::nullopt;
}

namespace {
// Set while flush() is inside store::sale_store::persist on this thread: a store that answers
// at once (stopped, or a test's) calls back under the sale's mutex, so the answer goes through
// the strand instead of being handled in place.
thread_local bool in_persist_call = false;
}  // namespace

// Behind the handlers already queued where the decision was taken (the deciding shard's own
// io_context, which costs no wake-up; else the strand), so that the admissions decided in this
// turn leave together. While a batch is with the store nothing is posted: its completion
// sends what gathered meanwhile.
void sale_runner::schedule_flush(asio::io_context* home) {
  if (writing_ || flush_posted_ || next_->batch.empty()) return;
  flush_posted_ = true;
  auto run = [self = shared_from_this()] {
    std::lock_guard lk(self->mu_);
    self->flush_posted_ = false;
    self->flush();
  };
  if (home)
    asio::post(*home, std::move(run));
  else
    asio::post(strand_, std::move(run));
}

// Under mu_, on any thread. One batch at a time goes to the store: what is decided meanwhile
// forms the next one, so the batch grows with the load exactly as the group commit does.
void sale_runner::flush() {
  if (writing_ || next_->batch.empty()) return;
  writing_ = true;
  auto out = std::make_shared<batch_in_flight>();
  if (next_->batch.admissions.size() <= opt_.max_batch) {
    std::swap(*out, *next_);
    // The next batch will likely be as large: one allocation each now instead of a vector
    // growing (and moving its records) by doubling, admission by admission, under mu_.
    next_->batch.admissions.reserve(out->batch.admissions.size());
    next_->waiters.reserve(out->waiters.size());
  } else {
    // Over the bound: the oldest max_batch admissions (and every order) go now.
    auto& adm = next_->batch.admissions;
    auto& w = next_->waiters;
    const auto n = static_cast<std::ptrdiff_t>(opt_.max_batch);
    out->batch.admissions.assign(std::make_move_iterator(adm.begin()),
                                 std::make_move_iterator(adm.begin() + n));
    out->waiters.assign(std::make_move_iterator(w.begin()), std::make_move_iterator(w.begin() + n));
    adm.erase(adm.begin(), adm.begin() + n);
    w.erase(w.begin(), w.begin() + n);
    out->batch.orders = std::move(next_->batch.orders);
    next_->batch.orders.clear();
  }
  // With process_rate_per_s 0 an order is due as soon as its admission is durable: when the
  // admission is next in line (every earlier one taken; no batch is with the store now, so
  // the orders of the last one were taken when it finished), its order rides in the same row.
  // A store failure releases the admission and its order alike; nothing is worked off twice.
  if (orders_ride_along_ && !orders_failing_) {
    for (std::size_t i = 0; i < out->batch.admissions.size(); ++i) {
      store::admission_record& a = out->batch.admissions[i];
      if (!sale_.take_with_admission(a.position)) break;
      a.done = true;
      a.order_id = sale_.order_id_for(a.position);
      out->waiters[i].with_order = true;
    }
  }
  // What finishing the batch needs stays here; the records themselves go to the store.
  out->order_positions.reserve(out->batch.orders.size());
  for (const auto& o : out->batch.orders) out->order_positions.push_back(o.position);
  store::sale_batch batch = std::move(out->batch);
  in_persist_call = true;
  store_->persist(id_, std::move(batch),
                  [w = weak_from_this(), out](store::sale_batch_result r) mutable {
                    auto self = w.lock();
                    if (!self) return;
                    if (in_persist_call) {
                      // Called back inside persist, under mu_: finish on the strand.
                      asio::post(self->strand_, [self, out = std::move(out),
                                                 r = std::move(r)]() mutable {
                        self->finish_batch(*out, r, true);
                      });
                      return;
                    }
                    // On the store's thread: the answers, the orders and the next batch leave
                    // from here, with no hop through the strand.
                    self->finish_batch(*out, r, false);
                  });
  in_persist_call = false;
}

// On the store's thread (on_strand false) or the strand. The batch's answers go to their
// shards, the next batch to the store; what must run on the strand (coalescer, timers) is
// posted there once, however many batches complete before it runs.
void sale_runner::finish_batch(batch_in_flight& b, store::sale_batch_result& r, bool on_strand) {
  std::vector<std::pair<admit_done, admit_reply>> direct;
  bool post_upkeep = false;
  {
    std::lock_guard lk(mu_);
    on_batch_durable(b, r, direct);
    if (on_strand) {
      strand_upkeep();
    } else if (!upkeep_posted_) {
      upkeep_posted_ = true;
      post_upkeep = true;
    }
    flush();
  }
  if (on_strand) {
    for (auto& [done, reply] : direct) done(std::move(reply));
  } else if (!direct.empty()) {
    // Answers without a home run on the strand, as admit() promises.
    asio::post(strand_, [direct = std::move(direct)]() mutable {
      for (auto& [done, reply] : direct) done(std::move(reply));
    });
  }
  if (post_upkeep) {
    asio::post(strand_, [self = shared_from_this()] {
      std::lock_guard lk(self->mu_);
      self->upkeep_posted_ = false;
      self->strand_upkeep();
    });
  }
}

// On the strand, under mu_: the state events, the phase, and the retry timer of a failed order.
void sale_runner::strand_upkeep() {
  publish_state();
  note_phase();
  if (retry_wanted_) {
    retry_wanted_ = false;
    arm_retry_timer();
  }
}

void sale_runner::on_batch_durable(batch_in_flight& b, store::sale_batch_result& r,
                                   std::vector<std::pair<admit_done, admit_reply>>& direct) {
  writing_ = false;
  // A store that answered fewer results than records: the missing ones did not commit.
  r.admissions.resize(b.waiters.size(), make_error_code(errc::internal));
  r.orders.resize(b.order_positions.size(), make_error_code(errc::internal));

  // Answers grouped by the shard that holds the connection: one post per shard. The result
  // events of orders that rode along go with them: published on that shard, off this (the
  // store's, serial) thread.
  struct shard_answers {
    asio::io_context* home;
    std::vector<std::pair<admit_done, admit_reply>> answers;
    std::vector<due_result> results;
  };
  std::vector<shard_answers> by_home;
  auto group_of = [&by_home](asio::io_context* home) -> shard_answers& {
    auto it = std::find_if(by_home.begin(), by_home.end(),
                           [&](const shard_answers& a) { return a.home == home; });
    if (it == by_home.end()) it = by_home.insert(by_home.end(), shard_answers{home, {}, {}});
    return *it;
  };
  std::size_t failed = 0;
  std::size_t with_order = 0;
  boost::system::error_code first_error;
  for (std::size_t i = 0; i < b.waiters.size(); ++i) {
    waiter& w = b.waiters[i];
    const auto& ec = r.admissions[i];
    admit_reply reply;
    if (ec) {
      if (failed++ == 0) first_error = ec;
      sale_.release(w.position);
      w.with_order = false;
      metrics_.count_admission(obs::admission_outcome::unavailable);
      reply.code = errc::unavailable;
    } else {
      // An order that rode along is completed below, after the older orders of this batch.
      if (w.with_order)
        ++with_order;
      else
        sale_.admitted(w.position);
      metrics_.count_admission(obs::admission_outcome::queued);
      reply.position = w.position;
    }
    if (!w.home) {
      direct.emplace_back(std::move(w.done), std::move(reply));
      continue;
    }
    group_of(w.home).answers.emplace_back(std::move(w.done), std::move(reply));
  }
  if (failed > 0) {
    if (auto n = admit_fail_log_.admit())
      spdlog::error("sale {}: {} admission(s) not stored: {} ({} such failure(s) since the "
                    "last line)",
                    id_, failed, first_error.message(), n);
  }
  bool orders_ok = true;
  for (std::size_t i = 0; i < b.order_positions.size(); ++i)
    orders_ok = on_order_durable(b.order_positions[i], r.orders[i]) && orders_ok;

  // Orders that rode along, in position order after the batch's older orders: each result
  // tells the stock right after it, as a separate order's would.
  if (with_order > 0) {
    for (waiter& w : b.waiters) {
      if (!w.with_order) continue;
      sale_.completed_with_admission(w.position);
      due_result due{std::move(w.user), w.position, sale_.stock()};
      if (w.home)
        group_of(w.home).results.push_back(std::move(due));
      else
        publish_result(due);
    }
  }

  for (auto& group : by_home) {
    if (group.results.empty()) {
      asio::post(*group.home, [answers = std::move(group.answers)]() mutable {
        for (auto& [done, reply] : answers) done(std::move(reply));
      });
      continue;
    }
    asio::post(*group.home, [self = shared_from_this(), answers = std::move(group.answers),
                             results = std::move(group.results)]() mutable {
      for (auto& [done, reply] : answers) done(std::move(reply));
      self->publish_results(results);
    });
  }

  refresh_view();
  // The caller sends the next batch (flush) right after: no post for it.
  if (opt_.process_rate_per_s == 0 && orders_ok && !orders_failing_) pump(-1, false);
}

void sale_runner::result_for(std::string user_id, std::function<void(user_answer)> done) {
  asio::post(strand_, [self = shared_from_this(), user = std::move(user_id),
                       done = std::move(done)] {
    user_answer a;
    {
      std::lock_guard lk(self->mu_);
      a = self->sale_.answer_for(user);
    }
    done(std::move(a));
  });
}

}  // namespace rushcast::engine
