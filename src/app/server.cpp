// Start-up and drain order of the daemon. Start: config -> logs (main) -> store -> engines
// (recovery) -> listener bound -> port file -> ready -> READY=1. Drain (SIGTERM/SIGINT): stop
// accepting, STOPPING=1, every session ends per its transport, engines stop, the store flushes,
// threads stop; anything still open after shutdown_timeout_ms is cut.
#include "rushcast/app/server.hpp"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "rushcast/core/epoch.hpp"
#include "rushcast/api/context.hpp"
#include "rushcast/api/auction_routes.hpp"
#include "rushcast/api/core_routes.hpp"
#include "rushcast/api/core_ws.hpp"
#include "rushcast/api/router.hpp"
#include "rushcast/api/sale_routes.hpp"
#include "rushcast/api/ws_protocol.hpp"
#include "rushcast/app/fd_limit.hpp"
#include "rushcast/app/sd_notify.hpp"
#include "rushcast/app/shard_probe.hpp"
#include "rushcast/auth/authenticator.hpp"
#include "rushcast/config/load.hpp"
#include "rushcast/engine/auctions.hpp"
#include "rushcast/engine/engines.hpp"
#include "rushcast/engine/sales.hpp"
#include "rushcast/engine/registry.hpp"
#include "rushcast/engine/shard_replies.hpp"
#include "rushcast/cluster/bus.hpp"
#include "rushcast/cluster/presence.hpp"
#include "rushcast/hub/hub.hpp"
#include "rushcast/hub/presence.hpp"
#include "rushcast/limits/connection_limiter.hpp"
#include "rushcast/limits/rate_limiter.hpp"
#include "rushcast/net/listener.hpp"
#include "rushcast/net/services.hpp"
#include "rushcast/net/shard.hpp"
#include "rushcast/obs/log.hpp"
#include "rushcast/obs/metrics.hpp"
#include "rushcast/redis/startup.hpp"
#include "rushcast/store/sqlite_db.hpp"

namespace rushcast::app {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

// Topics removed (since the last trim) that make a sweep return freed heap to the OS.
constexpr std::size_t trim_after_removed = 1024;

void write_port_file(const std::string& path, std::uint16_t port) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) throw std::runtime_error("cannot write port file " + tmp);
  }
  fs::rename(tmp, path);
}

}  // namespace

// An io_context whose shutdown() (destroy every pending handler, keep the services) can be
// called on its own, before any io_context is destroyed: see teardown().
class shard_context : public asio::io_context {
public:
  using asio::io_context::io_context;
  using asio::execution_context::shutdown;
};

struct server::impl {
  config::config cfg;
  std::string port_file;

  // Declared first, destroyed last but one: see teardown() for the order that matters.
  std::vector<std::unique_ptr<shard_context>> iocs;
  std::vector<std::unique_ptr<net::shard>> shards;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;

  obs::metrics metrics;
  std::unique_ptr<hub::hub> hub;
  std::unique_ptr<hub::presence> presence;
  // Cluster mode: the event bus and its publishing connection (its reader is its own).
  std::shared_ptr<redis::client> bus_writer;
  std::shared_ptr<cluster::bus> bus;
  std::shared_ptr<cluster::presence> cluster_presence;  // chat presence over the cluster
  std::unique_ptr<store::sqlite_db> db;
  engine::registry registry;
  std::unique_ptr<auth::authenticator> auth;
  std::unique_ptr<limits::rate_limiter> rate;
  std::unique_ptr<limits::connection_limiter> conns;
  std::unique_ptr<api::context> ctx;
  std::unique_ptr<api::router> router;
  std::unique_ptr<api::ws_protocol> ws;
  std::unique_ptr<net::services> svc;
  std::shared_ptr<net::listener> listener;

  std::unique_ptr<asio::signal_set> signals;
  std::unique_ptr<asio::steady_timer> stats_timer;
  std::unique_ptr<asio::steady_timer> sweep_timer;
  std::size_t removed_since_trim = 0;
  std::unique_ptr<asio::steady_timer> watchdog_timer;
  std::chrono::microseconds watchdog_every{0};
  std::unique_ptr<shard_probe> watchdog_probe;

  std::mutex mu;
  std::condition_variable cv;
  bool stop_requested = false;
  bool engines_started = false;
  std::uint64_t store_status_seen = ~0ull;  // store_health changes last told to systemd

