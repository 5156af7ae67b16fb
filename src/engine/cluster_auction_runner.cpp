// One auction in cluster mode (see the header).
//
// Bids. bid() queues the bid (any thread) and posts the strand once per burst; the strand
// sends what is queued as FCALL rc_auction_bid calls of at most batch_max bids, pipelined on
// the runner's connection, so Redis decides them in arrival order with every other node's.
// Each bidder is answered from its result (one post per shard per call). Every bid carries a
// request id (the client's Idempotency-Key, else one this node makes): a call whose outcome is
// unknown (the connection dropped after sending) is sent again with the same ids, and Redis
// answers a bid it already took with its first answer (replay), so it is counted once.
//
// Events. Each node publishes what it learnt (a price after its bids, a countdown after a
// soft close, the end) with rc_auction_publish, which appends to the bus only when no newer
// version was appended under the same guard: events built by different nodes reach every
// node in the order of the state they describe, and the end is announced once although every
// node tries (the one that ended it, or any other should that one die first). Periodic and
// phase countdowns are each node's own (hub::publish_local): N nodes never send N copies.
//
// Time. Redis TIME decides everything; this node's timers only say when to ask. The end timer
// calls rc_auction_finish, which answers not_due (with the current end) until the end has
// passed on Redis' clock.
#include "rushcast/engine/cluster_auction_runner.hpp"

#include <algorithm>
#include <deque>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/core/clock.hpp"
#include "rushcast/core/epoch.hpp"
#include "rushcast/engine/auction_events.hpp"
#include "rushcast/engine/shard_replies.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::engine {
namespace {

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Pause between checks while calls whose outcome is unknown wait for the connection.
constexpr std::chrono::milliseconds retry_tick{50};
// The recent bids a node keeps in its view (GET shows at most this many).
constexpr std::size_t recent_capacity = auction::recent_capacity;

}  // namespace

// What other threads read (snapshots, GET): the state as Redis last told this node.
struct cluster_auction_runner::view : auction_view {};

struct cluster_auction_runner::queued {
  std::string user;
  std::int64_t amount = 0;
  std::string request_id;
  boost::asio::any_io_executor shard;  // where the bidder is answered; empty: at once
  bid_done done;
  bool maybe_applied = false;  // an earlier send's outcome is unknown
  std::chrono::steady_clock::time_point deadline{};
};

struct cluster_auction_runner::call {
  std::vector<queued> bids;
};

cluster_auction_runner::cluster_auction_runner(boost::asio::any_io_executor executor,
                                               hub::hub& h, obs::metrics& m,
                                               redis::client_options redis_opts, std::string id,
                                               std::string name, auction_rules rules,
                                               cluster_auction_options opt)
    : id_(std::move(id)),
      id_json_(dump(nlohmann::json(id_))),
      name_(std::move(name)),
      rules_(rules),
      opt_(std::move(opt)),
      base_(store::redis_auction_base(id_)),
      request_prefix_("n:" + core::make_epoch() + ":"),
      hub_(h),
      metrics_(m),
      strand_(boost::asio::make_strand(executor)),
      client_(redis::client::create(strand_, std::move(redis_opts))),
      epoch_candidate_(core::make_epoch()),
      retry_timer_(strand_),
      end_timer_(strand_),
      start_timer_(strand_),
      sync_timer_(strand_),
      flush_timer_(strand_),
      refresh_timer_(strand_),
      view_(std::make_unique<view>()) {}

cluster_auction_runner::~cluster_auction_runner() = default;

std::int64_t cluster_auction_runner::now_ms() const {
  return core::now_ms() + offset_ms_.load(std::memory_order_relaxed);
}

void cluster_auction_runner::note_time(std::int64_t redis_now_ms) {
  offset_ms_.store(redis_now_ms - core::now_ms(), std::memory_order_relaxed);
}

cluster_auction_runner::view cluster_auction_runner::copy_view() const {
  std::lock_guard lk(view_mu_);
  return *view_;
}

