#include "harness.hpp"
#include "harness_detail.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

namespace rushcast::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http_ns = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;
using detail::run_until;

namespace {

std::string make_temp_dir() {
  std::string tmpl = "/tmp/rushcast-it-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  return buf.data();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json base_config() {
  return json{
      {"listen", {{"address", "127.0.0.1"}, {"port", 0}}},
      {"threads", 2},
      {"log", {{"level", "warn"}}},
      {"auth", {{"mode", "off"}, {"publish_key", test_publish_key}}},
      {"static_dir", std::string(RUSHCAST_SOURCE_DIR) + "/web"},
      {"default_topics", json::array()},
      {"sales", json::array()},
      {"auctions", json::array()},
  };
}


}  // namespace

bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& pred,
                std::chrono::milliseconds every) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(every);
  }
  return pred();
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (r < 0) return -1;
    if (clock_type::now() >= deadline) return -1;
    std::this_thread::sleep_for(10ms);
  }
}

// ---- daemon -------------------------------------------------------------------------------

daemon::daemon(json overrides, std::string data_dir) : dir_(make_temp_dir()) {
  config_ = base_config();
  config_.merge_patch(overrides);
  data_dir_ = data_dir.empty() ? dir_ + "/data" : std::move(data_dir);
  std::ofstream(dir_ + "/config.json") << config_.dump(2);
  start();
}

daemon::~daemon() {
  if (pid_ > 0) terminate();
  // An outside data dir belongs to the test; ours lives inside dir_.
  if (failed_) {
    std::fprintf(stderr, "rushcast test daemon: keeping %s for inspection\n", dir_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string daemon::log() const { return read_file(dir_ + "/daemon.log"); }

void daemon::fail(const std::string& what) {
  failed_ = true;
  std::string text = log();
  constexpr std::size_t tail = 6000;
  std::string shown = text.size() > tail ? "[...]\n" + text.substr(text.size() - tail) : text;
  ADD_FAILURE() << "rushcast daemon (pid " << pid_ << ", dir " << dir_ << "): " << what
                << "\n--- daemon log ---\n"
                << shown;
}

// Scans what the daemon logged since the last scan (a restart appends to the same log).
void daemon::check_log() {
  static const std::array<const char*, 4> markers{"ERROR: AddressSanitizer",
                                                  "ERROR: LeakSanitizer", "runtime error:",
                                                  "WARNING: ThreadSanitizer"};
  std::string text = log();
  if (text.size() <= log_checked_) return;
  std::string_view fresh = std::string_view(text).substr(log_checked_);
  log_checked_ = text.size();
  for (const char* m : markers) {
    auto at = fresh.find(m);
    if (at == std::string_view::npos) continue;
    auto line_start = fresh.rfind('\n', at);
    line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
    failed_ = true;
    ADD_FAILURE() << "rushcast daemon (pid " << pid_ << ", dir " << dir_
                  << "): sanitizer report in its log:\n"
                  << fresh.substr(line_start, 8000);
    return;
  }
}

int daemon::reap(int signal_sent, std::optional<int> expected_status) {
  auto deadline = clock_type::now() + 15s;
  int status = 0;
  bool killed_by_us = false;
  for (;;) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (r < 0) {
      fail(std::string("waitpid: ") + std::strerror(errno));
      pid_ = -1;
      return -1;
    }
    if (clock_type::now() >= deadline) {
      if (killed_by_us) {
        fail("cannot be reaped even after SIGKILL");
        pid_ = -1;
        return -1;
      }
      ::kill(pid_, SIGKILL);
      killed_by_us = true;
      deadline = clock_type::now() + 10s;
    }
    std::this_thread::sleep_for(5ms);
  }
  int rc = -1;
  if (killed_by_us) {
    fail(std::string("still running 15 s after ") + ::strsignal(signal_sent) +
         "; killed with SIGKILL");
  } else if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    rc = 128 + sig;
    if (sig != SIGKILL || signal_sent != SIGKILL)
      fail("killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")" +
           (WCOREDUMP(status) ? ", core dumped" : ""));
  } else if (WIFEXITED(status)) {
    rc = WEXITSTATUS(status);
    if (signal_sent == SIGKILL)
      fail("exited by itself with status " + std::to_string(rc) + " before SIGKILL");
    else if (expected_status && rc != *expected_status)
      fail("exited with status " + std::to_string(rc) + " after " + ::strsignal(signal_sent) +
           ", expected " + std::to_string(*expected_status));
  }
  check_log();
  pid_ = -1;
  return rc;
}

void daemon::start() {
  std::string port_file = dir_ + "/port";
  ::unlink(port_file.c_str());
  std::string cfg = dir_ + "/config.json";
  std::string logf = dir_ + "/daemon.log";
  const bool main_thread = detail::on_main_thread();
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    detail::die_with_parent(main_thread, parent);
    int fd = ::open(logf.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    std::vector<std::string> args{RUSHCAST_BIN, "--config", cfg, "--listen", "127.0.0.1:0",
                                  "--port-file", port_file, "--data-dir", data_dir_};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(RUSHCAST_BIN, argv.data());
    ::_exit(127);
  }
  auto deadline = clock_type::now() + 30s;
  while (clock_type::now() < deadline) {
    std::string p = read_file(port_file);
    if (!p.empty() && p.back() == '\n') p.pop_back();
    if (!p.empty()) {
      port_ = static_cast<std::uint16_t>(std::stoi(p));
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("rushcast exited at start-up:\n" + log());
    }
    std::this_thread::sleep_for(20ms);
  }
  ::kill(pid_, SIGKILL);
  wait_exit(pid_, 5s);
  pid_ = -1;
  throw std::runtime_error("rushcast did not write its port file in 30 s:\n" + log());
}

