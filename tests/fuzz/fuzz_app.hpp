// The whole API layer of rushcast without sockets, for the fuzz targets: a one-shard hub on an
// io_context that the target pumps, SQLite in a temp dir, a running sale and auction, the real
// router and WebSocket protocol. Built once per process (libFuzzer calls the target millions
// of times); state carries over between inputs as it does between a daemon's requests.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/api/context.hpp"
#include "rushcast/api/http_types.hpp"
#include "rushcast/api/auction_routes.hpp"
#include "rushcast/api/core_routes.hpp"
#include "rushcast/api/core_ws.hpp"
#include "rushcast/api/router.hpp"
#include "rushcast/api/sale_routes.hpp"
#include "rushcast/api/ws_protocol.hpp"
#include "rushcast/auth/authenticator.hpp"
#include "rushcast/config/config.hpp"
#include "rushcast/engine/auctions.hpp"
#include "rushcast/engine/engines.hpp"
#include "rushcast/engine/sales.hpp"
#include "rushcast/engine/registry.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/hub/presence.hpp"
#include "rushcast/hub/subscriber.hpp"
#include "rushcast/limits/rate_limiter.hpp"
#include "rushcast/obs/metrics.hpp"
#include "rushcast/store/sqlite_db.hpp"

namespace rushcast::fuzz {

// Stops the process the way libFuzzer reports a crash (the input is saved as a reproducer).
[[noreturn]] inline void violated(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n%s\n", what, detail.c_str());
  std::abort();
}

inline bool valid_json(const std::string& text) {
  return nlohmann::json::accept(text);
}

// What every HTTP answer must be, whatever was asked.
inline void check_response(const api::request& req, const api::response& r) {
  if (r.status < 100 || r.status > 599) violated("HTTP status out of range", req.target);
  bool json = false;
  for (const auto& [k, v] : r.headers) {
    if (k.find_first_of("\r\n") != std::string::npos || v.find_first_of("\r\n") != std::string::npos)
      violated("CR or LF in a response header", k + ": " + v);
    if (k == "Content-Type" && v.starts_with("application/json")) json = true;
  }
  if (json && req.method != "HEAD" && !valid_json(r.body))
    violated("a JSON answer is not JSON", r.body);
}

// A subscriber that keeps nothing: deliveries and flushes are what the hub exercises.
class null_subscriber : public hub::subscriber {
public:
  void deliver(const hub::frame_ptr&) override { ++delivered; }
  std::size_t shard() const override { return 0; }
  std::size_t delivered = 0;
};

// The secret and publish key of the jwt-mode app; seeds hold tokens signed with it.
inline constexpr const char* jwt_secret = "fuzz-secret";
inline constexpr const char* publish_key = "fuzz-publish-key";

class app {
public:
  explicit app(bool jwt) : cfg_(make_config(jwt)) {
    spdlog::set_level(spdlog::level::off);
    char tmpl[] = "/tmp/rushcast-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl)) violated("mkdtemp failed");
    dir_ = tmpl;
    // The app is never destroyed (libFuzzer exits from anywhere): remove its files at exit.
    static std::vector<std::string> dirs;
    if (dirs.empty())
      std::atexit([] {
        for (const auto& d : dirs) {
          std::error_code ec;
          std::filesystem::remove_all(d, ec);
        }
      });
    dirs.push_back(dir_);
    db_ = std::make_unique<store::sqlite_db>(dir_ + "/fuzz.db", cfg_.storage);
    deps_ = std::make_unique<engine::engine_deps>(
        engine::engine_deps{io_.get_executor(), hub_, *db_, cfg_, metrics_});
    engine::start_sales(engines_, *deps_);
    engine::start_auctions(engines_, *deps_);
    api::register_core_routes(router_, ctx_);
    api::register_sale_routes(router_, ctx_);
    api::register_auction_routes(router_, ctx_);
    api::register_core_ws(ws_, ctx_);
    api::register_sale_ws(ws_, ctx_);
    api::register_auction_ws(ws_, ctx_);
    ctx_.ready = true;
    pump_until([] { return false; }, std::chrono::milliseconds(20));
  }
  const config::config& cfg() const { return cfg_; }
  api::context& ctx() { return ctx_; }
  hub::hub& hub() { return hub_; }
  const api::router& router() const { return router_; }
  const api::ws_protocol& ws() const { return ws_; }

  // Runs the io_context (engine strands, hub shard, timers) until done() or the deadline.
  template <class Pred>
  bool pump_until(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.run_one_for(std::chrono::milliseconds(1));
    }
    io_.poll();
    return true;
  }

