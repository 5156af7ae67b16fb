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
    if (s.pending) {
      std::string data = std::move(*s.pending);
      s.pending.reset();
      publish(s, std::move(data));
    }
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
  std::string key = topic;
  key += '\n';
  key += name;
  auto it = impl_->slots.find(key);
  if (it == impl_->slots.end()) {
    auto s = std::make_unique<impl::slot>(impl_->strand);
    s->topic = topic;
    s->name = name;
    it = impl_->slots.emplace(key, std::move(s)).first;
  }
  impl::slot& s = *it->second;
  const auto now = impl::clock::now();
  if (!s.armed && (!s.published || now - s.last >= impl_->window)) {
    impl_->publish(s, std::move(data_json));
    return;
  }
  s.pending = std::move(data_json);
  if (s.armed) return;
  s.armed = true;
  const std::uint64_t gen = ++s.gen;
  s.timer.expires_at(s.last + impl_->window);
  s.timer.async_wait([w = impl_->weak_from_this(), key = std::move(key),
                      gen](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = w.lock()) self->on_timer(key, gen);
  });
}

void coalescer::flush() {
  for (auto& [key, sp] : impl_->slots) {
    impl::slot& s = *sp;
    impl_->disarm(s);
    if (s.pending) {
      std::string data = std::move(*s.pending);
      s.pending.reset();
      impl_->publish(s, std::move(data));
    }
  }
}

void coalescer::stop() {
  flush();
  impl_->stopped = true;
}

}  // namespace rushcast::hub