  asio::io_context& control() { return *iocs.front(); }

  // start(): build every module, bind the port, then run the shard threads.
  void start();
  void build_shards(unsigned n);
  void start_bus();
  void build_modules();
  void bind(unsigned n);
  void start_threads();
  void wait_and_drain();
  void teardown();
  void arm_stats();
  void arm_sweep(std::chrono::milliseconds after);
  void arm_watchdog();
  void wait_signal();
  void check_fd_limit(unsigned threads);
  void notify_store_status();
};

// Descriptors are raised toward what max_connections needs, and a shortfall is said once, at
// start, rather than discovered as EMFILE under load.
void server::impl::check_fd_limit(unsigned threads) {
  const std::uint64_t needed = fds_needed(cfg.limits.max_connections, threads);
  const std::uint64_t limit = raise_fd_limit(needed);
  if (auto w = fd_limit_warning(cfg.limits.max_connections, needed, limit); !w.empty())
    spdlog::warn("{}", w);
}

// Control thread (and start). Tells systemd, in STATUS=, whether purchases can be stored and
// why not; sent when the store's health changes (checked every second).
void server::impl::notify_store_status() {
  auto st = db->health().get();
  if (st.changes == store_status_seen) return;
  store_status_seen = st.changes;
  sd_notify(st.current == store::store_health::state::ok
                ? std::string("STATUS=ready")
                : "STATUS=not ready, purchases and bids refused: store " + st.reason);
}

void server::impl::start() {
  if (cfg.storage.backend == "redis") {
    redis::prepare_redis(cfg.storage);
  }
  unsigned n = cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  check_fd_limit(n);
  build_shards(n);
  build_modules();
  bind(n);
  start_threads();
}

// One io_context per thread, each with its shard, and the hub that posts to all of them.
void server::impl::build_shards(unsigned n) {
  std::vector<asio::any_io_executor> executors;
  for (unsigned i = 0; i < n; ++i) {
    iocs.push_back(std::make_unique<shard_context>(1));
    shards.push_back(std::make_unique<net::shard>(i, *iocs.back()));
    executors.push_back(iocs.back()->get_executor());
  }
  hub = std::make_unique<hub::hub>(executors, cfg.history, core::make_epoch(),
                                   hub::hub::default_sweep_budget,
                                   cfg.limits.max_publish_backlog);
  hub->set_metrics(&metrics);
  presence = std::make_unique<hub::presence>(*hub);
  if (cfg.storage.backend == "redis") start_bus();
}

// Cluster mode: the hub's publishes go to the Redis Stream bus, and its order comes from what
// the bus reads (docs/ARCHITECTURE.md, "Cluster event bus"). Both connections live on the
// control io_context, which runs once the shard threads start.
void server::impl::start_bus() {
  auto opts = redis::client_options::from(cfg.storage);
  bus_writer = redis::client::create(control().get_executor(), opts);
  bus_writer->run();
  bus = cluster::bus::create(bus_writer, redis::client::create(control().get_executor(), opts),
                             *hub, cfg.bus);
  hub->set_bus(bus, cfg.bus.max_resume_ahead);
  bus->set_metrics(&metrics);
  cluster_presence = cluster::presence::create(bus_writer, *presence, cfg.bus, core::make_epoch());
  bus->set_presence(cluster_presence);
  presence->set_backend(cluster_presence);
  cluster_presence->run();
  bus->run();
}

// The store, the engines (recovered before any connection), and the API over them.
void server::impl::build_modules() {
  fs::path data_dir(cfg.data_dir);
  fs::create_directories(data_dir);
  auto db_path = data_dir / cfg.storage.path;
  db = std::make_unique<store::sqlite_db>(db_path.string(), cfg.storage);

  // Engines run their strands on shard 0; recovery reads happen here, before any connection.
  engine::engine_deps deps{control().get_executor(), *hub, *db, cfg, metrics};
  engine::start_sales(registry, deps);
  engine::start_auctions(registry, deps);
  engines_started = true;

  auth = std::make_unique<auth::authenticator>(cfg.auth);
  rate = std::make_unique<limits::rate_limiter>(cfg.rate_limit);
  conns = std::make_unique<limits::connection_limiter>(cfg.limits.max_connections,
                                                       cfg.limits.max_connections_per_ip);
  ctx.reset(new api::context{cfg, *hub, *presence, registry, *auth, *rate, metrics});
  ctx->store = &db->health();
  // Weak: the context outlives the teardown of the control io_context, the client must not.
  if (bus_writer)
    ctx->bus_connected = [w = std::weak_ptr<redis::client>(bus_writer)] {
      auto c = w.lock();
      return c && c->connected();
    };
  router = std::make_unique<api::router>(*ctx);
  api::register_core_routes(*router, *ctx);
  api::register_sale_routes(*router, *ctx);
  api::register_auction_routes(*router, *ctx);
  ws = std::make_unique<api::ws_protocol>(*ctx);
  api::register_core_ws(*ws, *ctx);
  api::register_sale_ws(*ws, *ctx);
  api::register_auction_ws(*ws, *ctx);
  svc.reset(new net::services{*ctx, *router, *ws, *conns, shards});
}