void daemon::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(SIGKILL, std::nullopt);
}

int daemon::terminate(std::optional<int> expected_status) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  return reap(SIGTERM, expected_status);
}

void daemon::restart() {
  if (pid_ > 0) terminate();
  start();
}

// ---- HTTP ---------------------------------------------------------------------------------

namespace {

http_reply to_reply(http_ns::response<http_ns::string_body>& res) {
  http_reply r;
  r.status = res.result_int();
  for (auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  r.body = std::move(res.body());
  return r;
}

http_ns::request<http_ns::string_body> make_request(std::uint16_t port, const std::string& method,
                                                    const std::string& target,
                                                    const std::string& body,
                                                    const headers_t& headers) {
  http_ns::request<http_ns::string_body> req{http_ns::string_to_verb(method), target, 11};
  req.set(http_ns::field::host, "127.0.0.1:" + std::to_string(port));
  if (!body.empty()) req.set(http_ns::field::content_type, "application/json");
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  return req;
}

}  // namespace

std::size_t detail::read_some_by(tcp::socket& s, void* data, std::size_t size,
                                clock_type::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) throw std::runtime_error("no reply within the test's deadline");
    pollfd p{s.native_handle(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) throw std::runtime_error("poll failed");
    if (ready <= 0) continue;
    const ssize_t n = ::recv(s.native_handle(), data, size, MSG_DONTWAIT);
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0) throw std::runtime_error("the peer closed the connection");
    if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
      throw std::runtime_error(std::string("recv failed: ") + std::strerror(errno));
  }
}

bool detail::on_main_thread() { return ::gettid() == ::getpid(); }

void detail::die_with_parent(bool forked_by_main_thread, pid_t parent) {
  if (!forked_by_main_thread) return;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before the line above
}

namespace {

// Writes req and reads its answer on s within 30 s (see harness_detail.hpp for why no
// blocking call). On time-out the socket is closed and the pending handler run before the
// locals it refers to go away.
http_reply exchange(asio::io_context& io, tcp::socket& s, beast::flat_buffer& buf,
                    http_ns::request<http_ns::string_body>& req) {
  const auto deadline = clock_type::now() + 30s;
  boost::system::error_code ec;
  bool done = false;
  http_ns::response_parser<http_ns::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http_ns::async_write(s, req, [&](boost::system::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (run_until(io, deadline, [&] { return done; }) && !ec) {
    done = false;
    http_ns::async_read(s, buf, parser, [&](boost::system::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    run_until(io, deadline, [&] { return done; });
  }
  if (!done) {
    boost::system::error_code ignored;
    s.close(ignored);
    io.restart();
    io.run();
    throw std::runtime_error(std::string(req.method_string()) + " " + std::string(req.target()) +
                             ": no answer within 30 s");
  }
  if (ec) throw boost::system::system_error(ec, std::string(req.method_string()) + " " +
                                                    std::string(req.target()));
  auto res = parser.release();
  return to_reply(res);
}

}  // namespace

http_reply http(std::uint16_t port, const std::string& method, const std::string& target,
                const std::string& body, headers_t headers) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  auto req = make_request(port, method, target, body, headers);
  req.keep_alive(false);
  beast::flat_buffer buf;
  return exchange(io, s, buf, req);
}

struct http_conn::impl {
  asio::io_context io;
  tcp::socket s{io};
  beast::flat_buffer buf;
  std::uint16_t port;
};

http_conn::http_conn(std::uint16_t port) : impl_(std::make_unique<impl>()) {
  impl_->port = port;
  impl_->s.connect({asio::ip::make_address("127.0.0.1"), port});
  impl_->s.set_option(tcp::no_delay(true));
}

http_conn::~http_conn() = default;

http_reply http_conn::request(const std::string& method, const std::string& target,
                              const std::string& body, headers_t headers) {
  auto req = make_request(impl_->port, method, target, body, headers);
  return exchange(impl_->io, impl_->s, impl_->buf, req);
}

std::string publish(std::uint16_t port, const std::string& topic, const std::string& event,
                    const json& data) {
  json body{{"topic", topic}, {"event", event}, {"data", data}};
  auto r = http(port, "POST", "/api/publish", body.dump(),
                {{"Authorization", std::string("Bearer ") + test_publish_key}});
  if (r.status != 200) throw std::runtime_error("publish failed: " + std::to_string(r.status) +
                                                " " + r.body);
  return r.json().at("id").get<std::string>();
}


std::string iso_from_now(std::chrono::seconds offset) {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + offset);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace rushcast::test
