// The tests' redis-server child process: free port, own dir, durable config, PING to be ready.
#include "harness_redis.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "harness.hpp"
#include "harness_detail.hpp"

namespace rushcast::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

std::string make_redis_dir() {
  std::string tmpl = "/tmp/rushcast-redis-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  return buf.data();
}

// A port the kernel just gave out on loopback; redis-server binds it a moment later (a race
// with other processes that try_start() absorbs by retrying).
std::uint16_t free_port() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

std::string resp_command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// One reply, read within 30 s (harness_detail.hpp says why not with blocking reads): enough
// RESP for the harness's checks (a line, or a bulk string); arrays come back as their first
// line and are not used by the harness.
std::string read_reply(tcp::socket& s) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  std::string got;
  char buf[4096];
  auto fill = [&] { got.append(buf, detail::read_some_by(s, buf, sizeof buf, deadline)); };
  std::size_t eol;
  while ((eol = got.find("\r\n")) == std::string::npos) fill();
  if (got[0] == '$') {
    const long n = std::stol(got.substr(1, eol - 1));
    if (n >= 0) {
      const std::size_t total = eol + 2 + static_cast<std::size_t>(n) + 2;
      while (got.size() < total) fill();
      got.resize(total);
      return got;
    }
  }
  got.resize(eol + 2);
  return got;
}

}  // namespace

redis_server::redis_server() : redis_server(options{}) {}

redis_server::redis_server(options o) : opts_(std::move(o)), dir_(make_redis_dir()) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    write_config();
    if (try_start()) return;
  }
  throw std::runtime_error("redis-server did not start in 5 attempts:\n" + log());
}

redis_server::~redis_server() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string redis_server::url(unsigned db) const {
  std::string auth = opts_.password.empty() ? "" : ":" + opts_.password + "@";
  return "redis://" + auth + "127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

std::string redis_server::log() const {
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void redis_server::write_config() {
  std::ofstream out(dir_ + "/redis.conf");
  out << "bind 127.0.0.1\n"
      << "port " << port_ << "\n"
      << "dir " << dir_ << "\n"
      << "logfile " << dir_ << "/redis.log\n"
      << "daemonize no\n"
      << "save \"\"\n"
      << "appendonly yes\n"
      << "appendfsync always\n"
      << "maxmemory-policy noeviction\n";
  if (!opts_.password.empty()) out << "requirepass " << opts_.password << "\n";
  for (const auto& line : opts_.extra) out << line << "\n";
}

void redis_server::start() {
  if (pid_ > 0) return;
  if (!try_start()) throw std::runtime_error("redis-server did not restart:\n" + log());
}

bool redis_server::try_start() {
  const std::string conf = dir_ + "/redis.conf";
  const bool main_thread = detail::on_main_thread();
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    detail::die_with_parent(main_thread, parent);
    // Its log goes to redis.log; stderr too is closed off, or a redis-server left behind would
    // hold ctest's output pipe open and turn any crash of the test into a 300 s time-out.
    int fd = ::open("/dev/null", O_RDWR);
    if (fd >= 0) {
      ::dup2(fd, 0);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execlp("redis-server", "redis-server", conf.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Ready when PING answers PONG (during an AOF load it answers -LOADING: keep waiting).
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;  // e.g. the port was taken meanwhile: the log says so
    }
    try {
      if (command({"PING"}) == "+PONG\r\n") return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(10ms);
  }
  kill9();
  throw std::runtime_error("redis-server did not answer PING in 30 s:\n" + log());
}

void redis_server::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGKILL);
  wait_exit(pid_, 10s);
  pid_ = -1;
}

void redis_server::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  if (wait_exit(pid_, 10s) == -1) {
    ::kill(pid_, SIGKILL);
    wait_exit(pid_, 5s);
  }
  pid_ = -1;
}

void redis_server::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void redis_server::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string redis_server::command(const std::vector<std::string>& args) const {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  if (!opts_.password.empty()) {
    asio::write(s, asio::buffer(resp_command({"AUTH", opts_.password})));
    read_reply(s);
  }
  asio::write(s, asio::buffer(resp_command(args)));
  return read_reply(s);
}

}  // namespace rushcast::test
