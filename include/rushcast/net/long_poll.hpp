// Owns one waiting GET /long-poll: its hub subscription, its timeout and its single answer.
// Created by net::http_session; answers through the session's write path.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "rushcast/api/http_types.hpp"
#include "rushcast/hub/subscriber.hpp"
#include "rushcast/net/services.hpp"

namespace rushcast::net {

class long_poll : public hub::subscriber,
                  public drainable,
                  public std::enable_shared_from_this<long_poll> {
public:
  // On sh's thread. done is called exactly once, on the shard thread.
  long_poll(services& svc, net::shard& sh, std::vector<std::string> topics,
            std::optional<std::string> since, std::uint32_t timeout_ms,
            std::function<void(api::response)> done);
  ~long_poll() override;

  // Answers at once when history has events after since (or since cannot be replayed);
  // otherwise waits for the first live event or the timeout.
  void run();

  void deliver(const hub::frame_ptr& f) override;
  std::size_t shard() const override { return shard_.index(); }
  void drain() override { answer(); }

  // The client went away: stop waiting without answering (done is released, never called).
  void abandon();
  bool answered() const { return answered_; }

  // {"events":[{"id","topic","event","data"}...],"lastEventId":...} (+ "resync"). Pure.
  static std::string render(const std::vector<hub::frame_ptr>& events,
                            const std::string& last_event_id, const std::string& resync);

private:
  void answer();

  services& svc_;
  net::shard& shard_;
  boost::asio::steady_timer timer_;
  std::vector<std::string> topics_;
  std::optional<std::string> since_;
  std::uint32_t timeout_ms_;
  std::function<void(api::response)> done_;
  std::vector<hub::frame_ptr> events_;
  std::string resync_;
  bool waiting_ = false;
  bool answered_ = false;
};

}  // namespace rushcast::net