void cluster_auction_runner::start(const store::redis_auction_state& st,
                                   const std::vector<store::redis_stored_bid>& recent) {
  note_time(st.head.now_ms);
  {
    std::lock_guard lk(view_mu_);
    view_->start_ms = rules_.start_ms;
    view_->price = st.head.current_price;
    view_->leader = st.head.leader;
    view_->bid_count = st.head.bid_count;
    view_->end_ms = st.head.end_ms;
    for (const auto& b : recent)
      view_->recent.push_back(
          bid_record{static_cast<std::uint64_t>(b.seq), b.user, b.amount, b.ts_ms});
  }
  metrics_.set_gauge("rushcast_auction_price", "auction=\"" + id_ + "\"", st.head.current_price);

  std::weak_ptr<cluster_auction_runner> weak = weak_from_this();
  hub_.set_snapshot(topic(), [weak](hub::transport tr) {
    std::vector<hub::snapshot_event> out;
    auto self = weak.lock();
    if (!self) return out;
    view v = self->copy_view();
    std::int64_t now = self->now_ms();
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

  boost::asio::post(strand_, [self = shared_from_this(), ended = st.ended] {
    self->client_->run([w = self->weak_from_this()](bool up) {
      if (auto s = w.lock()) s->on_connection(up);
    });
    self->arm_refresh();
    if (ended) {
      self->call_finish();  // learns the outcome; the announcement is made once at most
      return;
    }
    self->arm_start_timer();
    self->arm_sync_timer();
    self->arm_end_timer();
  });
}

void cluster_auction_runner::stop() {
  if (stopped_.exchange(true)) return;
  boost::asio::post(strand_, [self = shared_from_this()] {
    for (auto* t : {&self->retry_timer_, &self->end_timer_, &self->start_timer_,
                    &self->sync_timer_, &self->flush_timer_, &self->refresh_timer_})
      t->cancel();
    std::vector<queued> waiting;
    {
      std::lock_guard lk(self->in_mu_);
      waiting = std::move(self->incoming_);
      self->incoming_.clear();
    }
    self->answer_unavailable(waiting);
    self->answer_unavailable(self->retry_);
    // Calls in flight fail with redis::error::closed and are answered unavailable.
    self->client_->close();
  });
}

auction_engine::bid_reply cluster_auction_runner::reply_base(std::int64_t amount) const {
  bid_reply r;
  r.auction_id = id_;
  r.bid_amount = amount;
  r.min_increment = rules_.min_increment;
  r.start_ms = rules_.start_ms;
  return r;
}

std::optional<auction_engine::bid_reply> cluster_auction_runner::bid(std::string_view user,
                                                                     std::int64_t amount,
                                                                     std::string_view request_id,
                                                                     bid_done& done) {
  // Refused at once while Redis is away; before this node's first connection (it is made as
  // the node starts serving) bids wait for it instead, as for a reconnection after a lost reply.
  if (stopped_.load(std::memory_order_relaxed) ||
      (!client_->connected() && ever_connected_.load(std::memory_order_relaxed))) {
    bid_reply r = reply_base(amount);
    r.code = errc::unavailable;
    {
      std::lock_guard lk(view_mu_);
      r.current_price = view_->price;
    }
    metrics_.count_bid(errc::unavailable);
    return r;
  }
  queued q;
  q.user.assign(user);
  q.amount = amount;
  // The client's key and this node's ids never meet: different prefixes.
  q.request_id = request_id.empty()
                     ? request_prefix_ + std::to_string(next_request_.fetch_add(1) + 1)
                     : "k:" + std::string(request_id);
  q.shard = this_thread_shard();
  q.done = std::move(done);
  {
    std::lock_guard lk(in_mu_);
    incoming_.push_back(std::move(q));
    if (drain_posted_) return std::nullopt;
    drain_posted_ = true;
  }
  boost::asio::post(strand_, [self = shared_from_this()] { self->drain(); });
  return std::nullopt;
}

// Strand. Everything queued since the last turn leaves now.
void cluster_auction_runner::drain() {
  std::vector<queued> bids;
  {
    std::lock_guard lk(in_mu_);
    bids.swap(incoming_);
    drain_posted_ = false;
  }
  if (stopped_.load()) return answer_unavailable(bids);
  if (!ever_connected_.load() && !client_->connected()) {
    const auto deadline = std::chrono::steady_clock::now() + opt_.outcome_deadline;
    for (auto& q : bids) {
      q.deadline = deadline;
      q.maybe_applied = true;  // kept until the connection is up (or the deadline passed)
      retry_.push_back(std::move(q));
    }
    return arm_retry();
  }
  send(std::move(bids));
}

// Strand. Calls of at most batch_max bids, pipelined: Redis runs them in the order sent.
void cluster_auction_runner::send(std::vector<queued> bids) {
  std::size_t at = 0;
  const std::size_t max = std::max<std::size_t>(1, opt_.batch_max);
  while (at < bids.size()) {
    const std::size_t n = std::min(max, bids.size() - at);
    auto c = std::make_shared<call>();
    c->bids.reserve(n);
    std::vector<store::redis_bid> args;
    args.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      queued& q = bids[at + i];
      args.push_back({q.user, q.amount, q.request_id});
      c->bids.push_back(std::move(q));
    }
    at += n;
    client_->execute(store::redis_bid_command(base_, args),
                     [w = weak_from_this(), c](boost::system::error_code ec, redis::reply r) {
                       if (auto self = w.lock()) self->on_bids(*c, ec, r);
                     });
  }
}

// Strand. A call's answer, or why it has none.
void cluster_auction_runner::on_bids(call& c, boost::system::error_code ec,
                                     const redis::reply& r) {
  if (!ec) {
    if (auto res = store::parse_bid_call(r, c.bids.size())) return apply(c, *res);
    if (auto n = fail_log_.admit())
      spdlog::error("auction {}: rc_auction_bid answered something unexpected ({} time(s))", id_,
                    n);
    return answer_unavailable(c.bids);
  }
  if (ec == redis::error::server_error) {
    // Refused as a whole (nothing written): the library or the auction is missing.
    if (auto n = fail_log_.admit())
      spdlog::error("auction {}: rc_auction_bid refused ({} time(s)): {}", id_, n, r.str);
    if (r.str.find("unknown auction") != std::string::npos) reinit();
    return answer_unavailable(c.bids);
  }
  // Not sent (not_connected, too_many_pending) or sent with no answer (connection_lost,
  // timeout): a bid that may have reached Redis is sent again with its id until the deadline.
  const auto now = std::chrono::steady_clock::now();
  std::vector<queued> give_up;
  for (auto& q : c.bids) {
    if (!q.maybe_applied && redis::outcome_unknown(ec)) {
      q.maybe_applied = true;
      q.deadline = now + opt_.outcome_deadline;
    }
    if (q.maybe_applied && now < q.deadline && !stopped_.load())
      retry_.push_back(std::move(q));
    else
      give_up.push_back(std::move(q));
  }
  answer_unavailable(give_up);
  if (!retry_.empty()) arm_retry();
}

void cluster_auction_runner::answer_unavailable(std::vector<queued>& bids) {
  if (bids.empty()) return;
  shard_replies replies;
  std::int64_t price = 0;
  {
    std::lock_guard lk(view_mu_);
    price = view_->price;
  }
  for (auto& q : bids) {
    bid_reply r = reply_base(q.amount);
    r.code = errc::unavailable;
    r.current_price = price;
    replies.add(q.shard, [done = std::move(q.done), r = std::move(r)]() mutable {
      done(std::move(r));
    });
  }
  metrics_.count_bid(errc::unavailable, bids.size());
  bids.clear();
  replies.deliver();
}

void cluster_auction_runner::arm_retry() {
  if (retry_armed_) return;
  retry_armed_ = true;
  retry_timer_.expires_after(retry_tick);
  retry_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (!self) return;
    self->retry_armed_ = false;
    if (ec || self->stopped_.load()) return;
    if (self->client_->connected()) {
      self->send(std::move(self->retry_));
      self->retry_.clear();
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    std::vector<queued> keep, expired;
    for (auto& q : self->retry_) (now < q.deadline ? keep : expired).push_back(std::move(q));
    self->retry_ = std::move(keep);
    self->answer_unavailable(expired);
    if (!self->retry_.empty()) self->arm_retry();
  });
}