// The listener on its port, the signals, the port file and the control timers.
void server::impl::bind(unsigned n) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(cfg.listen.address, ec);
  if (ec) throw config::config_error("listen.address: not an IP address: " + cfg.listen.address);
  try {
    listener = std::make_shared<net::listener>(*svc, control(),
                                               asio::ip::tcp::endpoint(addr, cfg.listen.port));
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen on " + cfg.listen.address + ":" +
                             std::to_string(cfg.listen.port) + ": " + e.code().message());
  }
  // Before the port file says we are up: a SIGTERM from then on must drain (exit 0), never
  // meet the default action.
  signals = std::make_unique<asio::signal_set>(control(), SIGTERM, SIGINT, SIGHUP);
  wait_signal();
  listener->run();
  spdlog::info("listening on {}:{} with {} thread(s), data_dir {}", cfg.listen.address,
               listener->port(), n, cfg.data_dir);
  if (!port_file.empty()) write_port_file(port_file, listener->port());

  stats_timer = std::make_unique<asio::steady_timer>(control());
  arm_stats();
  sweep_timer = std::make_unique<asio::steady_timer>(control());
  arm_sweep(std::chrono::milliseconds(cfg.history.sweep_interval_ms));
  watchdog_timer = std::make_unique<asio::steady_timer>(control());
}

// One thread per shard; then ready, to /readyz and to systemd.
void server::impl::start_threads() {
  for (auto& ioc : iocs) guards.push_back(asio::make_work_guard(*ioc));
  for (auto& ioc : iocs)
    threads.emplace_back([io = ioc.get()] {
      // Engines answer a caller on its own shard, one post per shard per commit.
      engine::set_this_thread_shard(io->get_executor());
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          // A handler threw: log and keep the shard serving its other connections.
          spdlog::error("shard handler threw: {}", e.what());
        }
      }
    });
  ctx->ready = true;
  // Started even when the store cannot write (a full or read-only data dir): streams and
  // reads still work, /readyz and STATUS= say why purchases are refused.
  sd_notify("READY=1");
  notify_store_status();
  if (auto w = watchdog_interval()) {
    watchdog_every = *w;
    asio::post(control(), [this] { arm_watchdog(); });
  }
}

void server::impl::wait_signal() {
  signals->async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reopening logs");
      obs::reopen_logs();
      return wait_signal();
    }
    spdlog::info("{}: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    std::lock_guard lk(mu);
    stop_requested = true;
    cv.notify_all();
  });
}

void server::impl::arm_stats() {
  stats_timer->expires_after(std::chrono::milliseconds(1000));
  stats_timer->async_wait([this](boost::system::error_code ec) {
    if (ec || svc->draining.load()) return;
    hub->refresh_gauges();
    notify_store_status();
    auto j = metrics.to_json();
    j["serverTime"] = api::now_ms();
    hub->publish_local("sys:stats", "stats", j.dump(), true);
    arm_stats();
  });
}

// Idle topics go on a timer, on shard 0 like the engines' strands. A sweep that hit its
// per-call bound continues at once (the reactor runs in between).
void server::impl::arm_sweep(std::chrono::milliseconds after) {
  sweep_timer->expires_after(after);
  sweep_timer->async_wait([this](boost::system::error_code ec) {
    if (ec || svc->draining.load()) return;
    const auto r = hub->sweep_idle_topics(hub::hub::clock_ms());
    removed_since_trim += r.removed;
    // glibc keeps freed heap in its arenas; after a big sweep, hand it back (docs/OPERATIONS.md).
    if (!r.more && removed_since_trim >= trim_after_removed) {
      removed_since_trim = 0;
      ::malloc_trim(0);
    }
    arm_sweep(r.more ? std::chrono::milliseconds(0)
                     : std::chrono::milliseconds(cfg.history.sweep_interval_ms));
  });
}

