// A real api::context for unit tests: a one-shard hub on an io_context that is never run
// (publishes land in history; nothing is delivered), real auth, limits and metrics.
#pragma once

#include <boost/asio/io_context.hpp>

#include "rushcast/api/context.hpp"
#include "rushcast/api/http_types.hpp"
#include "rushcast/auth/authenticator.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/engine/registry.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/hub/presence.hpp"
#include "rushcast/limits/rate_limiter.hpp"
#include "rushcast/obs/metrics.hpp"

namespace rushcast::test {

struct api_fixture {
  explicit api_fixture(config::config c = {}) : cfg(std::move(c)) {}
  config::config cfg;
  boost::asio::io_context io;
  hub::hub hub{std::vector<boost::asio::any_io_executor>{io.get_executor()}, cfg.history,
               "e1"};
  hub::presence presence{hub};
  engine::registry engines;
  auth::authenticator auth{cfg.auth};
  limits::rate_limiter rate{cfg.rate_limit};
  obs::metrics metrics;
  api::context ctx{cfg, hub, presence, engines, auth, rate, metrics};

  // The frames published on topic after a marker event: what a publish really put in history.
  std::string marker(const std::string& topic) { return hub.publish(topic, "marker", "{}").id; }
  std::vector<hub::frame_ptr> since(const std::string& topic, const std::string& marker_id) {
    return hub.history_since({topic}, marker_id).replay;
  }
};

// A request as the session hands it to the router: method and target (here the bare path).
inline api::request make_request(std::string method, std::string path) {
  api::request r;
  r.method = std::move(method);
  r.path = path;
  r.target = std::move(path);
  return r;
}

}  // namespace rushcast::test
