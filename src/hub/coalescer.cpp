// Last-value-wins coalescing of state events: at most one publish per topic+name per window,
// the first at once, the latest pending one when the window ends. Runs on the owner's strand.
#include "rushcast/hub/coalescer.hpp"

#include <map>
#include <optional>

#include <boost/asio/steady_timer.hpp>

#include "rushcast/hub/hub.hpp"

namespace rushcast::hub {

struct coalescer::impl : std::enable_shared_from_this<coalescer::impl> {
  using clock = std::chrono::steady_clock;

  struct slot {
    explicit slot(const boost::asio::any_io_executor& ex) : timer(ex) {}
    std::string topic;
    std::string name;
    boost::asio::steady_timer timer;
    std::optional<std::string> pending;
    coalescer::producer pending_make;  // set instead of pending by update_lazy
    clock::time_point last{};
    bool published = false;  // `last` is meaningful
    bool armed = false;
    std::uint64_t gen = 0;   // bumped on cancel: a completion already queued sees it is stale
  };

  impl(boost::asio::any_io_executor ex, hub& hb, std::chrono::milliseconds w)
      : strand(std::move(ex)), h(hb), window(w) {}

  void publish(slot& s, std::string data) {
    h.publish(s.topic, s.name, data, true);
    s.last = clock::now();
    s.published = true;
  }

  void on_timer(const std::string& key, std::uint64_t gen) {
    auto it = slots.find(key);
    if (it == slots.end()) return;
    slot& s = *it->second;
    if (s.gen != gen) return;
    s.armed = false;
    publish_pending(s);
  }

  void publish_pending(slot& s) {
    if (s.pending) {
      std::string data = std::move(*s.pending);
      s.pending.reset();
      publish(s, std::move(data));
    } else if (s.pending_make) {
      auto make = std::move(s.pending_make);
      s.pending_make = nullptr;
      publish(s, make());
    }
  }

  // The slot of topic+name, made on first use. key_scratch is reused: no allocation per call.
  slot& slot_for(const std::string& topic, const std::string& name) {
    key_scratch.assign(topic);
    key_scratch += '\n';
    key_scratch += name;
    auto it = slots.find(key_scratch);
    if (it == slots.end()) {
      auto s = std::make_unique<slot>(strand);
      s->topic = topic;
      s->name = name;
      it = slots.emplace(key_scratch, std::move(s)).first;
    }
    return *it->second;
  }

  // Arms the window's timer for a pending value (the caller stored it).
  void arm(slot& s) {
    if (s.armed) return;
    s.armed = true;
    const std::uint64_t gen = ++s.gen;
    s.timer.expires_at(s.last + window);
    s.timer.async_wait([w = weak_from_this(), key = key_scratch,
                        gen](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = w.lock()) self->on_timer(key, gen);
    });
  }

  bool publish_now(const slot& s) const {
    return !s.armed && (!s.published || clock::now() - s.last >= window);
  }

  void disarm(slot& s) {
    if (!s.armed) return;
    ++s.gen;
    s.armed = false;
    s.timer.cancel();
  }

  boost::asio::any_io_executor strand;
  hub& h;
  std::chrono::milliseconds window;
  bool stopped = false;
  std::map<std::string, std::unique_ptr<slot>> slots;  // key: topic '\n' name
  std::string key_scratch;
};

coalescer::coalescer(boost::asio::any_io_executor strand, hub& h, std::chrono::milliseconds window)
    : impl_(std::make_shared<impl>(std::move(strand), h, window)) {}

coalescer::~coalescer() {
  // No publish here: the hub may already be going away. Owners call stop() to flush.
  for (auto& [key, s] : impl_->slots) impl_->disarm(*s);
}

void coalescer::update(const std::string& topic, const std::string& name, std::string data_json) {
  if (impl_->window.count() <= 0 || impl_->stopped) {
    impl_->h.publish(topic, name, data_json, true);
    return;
  }
  impl::slot& s = impl_->slot_for(topic, name);
  if (impl_->publish_now(s)) {
    impl_->publish(s, std::move(data_json));
    return;
  }
  s.pending = std::move(data_json);
  s.pending_make = nullptr;
  impl_->arm(s);
}

void coalescer::update_lazy(const std::string& topic, const std::string& name, producer make) {
  if (impl_->window.count() <= 0 || impl_->stopped) {
    impl_->h.publish(topic, name, make(), true);
    return;
  }
  impl::slot& s = impl_->slot_for(topic, name);
  if (impl_->publish_now(s)) {
    impl_->publish(s, make());
    return;
  }
  s.pending.reset();
  s.pending_make = std::move(make);
  impl_->arm(s);
}

void coalescer::flush() {
  for (auto& [key, sp] : impl_->slots) {
    impl::slot& s = *sp;
    impl_->disarm(s);
    impl_->publish_pending(s);
  }
}

void coalescer::stop() {
  flush();
  impl_->stopped = true;
}

}  // namespace rushcast::hub