// Strand. Redis' answer to a call: every bidder is told its result, the view follows the
// state after the call, and the events this node learnt go out (coalesced).
void cluster_auction_runner::apply(call& c, const store::redis_bid_call& res) {
  note_time(res.head.now_ms);
  shard_replies replies;
  bool accepted = false, extended = false;
  std::vector<bid_record> fresh;
  for (std::size_t i = 0; i < c.bids.size(); ++i) {
    queued& q = c.bids[i];
    const auto& out = res.results[i];
    bid_reply r = reply_base(q.amount);
    r.current_price = res.head.current_price;
    switch (out.what) {
      case store::redis_bid_result::outcome::accepted:
        r.code = errc::ok;
        r.bid_amount = out.amount;
        r.current_price = out.amount;
        r.end_ms = out.end_ms;
        accepted = true;
        if (!out.replay) {
          fresh.push_back(bid_record{static_cast<std::uint64_t>(out.seq), q.user, out.amount,
                                     res.head.now_ms});
          extended = extended || out.extended;
        }
        break;
      case store::redis_bid_result::outcome::bid_invalid: r.code = errc::bid_invalid; break;
      case store::redis_bid_result::outcome::ended:
        r.code = errc::ended;
        r.end_ms = out.end_ms;
        break;
      case store::redis_bid_result::outcome::not_started: r.code = errc::not_started; break;
      case store::redis_bid_result::outcome::bid_too_low:
        r.code = errc::bid_too_low;
        r.current_price = out.current_price;
        r.min_acceptable = out.min_acceptable;
        break;
    }
    metrics_.count_bid(r.code);
    replies.add(q.shard, [done = std::move(q.done), r = std::move(r)]() mutable {
      done(std::move(r));
    });
  }
  {
    std::lock_guard lk(view_mu_);
    for (auto& b : fresh)
      if (view_->recent.empty() || view_->recent.back().seq < b.seq) {
        view_->recent.push_back(std::move(b));
        if (view_->recent.size() > recent_capacity) view_->recent.pop_front();
      }
  }
  update_view(res.head);
  replies.deliver();
  if (accepted) {
    metrics_.set_gauge("rushcast_auction_price", "auction=\"" + id_ + "\"",
                       res.head.current_price);
    price_dirty_ = true;
    countdown_dirty_ = countdown_dirty_ || extended;
    schedule_flush();
  }
}

