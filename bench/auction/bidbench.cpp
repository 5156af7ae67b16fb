// bidbench: a single-threaded epoll client for the auction benchmark (issue 13).
//
// W WebSocket watchers subscribe to auction:ID; B closed-loop bidders bid over WebSocket
// (`--mode ws`) or keep-alive HTTP POST /api/bid (`--mode http`). Every bidder sends the next
// amount of one shared rising counter as soon as its previous bid is answered, so bids are
// accepted or refused (bid_too_low) depending on the order the server decides them in.
//
// Reports JSON on stdout: accepted and refused bids per second, other errors, bid->watcher
// latency (a bid sent -> a watcher reads a price_update carrying that price; every watcher's
// every update is one sample), how many watchers end on the final price, and the CPU seconds
// the server (--pid) and this client spent while bidding.
//
// Cluster (issue 12): --ports P1,P2,... spreads watchers and bidders round-robin over several
// nodes (one shared counter, so one final price for all of them); --pid takes the nodes' PIDs,
// comma-separated, summed; --redis-pid reports redis-server's CPU separately. The highest
// amount a bidder was told `accepted` must be the final price every watcher ends on.
//
// Only talks to 127.0.0.1; bounded by --seconds and exits by itself.
//
// Build: cmake -S bench -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench
//        --target bidbench
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "bidbench: %s\n", msg.c_str());
  std::exit(2);
}

// CPU seconds (user + system) of a process, from /proc/PID/stat.
double proc_cpu_s(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(s.substr(close + 2));
  std::string field;
  double ut = 0, st = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) ut = std::atof(field.c_str());
    if (i == 15) st = std::atof(field.c_str());
  }
  return (ut + st) / double(sysconf(_SC_CLK_TCK));
}

double self_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

enum class role { watcher, ws_bidder, http_bidder };

struct conn {
  int fd = -1;
  role r = role::watcher;
  int index = 0;
  bool open = false;  // handshake done (ws) / connected (http)
  bool waiting = false;  // a bid is in flight
  int64_t amount = 0;    // the bid in flight
  std::string in;
  std::string out;
  int64_t last_price = 0;
};

struct options {
  std::vector<int> ports;
  std::string auction = "bench";
  int watchers = 1000;
  int bidders = 64;
  double seconds = 10;
  std::string mode = "ws";
  std::vector<int> pids;
  int redis_pid = 0;
};

double pids_cpu_s(const std::vector<int>& pids) {
  double t = 0;
  for (int p : pids) t += proc_cpu_s(p);
  return t;
}

std::vector<int> int_list(const std::string& v) {
  std::vector<int> out;
  std::stringstream in(v);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::atoi(item.c_str()));
  return out;
}

class bench {
public:
  explicit bench(options o) : o_(std::move(o)) {}
  int run();

private:
  int connect_one(role r, int index);
  void on_readable(conn& c);
  void on_writable(conn& c);
  void flush(conn& c);
  void ws_frames(conn& c);
  void http_replies(conn& c);
  void on_watcher_text(conn& c, std::string_view text);
  void on_bid_answer(conn& c, bool accepted, bool too_low);
  void send_bid(conn& c);
  void ws_send_text(conn& c, std::string_view text, unsigned char opcode = 0x1);
  void poll_once(int timeout_ms);

  options o_;
  int ep_ = -1;
  std::vector<conn> conns_;
  bool bidding_ = false;
  int64_t base_amount_ = 1000;
  int64_t next_ = 1000;
  std::vector<int64_t> sent_at_;  // index amount - base_amount_
  std::vector<uint32_t> lat_us_;
  uint64_t accepted_ = 0, refused_ = 0, other_errors_ = 0, updates_ = 0;
  int64_t final_price_ = 0;
  int64_t max_accepted_ = 0;
  int in_flight_ = 0;
  std::string first_error_;
};