void server::impl::arm_watchdog() {
  // WATCHDOG=1 only once every shard ran a posted ping: a wedged shard gets restarted.
  if (!watchdog_probe) {
    std::vector<asio::any_io_executor> ex;
    for (auto& ioc : iocs) ex.push_back(ioc->get_executor());
    watchdog_probe = std::make_unique<shard_probe>(std::move(ex));
  }
  watchdog_probe->round([] { sd_notify("WATCHDOG=1"); });
  watchdog_timer->expires_after(watchdog_every);
  watchdog_timer->async_wait([this](boost::system::error_code ec) {
    if (!ec) arm_watchdog();
  });
}

void server::impl::wait_and_drain() {
  {
    std::unique_lock lk(mu);
    cv.wait(lk, [this] { return stop_requested; });
  }
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(cfg.shutdown_timeout_ms);
  sd_notify("STOPPING=1");
  ctx->ready = false;
  svc->draining = true;
  listener->stop();
  // Publishers waiting for the fan-out backlog get 503 now rather than after their wait.
  hub->close_bounded();
  // This node's chat members leave the cluster's rooms now rather than when its heartbeat expires.
  if (cluster_presence) cluster_presence->leave_cluster(std::chrono::milliseconds(1000));
  for (auto& sh : shards) asio::post(sh->ioc(), [s = sh.get()] { s->drain_all(); });
  engine::stop_sales(registry);
  engine::stop_auctions(registry);
  engines_started = false;
  // Sessions close themselves (WebSocket close handshakes, SSE ends, long-poll answers).
  while (conns->total() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (conns->total() > 0)
    spdlog::warn("drain: {} connection(s) still open after {} ms, closing them", conns->total(),
                 cfg.shutdown_timeout_ms);
  db->stop();
  if (bus) {
    bus->close();
    bus_writer->close();
  }
  spdlog::info("drained; store flushed");
}

void server::impl::teardown() {
  if (engines_started) {
    engine::stop_sales(registry);
    engine::stop_auctions(registry);
    engines_started = false;
  }
  guards.clear();
  for (auto& ioc : iocs) ioc->stop();
  for (auto& t : threads)
    if (t.joinable()) t.join();
  threads.clear();
  if (svc) svc->stopped = true;
  // Waiting publishes hold timers of the io_contexts destroyed below.
  if (hub) hub->close_bounded();
  // The bus's connections are I/O objects of the control io_context, which no thread runs any
  // more: closed here, so that their pending commands (each holding the bus) are failed and
  // released instead of keeping bus and connections alive in a cycle.
  if (cluster_presence) {
    cluster_presence->close_stopped();
    presence->set_backend(nullptr);
    cluster_presence.reset();
  }
  if (bus) {
    bus->close_stopped();
    bus_writer->close_stopped();
    hub->set_bus(nullptr, 0);
    bus.reset();
    bus_writer.reset();
  }
  // Every I/O object must die before its io_context; objects kept alive by pending handlers
  // die inside the io_context's own shutdown, which is allowed.
  signals.reset();
  stats_timer.reset();
  sweep_timer.reset();
  watchdog_timer.reset();
  listener.reset();
  for (auto& sh : shards) sh->stop_keepalive();
  registry.sales.clear();
  registry.auctions.clear();
  // A pending operation of one io_context may hold an I/O object of another: the listener's
  // accept waits on shard 0 with a socket made on the next shard's context. So first destroy
  // every context's pending handlers while every context's services still exist, and only
  // then destroy the contexts.
  for (auto& ioc : iocs) ioc->shutdown();
  while (!iocs.empty()) iocs.pop_back();
  if (db) db->stop();
}

server::server(config::config cfg, std::string port_file) : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->port_file = std::move(port_file);
}

server::~server() { impl_->teardown(); }

int server::run() {
  impl_->start();
  impl_->wait_and_drain();
  impl_->teardown();
  spdlog::info("stopped");
  return 0;
}

}  // namespace rushcast::app