// Strand. Takes a state Redis answered with when it is not older than the view (bid counts
// only grow); the end timer follows a moved end. True when the view changed.
bool cluster_auction_runner::update_view(const store::redis_auction_head& h) {
  bool changed = false;
  std::int64_t end_ms = 0;
  {
    std::lock_guard lk(view_mu_);
    if (h.bid_count >= view_->bid_count) {
      changed = h.bid_count != view_->bid_count || h.end_ms != view_->end_ms;
      view_->price = h.current_price;
      view_->leader = h.leader;
      view_->bid_count = h.bid_count;
      view_->end_ms = std::max(view_->end_ms, h.end_ms);
    }
    end_ms = view_->end_ms;
  }
  if (end_ms != end_armed_for_ && !finished_ && !stopped_.load()) arm_end_timer();
  return changed;
}

void cluster_auction_runner::schedule_flush() {
  if (flush_armed_ || stopped_.load()) return;
  const auto since = std::chrono::steady_clock::now() - last_flush_;
  if (since >= opt_.coalesce) return flush();
  flush_armed_ = true;
  flush_timer_.expires_after(opt_.coalesce - since);
  flush_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (!self) return;
    self->flush_armed_ = false;
    if (!ec) self->flush();
  });
}

// Strand. The latest price and, after a soft close, the countdown, each versioned (bid count,
// end): a node that learnt less than another published meanwhile appends nothing.
void cluster_auction_runner::flush() {
  last_flush_ = std::chrono::steady_clock::now();
  const view v = copy_view();
  // One that did not reach Redis is made again (from the state of that moment) once the
  // connection is back: the last value must arrive.
  if (price_dirty_) {
    price_dirty_ = false;
    publish_guarded("price", v.bid_count, {{topic(), "price_update", price_json(v), true}},
                    [w = weak_from_this()](bool ok) {
                      if (auto self = w.lock(); self && !ok) self->price_dirty_ = true;
                    });
  }
  if (countdown_dirty_) {
    countdown_dirty_ = false;
    publish_guarded("countdown", v.end_ms,
                    {{topic(), "countdown", countdown_json(v, now_ms()), true}},
                    [w = weak_from_this()](bool ok) {
                      if (auto self = w.lock(); self && !ok) self->countdown_dirty_ = true;
                    });
  }
}