int bench::connect_one(role r, int index) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  // Round-robin over the nodes, watchers and bidders each from the first node on.
  a.sin_port = htons(static_cast<uint16_t>(o_.ports[static_cast<std::size_t>(index) % o_.ports.size()]));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 && errno != EINPROGRESS)
    die("connect");
  conn c;
  c.fd = fd;
  c.r = r;
  c.index = index;
  std::string path;
  if (r == role::watcher) path = "/ws?topics=auction:" + o_.auction;
  if (r == role::ws_bidder) path = "/ws?userId=bidder" + std::to_string(index);
  if (r != role::http_bidder)
    c.out = "GET " + path +
            " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  else
    c.open = true;
  std::size_t slot = conns_.size();
  conns_.push_back(std::move(c));
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
  ev.data.u64 = slot;
  epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  return static_cast<int>(slot);
}

void bench::flush(conn& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == ENOTCONN) return;
      die(std::string("send: ") + std::strerror(errno));
    }
    c.out.erase(0, static_cast<std::size_t>(n));
  }
}

void bench::on_writable(conn& c) { flush(c); }

// A masked client frame; the mask key is zero, so the payload goes as it is.
void bench::ws_send_text(conn& c, std::string_view text, unsigned char opcode) {
  unsigned char h[8];
  std::size_t n = 0;
  h[n++] = 0x80 | opcode;
  if (text.size() < 126) {
    h[n++] = 0x80 | static_cast<unsigned char>(text.size());
  } else {
    h[n++] = 0x80 | 126;
    h[n++] = static_cast<unsigned char>(text.size() >> 8);
    h[n++] = static_cast<unsigned char>(text.size());
  }
  for (int i = 0; i < 4; ++i) h[n++] = 0;
  c.out.append(reinterpret_cast<char*>(h), n);
  c.out.append(text);
  flush(c);
}

void bench::send_bid(conn& c) {
  if (!bidding_ || c.waiting) return;
  int64_t amount = next_++;
  c.amount = amount;
  sent_at_.push_back(mono_ns());
  c.waiting = true;
  ++in_flight_;
  char body[160];
  if (c.r == role::ws_bidder) {
    int n = std::snprintf(body, sizeof body,
                          "{\"type\":\"bid\",\"auctionId\":\"%s\",\"bidAmount\":%" PRId64 "}",
                          o_.auction.c_str(), amount);
    ws_send_text(c, std::string_view(body, static_cast<std::size_t>(n)));
  } else {
    int n = std::snprintf(body, sizeof body,
                          "{\"userId\":\"bidder%d\",\"auctionId\":\"%s\",\"bidAmount\":%" PRId64
                          "}",
                          c.index, o_.auction.c_str(), amount);
    char head[200];
    int h = std::snprintf(head, sizeof head,
                          "POST /api/bid HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                          "application/json\r\nContent-Length: %d\r\n\r\n",
                          n);
    c.out.append(head, static_cast<std::size_t>(h));
    c.out.append(body, static_cast<std::size_t>(n));
    flush(c);
  }
}

int64_t number_after(std::string_view text, std::string_view key) {
  auto p = text.find(key);
  if (p == std::string_view::npos) return -1;
  p += key.size();
  int64_t v = 0;
  bool any = false;
  while (p < text.size() && text[p] >= '0' && text[p] <= '9') {
    v = v * 10 + (text[p++] - '0');
    any = true;
  }
  return any ? v : -1;
}

void bench::on_watcher_text(conn& c, std::string_view text) {
  bool update = text.find("\"price_update\"") != std::string_view::npos;
  bool init = !update && text.find("\"init\"") != std::string_view::npos;
  if (!update && !init) return;
  int64_t price = number_after(text, "\"currentPrice\":");
  if (price < 0) return;
  c.last_price = std::max(c.last_price, price);
  if (!update) return;
  ++updates_;
  int64_t i = price - base_amount_;
  if (i >= 0 && static_cast<std::size_t>(i) < sent_at_.size()) {
    int64_t us = (mono_ns() - sent_at_[static_cast<std::size_t>(i)]) / 1000;
    lat_us_.push_back(static_cast<uint32_t>(std::max<int64_t>(0, us)));
  }
}

