// GET /long-poll: the same subscription path as SSE, answered with one JSON document.
#include "rushcast/net/long_poll.hpp"

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "rushcast/api/context.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::net {

namespace asio = boost::asio;

namespace {

// A JSON string literal; bytes that are not UTF-8 are replaced (lastEventId may echo the
// client's "since": it must never throw).
std::string json_string(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false,
                                              nlohmann::json::error_handler_t::replace);
}

}  // namespace

long_poll::long_poll(services& svc, net::shard& sh, std::vector<std::string> topics,
                     std::optional<std::string> since, std::uint32_t timeout_ms,
                     std::function<void(api::response)> done)
    : svc_(svc),
      shard_(sh),
      timer_(sh.executor()),
      topics_(std::move(topics)),
      since_(std::move(since)),
      timeout_ms_(timeout_ms),
      done_(std::move(done)) {}

long_poll::~long_poll() {
  svc_.ctx.hub.unsubscribe_all(*this);
  shard_.remove(this);
  if (waiting_) svc_.ctx.metrics.long_poll_waiters.fetch_sub(1, std::memory_order_relaxed);
}

// Written by hand, in the key order nlohmann's sorted objects gave it: the data object is
// spliced as the publisher serialized it (frame::data_json), never parsed back.
std::string long_poll::render(const std::vector<hub::frame_ptr>& events,
                              const std::string& last_event_id, const std::string& resync) {
  std::size_t size = 64 + last_event_id.size() + resync.size();
  for (const auto& f : events) size += f->data_len + f->id.size() + f->topic.size() + 64;
  std::string out;
  out.reserve(size);
  out += "{\"events\":[";
  for (std::size_t i = 0; i < events.size(); ++i) {
    const hub::frame& f = *events[i];
    if (i > 0) out += ',';
    out += "{\"data\":";
    // A frame without a single-line data object (its data had raw line breaks): as before,
    // an empty object rather than a broken document.
    if (f.data_len > 0) {
      out += f.data_json();
    } else {
      out += "{}";
    }
    out += ",\"event\":";
    out += json_string(f.name);
    out += ",\"id\":";
    out += json_string(f.id);
    out += ",\"topic\":";
    out += json_string(f.topic);
    out += '}';
  }
  out += "],\"lastEventId\":";
  out += json_string(last_event_id);
  if (!resync.empty()) {
    out += ",\"resync\":";
    out += json_string(resync);
  }
  out += '}';
  return out;
}

void long_poll::run() {
  auto self = shared_from_this();
  auto r = svc_.ctx.hub.subscribe(self, topics_, since_, hub::transport::long_poll);
  if (r.resync) {
    resync_ = r.resync_reason;
    return answer();
  }
  if (!r.replay.empty()) {
    events_ = std::move(r.replay);
    return answer();
  }
  shard_.add(self);
  waiting_ = true;
  svc_.ctx.metrics.long_poll_waiters.fetch_add(1, std::memory_order_relaxed);
  timer_.expires_after(std::chrono::milliseconds(timeout_ms_));
  timer_.async_wait([self](boost::system::error_code ec) {
    if (!ec) self->answer();
  });
}

void long_poll::deliver(const hub::frame_ptr& f) {
  if (answered_ || f->seq == 0) return;
  events_.push_back(f);
  // Answer after the current sweep so events published together leave together.
  if (events_.size() == 1)
    asio::post(shard_.executor(), [self = shared_from_this()] { self->answer(); });
}

void long_poll::abandon() {
  if (answered_) return;
  answered_ = true;
  timer_.cancel();
  svc_.ctx.hub.unsubscribe_all(*this);
  done_ = nullptr;
}

void long_poll::answer() {
  if (answered_) return;
  answered_ = true;
  timer_.cancel();
  svc_.ctx.hub.unsubscribe_all(*this);
  // One answer holds at most max_queue_bytes of events (at least one event); lastEventId is
  // the last one sent, so the client's next poll fetches the rest from history.
  std::size_t bytes = 0, keep = 0;
  for (; keep < events_.size(); ++keep) {
    bytes += events_[keep]->sse.size();
    if (keep > 0 && bytes > svc_.ctx.cfg.limits.max_queue_bytes) break;
  }
  events_.resize(keep);
  std::string last;
  if (!events_.empty())
    last = events_.back()->id;
  else if (!resync_.empty() || !since_)
    last = svc_.ctx.hub.last_id();
  else
    last = *since_;
  auto done = std::move(done_);
  done(api::response::json(200, render(events_, last, resync_)));
}

}  // namespace rushcast::net