void cluster_auction_runner::publish_guarded(const char* guard, std::int64_t version,
                                             std::vector<event> events,
                                             std::function<void(bool)> done) {
  std::vector<std::string> cmd{"FCALL",
                               "rc_auction_publish",
                               "4",
                               base_,
                               opt_.bus_stream_key,
                               opt_.bus_stream_key + ":epoch",
                               opt_.bus_stream_key + ":seq",
                               epoch_candidate_,
                               std::to_string(opt_.bus_maxlen),
                               guard,
                               std::to_string(version),
                               std::to_string(events.size())};
  cmd.reserve(cmd.size() + 4 * events.size());
  for (auto& e : events) {
    cmd.push_back(std::move(e.topic));
    cmd.push_back(std::move(e.name));
    cmd.push_back(std::move(e.data));
    cmd.push_back(e.state ? "1" : "0");
  }
  client_->execute(cmd, [w = weak_from_this(), done = std::move(done), guard](
                            boost::system::error_code ec, redis::reply r) {
    auto self = w.lock();
    if (!self) return;
    if (ec) {
      if (auto n = self->fail_log_.admit())
        spdlog::warn("auction {}: publishing its {} event failed ({} time(s)): {}{}", self->id_,
                     guard, n, ec.message(), r.is_error() ? ": " + r.str : std::string());
    }
    if (done) done(!ec);
  });
}

// Strand. The view follows Redis (bids other nodes decided, their soft closes, the end).
void cluster_auction_runner::arm_refresh() {
  if (stopped_.load() || finished_) return;
  refresh_timer_.expires_after(opt_.view_refresh);
  refresh_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (!self || ec || self->stopped_.load()) return;
    self->refresh();
    self->arm_refresh();
  });
}

void cluster_auction_runner::refresh() {
  if (refreshing_ || !client_->connected()) return;
  refreshing_ = true;
  client_->execute({"FCALL_RO", "rc_auction_state", "1", base_},
                   [w = weak_from_this()](boost::system::error_code ec, redis::reply r) {
                     auto self = w.lock();
                     if (!self) return;
                     if (ec) return;
                     auto st = store::parse_state(r);
                     if (!st) return;
                     self->note_time(st->head.now_ms);
                     if (self->update_view(st->head))
                       self->metrics_.set_gauge("rushcast_auction_price",
                                                "auction=\"" + self->id_ + "\"",
                                                st->head.current_price);
                     if (st->ended && !self->finished_) self->call_finish();
                   });
  client_->execute({"LRANGE", base_ + ":bids", std::to_string(-static_cast<long>(recent_capacity)),
                    "-1"},
                   [w = weak_from_this()](boost::system::error_code ec, redis::reply r) {
                     auto self = w.lock();
                     if (!self) return;
                     self->refreshing_ = false;
                     if (ec) return;
                     auto bids = store::parse_bid_list(r);
                     if (!bids) return;
                     std::lock_guard lk(self->view_mu_);
                     // Only a list at least as new as what the view shows replaces it.
                     if (!bids->empty() && !self->view_->recent.empty() &&
                         static_cast<std::uint64_t>(bids->back().seq) <
                             self->view_->recent.back().seq)
                       return;
                     self->view_->recent.clear();
                     for (const auto& b : *bids)
                       self->view_->recent.push_back(
                           bid_record{static_cast<std::uint64_t>(b.seq), b.user, b.amount,
                                      b.ts_ms});
                   });
}