void bench::on_bid_answer(conn& c, bool accepted, bool too_low) {
  c.waiting = false;
  --in_flight_;
  if (accepted) {
    ++accepted_;
    max_accepted_ = std::max(max_accepted_, c.amount);
  }
  else if (too_low)
    ++refused_;
  else
    ++other_errors_;
  send_bid(c);
}

void bench::ws_frames(conn& c) {
  std::size_t i = 0;
  for (;;) {
    if (c.in.size() - i < 2) break;
    auto b0 = static_cast<unsigned char>(c.in[i]);
    auto b1 = static_cast<unsigned char>(c.in[i + 1]);
    std::size_t hl = 2;
    uint64_t len = b1 & 0x7f;
    if (len == 126) {
      if (c.in.size() - i < 4) break;
      len = (uint64_t(static_cast<unsigned char>(c.in[i + 2])) << 8) |
            static_cast<unsigned char>(c.in[i + 3]);
      hl = 4;
    } else if (len == 127) {
      if (c.in.size() - i < 10) break;
      len = 0;
      for (int k = 0; k < 8; ++k) len = (len << 8) | static_cast<unsigned char>(c.in[i + 2 + k]);
      hl = 10;
    }
    if (c.in.size() - i < hl + len) break;
    std::string_view payload(c.in.data() + i + hl, static_cast<std::size_t>(len));
    unsigned op = b0 & 0x0f;
    if (op == 0x1) {
      if (c.r == role::watcher) {
        on_watcher_text(c, payload);
      } else if (payload.find("\"accepted\"") != std::string_view::npos) {
        on_bid_answer(c, true, false);
      } else if (payload.find("\"error\"") != std::string_view::npos) {
        bool low = payload.find("bid_too_low") != std::string_view::npos;
        if (!low && first_error_.empty()) first_error_ = std::string(payload);
        on_bid_answer(c, false, low);
      }
    } else if (op == 0x9) {
      ws_send_text(c, payload, 0xA);
    } else if (op == 0x8) {
      die("the server closed a WebSocket: " + std::string(payload.substr(std::min<std::size_t>(2, payload.size()))));
    }
    i += hl + static_cast<std::size_t>(len);
  }
  c.in.erase(0, i);
}

void bench::http_replies(conn& c) {
  std::size_t i = 0;
  for (;;) {
    auto end = c.in.find("\r\n\r\n", i);
    if (end == std::string::npos) break;
    std::string_view head(c.in.data() + i, end - i);
    int64_t length = 0;
    auto cl = head.find("Content-Length: ");
    if (cl == std::string_view::npos) cl = head.find("content-length: ");
    if (cl != std::string_view::npos) length = std::atoll(head.data() + cl + 16);
    if (c.in.size() < end + 4 + static_cast<std::size_t>(length)) break;
    int status = std::atoi(head.data() + 9);
    if (status != 200 && status != 409 && first_error_.empty())
      first_error_ = std::string(c.in.data() + i, end + 4 + length - i);
    on_bid_answer(c, status == 200, status == 409);
    i = end + 4 + static_cast<std::size_t>(length);
  }
  c.in.erase(0, i);
}

void bench::on_readable(conn& c) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n == 0) die("the server closed a connection");
    if (n < 0) {
      if (errno == EAGAIN) break;
      die(std::string("recv: ") + std::strerror(errno));
    }
    c.in.append(buf, static_cast<std::size_t>(n));
  }
  if (!c.open) {
    auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (c.in.compare(0, 12, "HTTP/1.1 101") != 0) die("upgrade refused: " + c.in.substr(0, end));
    c.in.erase(0, end + 4);
    c.open = true;
  }
  if (c.r == role::http_bidder)
    http_replies(c);
  else
    ws_frames(c);
}

