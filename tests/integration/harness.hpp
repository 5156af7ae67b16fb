// Owns the integration tests' view of rushcast: the real daemon as a child process and
// blocking HTTP, SSE and WebSocket clients (Beast) with timeouts. Used by every integration test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace rushcast::test {

using namespace std::chrono_literals;
using headers_t = std::map<std::string, std::string>;

// The real daemon on 127.0.0.1:0 with a config of a minimal base merged (JSON merge-patch)
// with overrides, its own temp dir, and --port-file to learn the bound port.
//
// Strict about how each run ends, so that a crash at shutdown cannot pass a test: every stop
// (terminate(), kill9(), restart(), the destructor) reaps the process and fails the running
// test (GoogleTest ADD_FAILURE, naming the daemon) when
//   - a SIGTERM stop did not exit with the expected status (0 unless the test says otherwise),
//     or the process died by a signal it was not sent, or needed SIGKILL after the timeout;
//   - its log (stdout + stderr) holds a sanitizer report ("ERROR: AddressSanitizer",
//     "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer").
// The temp dir (config, log, data unless an outside data dir was given) is removed by the
// destructor, and kept (its path printed) when a check failed.
class daemon {
public:
  explicit daemon(nlohmann::json overrides = nlohmann::json::object(), std::string data_dir = "");
  ~daemon();
  daemon(const daemon&) = delete;
  daemon& operator=(const daemon&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }  // temp dir: config.json, daemon.log, data/
  const std::string& data_dir() const { return data_dir_; }
  pid_t pid() const { return pid_; }
  const nlohmann::json& config() const { return config_; }
  std::string log() const;  // what the daemon printed so far

  void kill9();  // SIGKILL and reap: a crash (the log is still checked for sanitizer reports)
  // SIGTERM, wait up to 15 s (then SIGKILL); returns the exit status (128 + signal when a
  // signal ended it, -1 when it had to be killed). A status other than expected_status fails
  // the test; std::nullopt: the test checks the status itself.
  int terminate(std::optional<int> expected_status = 0);
  void restart();  // terminate() (expecting 0), then start again: same config and data dir
  bool running() const { return pid_ > 0; }

private:
  void start();
  // Reaps the stopped process and checks how it ended and what it logged since the last check.
  int reap(int signal_sent, std::optional<int> expected_status);
  void check_log();
  void fail(const std::string& what);

  std::string dir_;
  std::string data_dir_;
  nlohmann::json config_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::size_t log_checked_ = 0;  // bytes of daemon.log already scanned
  bool failed_ = false;
};

// Blocks until pid exits or timeout; returns the exit status or -1 on timeout.
int wait_exit(pid_t pid, std::chrono::milliseconds timeout);

// The one way a test waits for the daemon: for a condition, never for a fixed time. Calls pred
// every `every` until it holds (true) or timeout has passed (then pred's last answer, asked
// once more at the deadline).
bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& pred,
                std::chrono::milliseconds every = std::chrono::milliseconds(20));

struct http_reply {
  unsigned status = 0;
  headers_t headers;  // lower-case names
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

// One request on a fresh connection (Connection: close).
http_reply http(std::uint16_t port, const std::string& method, const std::string& target,
                const std::string& body = "", headers_t headers = {});

// Several requests on one keep-alive connection.
class http_conn {
public:
  explicit http_conn(std::uint16_t port);
  ~http_conn();
  http_reply request(const std::string& method, const std::string& target,
                     const std::string& body = "", headers_t headers = {});

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

struct sse_event {
  std::string id, event, data;
  nlohmann::json json() const { return nlohmann::json::parse(data); }
};

// A streaming SSE reader over a raw socket (handles chunked and identity bodies).
class sse_client {
public:
  sse_client(std::uint16_t port, const std::string& target, headers_t headers = {});
  ~sse_client();
  unsigned status() const;
  const headers_t& headers() const;
  // Next event (comments skipped and counted); nullopt on timeout or end of stream.
  std::optional<sse_event> next(std::chrono::milliseconds timeout = 5s);
  // Next event with this name, skipping others.
  std::optional<sse_event> next_named(const std::string& name, std::chrono::milliseconds timeout = 5s);
  std::optional<unsigned> retry_ms() const;
  std::size_t comments_seen() const;
  bool eof() const;
  // Waits for the server to end the stream; true when it did within timeout.
  bool wait_eof(std::chrono::milliseconds timeout);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

class ws_client {
public:
  ws_client(std::uint16_t port, const std::string& path = "/ws", headers_t headers = {});
  ~ws_client();
  void send(const std::string& text);
  void send_json(const nlohmann::json& j);
  // Next text message as JSON; nullopt on timeout or close.
  std::optional<nlohmann::json> recv(std::chrono::milliseconds timeout = 5s);
  // Next message whose "type" is type, skipping others.
  std::optional<nlohmann::json> recv_type(const std::string& type,
                                          std::chrono::milliseconds timeout = 5s);
  // Waits for the server's close; its code.
  std::optional<std::uint16_t> close_code(std::chrono::milliseconds timeout = 5s);
  bool closed() const;
  void close();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Publishes through POST /api/publish with the test publish key; returns the event id.
// now + offset as ISO-8601 UTC ("2026-11-25T22:30:00Z"), the form a sale or auction start_at takes.
std::string iso_from_now(std::chrono::seconds offset);

std::string publish(std::uint16_t port, const std::string& topic, const std::string& event,
                    const nlohmann::json& data);

inline constexpr const char* test_publish_key = "test-publish-key";

}  // namespace rushcast::test