void cluster_auction_runner::on_connection(bool up) {
  if (!up || stopped_.load()) return;
  ever_connected_.store(true);
  if (!retry_.empty()) {
    send(std::move(retry_));
    retry_.clear();
  }
  refresh();
  if ((price_dirty_ || countdown_dirty_) && !finished_) schedule_flush();
  // An end that passed while Redis was away is asked for again.
  if (!finished_ && !finishing_) arm_end_timer();
}

// Strand. Waits for the end as this node estimates Redis TIME; Redis has the last word.
void cluster_auction_runner::arm_end_timer() {
  std::int64_t end_ms = 0;
  {
    std::lock_guard lk(view_mu_);
    end_ms = view_->end_ms;
  }
  end_armed_for_ = end_ms;
  const std::int64_t wait = std::max<std::int64_t>(0, end_ms - now_ms());
  end_timer_.expires_after(std::chrono::milliseconds(wait));
  end_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (!self || ec || self->stopped_.load()) return;
    self->call_finish();
  });
}

void cluster_auction_runner::call_finish() {
  if (finishing_ || finished_ || stopped_.load()) return;
  // Not connected: on_connection() asks again once the connection is (back) up.
  if (!client_->connected()) return;
  finishing_ = true;
  client_->execute({"FCALL", "rc_auction_finish", "1", base_},
                   [w = weak_from_this()](boost::system::error_code ec, redis::reply r) {
                     auto self = w.lock();
                     if (!self) return;
                     self->finishing_ = false;
                     std::optional<store::redis_finish> f;
                     if (!ec) f = store::parse_finish(r);
                     if (!f) {
                       if (auto n = self->fail_log_.admit())
                         spdlog::warn("auction {}: rc_auction_finish failed ({} time(s)): {}",
                                      self->id_, n, ec ? ec.message() : r.text());
                       if (self->stopped_.load()) return;
                       self->end_timer_.expires_after(self->opt_.retry);
                       self->end_timer_.async_wait([w](boost::system::error_code e) {
                         if (auto s = w.lock(); s && !e && !s->stopped_.load()) s->call_finish();
                       });
                       return;
                     }
                     self->on_finish(*f);
                   });
}