  // Routes req and waits for its one answer, which must pass check_response.
  api::response dispatch(const api::request& req) {
    auto answers = std::make_shared<int>(0);
    auto got = std::make_shared<api::response>();
    router_.dispatch(req, [answers, got](api::response r) {
      ++*answers;
      *got = std::move(r);
    });
    if (!pump_until([&] { return *answers > 0; }))
      violated("a request got no answer within 5 s", req.method + " " + req.target);
    if (*answers != 1) violated("a request was answered twice", req.target);
    check_response(req, *got);
    return *got;
  }

private:
  static config::config make_config(bool jwt) {
    config::config c;
    c.static_dir = "";  // never read the machine's files from a fuzzer
    c.storage.synchronous = "normal";
    c.auth.mode = jwt ? "jwt" : "off";
    if (jwt) c.auth.jwt_secret = jwt_secret;
    c.auth.publish_key = publish_key;
    // Limits high enough that inputs reach the engines instead of the rate limiter.
    c.rate_limit.per_user_per_s = 1e9;
    c.rate_limit.per_user_burst = 1e9;
    c.rate_limit.per_ip_per_s = 1e9;
    c.rate_limit.per_ip_burst = 1e9;
    c.history.max_events_per_topic = 64;
    c.sales.push_back({"demo", "Demo", 1000000, "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z",
                       1, 0});
    c.sales.push_back({"soon", "Soon", 5, "2098-01-01T00:00:00Z", "2099-01-01T00:00:00Z", 1, 0});
    config::auction_cfg a;
    a.id = "demo";
    a.name = "Demo";
    a.start_price = 100;
    a.min_increment = 5;
    a.start_at = "2020-01-01T00:00:00Z";
    a.end_at = "2099-01-01T00:00:00Z";
    c.auctions.push_back(a);
    c.default_topics = {"sale:demo", "auction:demo"};
    return c;
  }

  config::config cfg_;
  std::string dir_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  obs::metrics metrics_;
  hub::hub hub_{std::vector<boost::asio::any_io_executor>{io_.get_executor()}, cfg_.history,
                "f1"};
  hub::presence presence_{hub_};
  std::unique_ptr<store::sqlite_db> db_;
  std::unique_ptr<engine::engine_deps> deps_;  // outlives the runners that refer to it
  engine::registry engines_;
  auth::authenticator auth_{cfg_.auth};
  limits::rate_limiter rate_{cfg_.rate_limit};
  api::context ctx_{cfg_, hub_, presence_, engines_, auth_, rate_, metrics_};
  api::router router_{ctx_};
  api::ws_protocol ws_{ctx_};
};

// One app per auth mode, built on first use and kept for the process.
inline app& the_app(bool jwt) {
  static app* apps[2] = {nullptr, nullptr};
  if (!apps[jwt]) apps[jwt] = new app(jwt);  // never destroyed: libFuzzer exits with _Exit
  return *apps[jwt];
}

// The session as ws_protocol sees it: replies are checked, subscriptions go to the real hub.
class fuzz_ws_client : public api::ws_client {
public:
  fuzz_ws_client(app& a, std::string user) : app_(a), user_(std::move(user)) {}
  ~fuzz_ws_client() override { app_.hub().unsubscribe_all(*sub_); }

  static void check_reply(const std::string& json_text) {
    auto j = nlohmann::json::parse(json_text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("type"))
      violated("a WebSocket reply is not a JSON object with \"type\"", json_text);
  }
  void send_text(std::string json_text) override {
    check_reply(json_text);
    ++*replies_;
  }
  void subscribe(const std::vector<std::string>& topics) override {
    auto r = app_.hub().subscribe(sub_, topics, std::nullopt, hub::transport::websocket);
    for (const auto& f : r.snapshot)
      if (!f) violated("null snapshot frame");
  }
  void unsubscribe(const std::vector<std::string>& topics) override {
    app_.hub().unsubscribe(*sub_, topics);
  }
  void close(std::uint16_t code, std::string) override { closed = code; }
  const std::string& user_id() const override { return user_; }
  const std::string& remote_ip() const override { return ip_; }
  std::function<void(std::string)> async_sender() override {
    // Engines answer on their strand; the app's io_context runs them on this thread.
    // Counted in a shared counter: a late answer must not touch a client that is gone.
    return [replies = replies_](std::string s) {
      check_reply(s);
      ++*replies;
    };
  }
  std::size_t replies() const { return *replies_; }

  std::uint16_t closed = 0;

private:
  app& app_;
  std::string user_;
  std::string ip_ = "10.0.0.1";
  std::shared_ptr<std::size_t> replies_ = std::make_shared<std::size_t>(0);
  std::shared_ptr<null_subscriber> sub_ = std::make_shared<null_subscriber>();
};

}  // namespace rushcast::fuzz