void bench::poll_once(int timeout_ms) {
  epoll_event evs[256];
  int n = epoll_wait(ep_, evs, 256, timeout_ms);
  for (int k = 0; k < n; ++k) {
    conn& c = conns_[evs[k].data.u64];
    if (evs[k].events & EPOLLOUT) on_writable(c);
    if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
  }
}

int bench::run() {
  ep_ = epoll_create1(0);
  conns_.reserve(static_cast<std::size_t>(o_.watchers + o_.bidders));
  // Watchers in batches of 100, each batch open before the next starts.
  for (int w = 0; w < o_.watchers; w += 100) {
    std::size_t first = conns_.size();
    for (int k = w; k < std::min(o_.watchers, w + 100); ++k) connect_one(role::watcher, k);
    int64_t deadline = mono_ns() + 10'000'000'000LL;
    for (;;) {
      bool all = true;
      for (std::size_t s = first; s < conns_.size(); ++s) all = all && conns_[s].open;
      if (all) break;
      if (mono_ns() > deadline) die("watchers did not open within 10 s");
      poll_once(10);
    }
  }
  std::size_t first_bidder = conns_.size();
  for (int b = 0; b < o_.bidders; ++b)
    connect_one(o_.mode == "http" ? role::http_bidder : role::ws_bidder, b);
  for (int64_t deadline = mono_ns() + 10'000'000'000LL;;) {
    bool all = true;
    for (std::size_t s = first_bidder; s < conns_.size(); ++s) all = all && conns_[s].open;
    if (all) break;
    if (mono_ns() > deadline) die("bidders did not open within 10 s");
    poll_once(10);
  }
  // The current price: every watcher's init carries it; bids start above it.
  for (int64_t deadline = mono_ns() + 2'000'000'000LL; mono_ns() < deadline;) poll_once(10);
  for (auto& c : conns_)
    if (c.r == role::watcher) base_amount_ = std::max(base_amount_, c.last_price + 1000);
  next_ = base_amount_;
  sent_at_.reserve(static_cast<std::size_t>(o_.seconds * 400000));

  double server_cpu0 = pids_cpu_s(o_.pids), self_cpu0 = self_cpu_s();
  double redis_cpu0 = o_.redis_pid ? proc_cpu_s(o_.redis_pid) : 0;
  int64_t t0 = mono_ns();
  bidding_ = true;
  for (std::size_t s = first_bidder; s < conns_.size(); ++s) send_bid(conns_[s]);
  const int64_t stop_at = t0 + static_cast<int64_t>(o_.seconds * 1e9);
  while (mono_ns() < stop_at) poll_once(5);
  bidding_ = false;
  double elapsed = (mono_ns() - t0) / 1e9;
  double server_cpu = pids_cpu_s(o_.pids) - server_cpu0;
  double redis_cpu = o_.redis_pid ? proc_cpu_s(o_.redis_pid) - redis_cpu0 : 0;
  double self_cpu = self_cpu_s() - self_cpu0;
  uint64_t accepted = accepted_, refused = refused_, errors = other_errors_;
  // Answers still in flight, then every watcher should reach the final price.
  for (int64_t deadline = mono_ns() + 3'000'000'000LL; in_flight_ > 0 && mono_ns() < deadline;)
    poll_once(5);
  // The last accepted amount is the final price: amounts rise, and only a higher bid wins.
  final_price_ = 0;
  int on_final = 0;
  int64_t settle_start = mono_ns();
  for (int64_t deadline = settle_start + 3'000'000'000LL; mono_ns() < deadline;) {
    poll_once(5);
    int64_t best = 0;
    for (auto& c : conns_)
      if (c.r == role::watcher) best = std::max(best, c.last_price);
    on_final = 0;
    for (auto& c : conns_)
      if (c.r == role::watcher && c.last_price == best) ++on_final;
    final_price_ = best;
    if (on_final == o_.watchers && best >= max_accepted_ &&
        mono_ns() - settle_start > 300'000'000LL)
      break;
  }
  std::sort(lat_us_.begin(), lat_us_.end());
  auto pct = [&](double p) {
    if (lat_us_.empty()) return 0.0;
    std::size_t i = std::min(lat_us_.size() - 1, static_cast<std::size_t>(p * lat_us_.size()));
    return lat_us_[i] / 1000.0;
  };
  uint64_t bids = accepted + refused + errors;
  std::printf(
      "{\"mode\":\"%s\",\"watchers\":%d,\"bidders\":%d,\"seconds\":%.2f,\"accepted\":%" PRIu64
      ",\"refused\":%" PRIu64 ",\"other_errors\":%" PRIu64
      ",\"accepted_per_s\":%.0f,\"refused_per_s\":%.0f,\"bids_per_s\":%.0f,"
      "\"price_updates\":%" PRIu64
      ",\"latency_ms\":{\"samples\":%zu,\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"max\":%.2f},"
      "\"final_price\":%" PRId64 ",\"last_bid_sent\":%" PRId64 ",\"max_accepted\":%" PRId64
      ",\"watchers_on_final\":%d,\"nodes\":%zu,\"server_cpu_s\":%.2f,\"server_cpu_us_per_bid\":%.2f,"
      "\"server_cpu_us_per_accepted\":%.2f,\"redis_cpu_s\":%.2f,\"redis_cpu_us_per_bid\":%.2f,"
      "\"redis_cpu_us_per_accepted\":%.2f,\"client_cpu_s\":%.2f,\"first_error\":\"%s\"}\n",
      o_.mode.c_str(), o_.watchers, o_.bidders, elapsed, accepted, refused, errors,
      accepted / elapsed, refused / elapsed, bids / elapsed, updates_, lat_us_.size(), pct(0.5),
      pct(0.9), pct(0.99), pct(1.0), final_price_, next_ - 1, max_accepted_, on_final,
      o_.ports.size(), server_cpu, bids ? server_cpu * 1e6 / double(bids) : 0.0,
      accepted ? server_cpu * 1e6 / double(accepted) : 0.0, redis_cpu,
      bids ? redis_cpu * 1e6 / double(bids) : 0.0,
      accepted ? redis_cpu * 1e6 / double(accepted) : 0.0, self_cpu,
      first_error_.substr(0, 80).c_str());
  for (auto& c : conns_) ::close(c.fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port" || k == "--ports") o.ports = int_list(v);
    else if (k == "--auction") o.auction = v;
    else if (k == "--watchers") o.watchers = std::atoi(v.c_str());
    else if (k == "--bidders") o.bidders = std::atoi(v.c_str());
    else if (k == "--seconds") o.seconds = std::atof(v.c_str());
    else if (k == "--mode") o.mode = v;
    else if (k == "--pid") o.pids = int_list(v);
    else if (k == "--redis-pid") o.redis_pid = std::atoi(v.c_str());
    else die("unknown option " + k);
  }
  bool ports_ok = !o.ports.empty();
  for (int p : o.ports) ports_ok = ports_ok && p > 0 && p < 65536;
  if (!ports_ok)
    die("usage: bidbench --port P[,P2,...] [--auction ID] [--watchers W] [--bidders B] "
        "[--seconds S] [--mode ws|http] [--pid SERVER_PID[,PID2,...]] [--redis-pid PID]");
  if (o.mode != "ws" && o.mode != "http") die("--mode is ws or http");
  if (o.seconds > 120) die("--seconds is at most 120");
  if (o.watchers + o.bidders > 20000) die("at most 20,000 connections");
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  return bench(o).run();
}