void cluster_auction_runner::on_finish(const store::redis_finish& f) {
  if (!f.ended) {
    // Not due on Redis' clock: a soft close moved the end, or this node's clock runs ahead.
    {
      std::lock_guard lk(view_mu_);
      view_->end_ms = std::max(view_->end_ms, f.end_ms);
    }
    end_armed_for_ = -1;
    if (f.end_ms - now_ms() <= 0) {
      // This node thinks it is over and Redis does not: ask again shortly.
      end_timer_.expires_after(std::chrono::milliseconds(10));
      end_timer_.async_wait([w = weak_from_this()](boost::system::error_code e) {
        if (auto s = w.lock(); s && !e && !s->stopped_.load()) s->call_finish();
      });
      return;
    }
    arm_end_timer();
    return;
  }
  finished_ = true;
  view v;
  {
    std::lock_guard lk(view_mu_);
    view_->ended = true;
    view_->winner = f.winner;
    view_->final_price = f.final_price;
    v = *view_;
  }
  sync_timer_.cancel();
  start_timer_.cancel();
  refresh_timer_.cancel();
  // This node's last price goes out before the end (pipelined in order on one connection);
  // anything another node publishes after the end is refused by the "final" guard.
  flush_timer_.cancel();
  flush_armed_ = false;
  if (price_dirty_ || countdown_dirty_) flush();

  std::vector<event> events;
  events.push_back({topic(), "countdown", countdown_json(v, now_ms()), true});
  events.push_back({topic(), "auction_end",
                    auction_end_json(id_, f.winner, f.final_price),
                    false});
  for (const auto& r : f.results)
    events.push_back({"user:" + r.user, "result",
                      auction_result_json(id_, r.won, f.final_price, r.highest_bid),
                      false});
  if (f.first)
    spdlog::info("auction {} ended: winner {}, final price {}", id_, f.winner.value_or("none"),
                 f.final_price ? std::to_string(*f.final_price) : "none");
  announce(std::move(events));
}

// Strand. Every node that learns the outcome announces it; the "final" guard lets one through.
// Retried until Redis answered (a node that stops leaves it to the others or to its restart).
void cluster_auction_runner::announce(std::vector<event> events) {
  auto copy = std::make_shared<std::vector<event>>(events);
  publish_guarded("final", 1, std::move(events), [w = weak_from_this(), copy](bool ok) {
    auto self = w.lock();
    if (!self || ok || self->stopped_.load()) return;
    self->end_timer_.expires_after(self->opt_.retry);
    self->end_timer_.async_wait([w, copy](boost::system::error_code e) {
      if (auto s = w.lock(); s && !e && !s->stopped_.load()) s->announce(*copy);
    });
  });
}

void cluster_auction_runner::arm_start_timer() {
  const std::int64_t wait = rules_.start_ms - now_ms();
  if (wait <= 0) return;
  start_timer_.expires_after(std::chrono::milliseconds(wait));
  start_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (!self || ec || self->stopped_.load()) return;
    // Each node tells its own subscribers: the phase follows from a time all nodes share.
    self->hub_.publish_local(self->topic(), "countdown",
                             self->countdown_json(self->copy_view(), self->now_ms()), true);
  });
}

void cluster_auction_runner::arm_sync_timer() {
  if (opt_.countdown_sync.count() <= 0) return;
  sync_timer_.expires_after(opt_.countdown_sync);
  sync_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (!self || ec || self->stopped_.load() || self->finished_) return;
    self->hub_.publish_local(self->topic(), "countdown",
                             self->countdown_json(self->copy_view(), self->now_ms()), true);
    self->arm_sync_timer();
  });
}

// Strand. Redis lost the auction (restarted without its data): stored again as configured.
void cluster_auction_runner::reinit() {
  if (reinit_in_flight_ || opt_.init_command.empty()) return;
  reinit_in_flight_ = true;
  client_->execute(opt_.init_command, [w = weak_from_this()](boost::system::error_code ec,
                                                             redis::reply r) {
    auto self = w.lock();
    if (!self) return;
    self->reinit_in_flight_ = false;
    if (ec)
      spdlog::warn("auction {}: storing it again in Redis failed: {}{}", self->id_, ec.message(),
                   r.is_error() ? ": " + r.str : std::string());
    else
      spdlog::warn("auction {}: Redis had lost it; stored again as configured", self->id_);
  });
}

std::string cluster_auction_runner::price_json(const view& v) const { return auction_price_json(id_, v); }

std::string cluster_auction_runner::countdown_json(const view& v, std::int64_t now) const {
  return auction_countdown_json(id_, v, now);
}

nlohmann::json cluster_auction_runner::state_json(std::size_t last_bids) const {
  const view v = copy_view();
  const std::int64_t now = now_ms();
  return auction_state_json(id_, name_, rules_, v, now, last_bids);
}

}  // namespace rushcast::engine
