// epoll_ref: a raw epoll reference server for rushcast's benchmarks (S1 and S3 compare rushcast
// with "a raw epoll server measured in the same run"). It speaks only the part of rushcast's
// protocol that bench/loadgen uses in `--target rushcast` mode:
//
//   GET  /sse-updates?topics=T   → 200 text/event-stream, "retry: 3000", then
//                                  "id: <epoch>-<seq>\nevent: <name>\ndata: <data JSON>\n\n"
//   GET  /ws (Upgrade)           → 101; the client sends {"type":"subscribe","topics":["T"]} and gets
//                                  {"type":"subscribed","topics":["T"]}; events are unmasked text
//                                  frames {"type":<name>,"topic":T,"id":..., <data's own keys>}
//   POST /api/publish            → {topic, event?, data} with "Authorization: Bearer <any key>";
//                                  200 {"id":"<epoch>-<seq>"} (keep-alive)
//   GET  /healthz                → 200 ok
//
// One topic per subscriber (the benchmarks use one). The byte layout of events is rushcast's
// (src/hub/frame.cpp): SSE without chunked encoding, WebSocket payload = type/topic/id spliced in
// front of the data object's keys.
//
// Design (what PERFORMANCE.md calls the "gathered" raw server): a publish encodes the event ONCE
// (SSE bytes and a WebSocket frame) and appends it to the topic's ring; a subscriber's output queue
// is the ring from its cursor on (plus its own control bytes: response head, subscribe reply, pong).
// After handling the events of one epoll_wait, every subscriber with pending output is flushed with
// ONE writev of up to --iov buffers (views into the shared event bytes, no copy). Partial writes
// leave a cursor + offset and wait for EPOLLOUT (edge-triggered). --no-gather instead sends each
// event to each subscriber with its own send(), for reference.
//
// A sweep over thousands of sockets takes tens of milliseconds or more, and a publisher connection
// has one request in flight: if publishes were read only between sweeps, at most one event per
// publisher connection could enter per sweep (S3 at 5,000 subscribers could not keep 50/s). So,
// as PERFORMANCE.md lesson 3 says, the sweep reads the other sockets every --yield-every writes;
// new events join the ring and the rest of the sweep gathers them. A publish is answered at once
// while its event is fewer than --ack-window events ahead of the last completed sweep, and held
// until a sweep catches up otherwise (lesson 4: do not acknowledge much faster than you deliver).
//
// Bounded: --max-conns, --max-out (bytes queued per subscriber; over it the connection is dropped),
// --max-request (HTTP head + body and WebSocket messages). Listens on 127.0.0.1 only. SIGINT/SIGTERM
// stop it; a summary of its counters goes to stderr. --threads 2 runs two workers with their own
// SO_REUSEPORT listeners; a publish is handed to the other worker through a mutex-guarded inbox and
// an eventfd, and every worker sees the events in the same order.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using json = nlohmann::json;

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "epoll_ref: %s\n", msg.c_str());
  std::exit(2);
}

// ---------------------------------------------------------------- options
struct Options {
  int port = 8070;
  int threads = 1;
  bool gather = true;
  int iov = 64;                      // buffers per writev (Asio's limit is 64; IOV_MAX is 1024)
  int max_conns = 19000;             // per process
  size_t max_out = 4u << 20;         // bytes queued per subscriber before it is dropped
  size_t max_request = 64u << 10;    // HTTP head + body, WebSocket message
  size_t max_topics = 4096;          // per worker
  int retry_ms = 3000;
  int yield_every = 256;             // writes between looks at the other sockets during a fan-out
  int ack_window = 64;               // events a publish may be ahead of the last completed sweep
};

void usage() {
  std::fprintf(stderr, R"(usage: epoll_ref [options]
  --port 8070          listen on 127.0.0.1:PORT
  --threads 1|2        workers (2: SO_REUSEPORT listeners, publishes handed across)
  --iov 64             buffers per writev when gathering (1..1024)
  --no-gather          one send() per event per subscriber instead of one writev per loop pass
  --max-conns 19000    connections in total (more are accepted and closed at once)
  --max-out 4194304    bytes queued per subscriber; a slower one is disconnected
  --max-request 65536  bytes of an HTTP request (head + body) or a WebSocket message
  --yield-every 256    during a fan-out, read the other sockets (publishes) every this many
                       writes (0: never; then at most one event per publisher connection per sweep)
  --ack-window 64      answer a publish at once while its event is fewer than this many events
                       ahead of what the last completed sweep handed to every subscriber; else
                       hold the answer until a sweep catches up (0: always hold)
  --self-test          check SHA-1/base64 against RFC 6455's example and exit
)");
  std::exit(2);
}

// ---------------------------------------------------------------- SHA-1 + base64 (handshake only)
std::array<uint8_t, 20> sha1(const std::string& s) {
  auto rol = [](uint32_t v, int n) { return (v << n) | (v >> (32 - n)); };
  uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  std::string m = s;
  const uint64_t bits = uint64_t(s.size()) * 8;
  m += char(0x80);
  while (m.size() % 64 != 56) m += char(0);
  for (int i = 7; i >= 0; --i) m += char((bits >> (8 * i)) & 0xFF);
  for (size_t off = 0; off < m.size(); off += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i)
      w[i] = (uint32_t(uint8_t(m[off + 4 * i])) << 24) | (uint32_t(uint8_t(m[off + 4 * i + 1])) << 16) |
             (uint32_t(uint8_t(m[off + 4 * i + 2])) << 8) | uint32_t(uint8_t(m[off + 4 * i + 3]));
    for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999u; }
      else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1u; }
      else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDCu; }
      else { f = b ^ c ^ d; k = 0xCA62C1D6u; }
      uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d; d = c; c = rol(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
  }
  std::array<uint8_t, 20> out{};
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 4; ++j) out[size_t(4 * i + j)] = uint8_t(h[i] >> (24 - 8 * j));
  return out;
}

std::string base64(const uint8_t* p, size_t n) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string r;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = uint32_t(p[i]) << 16;
    if (i + 1 < n) v |= uint32_t(p[i + 1]) << 8;
    if (i + 2 < n) v |= p[i + 2];
    r += t[(v >> 18) & 63];
    r += t[(v >> 12) & 63];
    r += i + 1 < n ? t[(v >> 6) & 63] : '=';
    r += i + 2 < n ? t[v & 63] : '=';
  }
  return r;
}

std::string ws_accept(const std::string& key) {
  auto d = sha1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  return base64(d.data(), d.size());
}

std::string ws_header(uint8_t opcode, size_t n) {
  std::string h;
  h += char(0x80 | opcode);
  if (n <= 125) {
    h += char(n);
  } else if (n <= 0xFFFF) {
    h += char(126);
    h += char((n >> 8) & 0xFF);
    h += char(n & 0xFF);
  } else {
    h += char(127);
    for (int s = 56; s >= 0; s -= 8) h += char((uint64_t(n) >> s) & 0xFF);
  }
  return h;
}
std::string ws_text(const std::string& payload) { return ws_header(1, payload.size()) + payload; }

// ---------------------------------------------------------------- small HTTP helpers
std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = char(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string r;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      r += char(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else if (s[i] == '+') {
      r += ' ';
    } else {
      r += s[i];
    }
  }
  return r;
}

// Value of query parameter `name` in "a=1&b=2" (empty if absent).
std::string query_param(std::string_view q, std::string_view name) {
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    size_t eq = kv.find('=');
    if (kv.substr(0, eq) == name) return eq == std::string_view::npos ? std::string() : url_decode(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return {};
}

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F) return false;
  return true;
}

std::string http_response(int status, const char* reason, const std::string& body, bool close,
                          const char* ctype = "application/json") {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + ctype +
                  "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (close) r += "Connection: close\r\n";
  r += "\r\n";
  r += body;
  return r;
}

std::string error_body(const char* code, const std::string& msg) {
  return json{{"error", code}, {"message", msg}}.dump();
}

// ---------------------------------------------------------------- events, topics, connections
struct Event {
  std::string topic;
  std::string sse;  // "id: ..\nevent: ..\ndata: ..\n\n"
  std::string ws;   // unmasked text frame
};
using EventPtr = std::shared_ptr<const Event>;

struct Topic;

struct Conn {
  int fd = -1;
  enum Kind : uint8_t { kHttp, kSse, kWs } kind = kHttp;
  bool dead = false;
  bool blocked = false;      // a write came back short or EAGAIN: wait for EPOLLOUT
  bool queued = false;       // in the worker's pending list
  bool close_after = false;  // close once `out` is written (HTTP Connection: close, errors)
  std::string in;            // request bytes / WebSocket frames from the client
  std::string out;           // control bytes (responses, head, replies, pongs), before the next event
  size_t out_off = 0;
  Topic* topic = nullptr;
  size_t topic_idx = 0;
  uint64_t cursor = 0;  // next event (topic sequence) to write
  size_t cur_off = 0;   // bytes of that event already written
  uint64_t flushed_pass = 0;
  struct Held {
    uint64_t seq;  // topic sequence of the published event (0: only behind the answers before it)
    std::string resp;
    bool close;
  };
  std::deque<Held> held;  // publish answers waiting for the fan-out to catch up (see --ack-window)
  Topic* held_topic = nullptr;
};

struct Entry {
  EventPtr ev;
  uint64_t cum_sse, cum_ws;  // bytes of the topic's stream before this event
};

struct Topic {
  std::string name;
  std::deque<Entry> ring;
  uint64_t base = 0;  // sequence of ring.front()
  uint64_t tot_sse = 0, tot_ws = 0;
  std::vector<Conn*> subs;
  bool dirty = false;
  size_t trim_at = 256;
  uint64_t swept_to = 0;       // the last completed sweep handed events before this to every subscriber
  std::vector<Conn*> holders;  // publisher connections with held answers
  uint64_t head() const { return base + ring.size(); }
  const Entry& at(uint64_t seq) const { return ring[size_t(seq - base)]; }
};

struct Stats {
  uint64_t accepted = 0, rejected = 0, published = 0, deliveries = 0, writes = 0, bytes_out = 0,
           slow_drops = 0, bad_requests = 0, max_conns_seen = 0, held_acks = 0, yields = 0;
};

class Worker;

struct Shared {
  Options opt;
  std::mutex mu;  // publish order + inboxes (only with --threads > 1)
  uint64_t seq = 0;
  std::string epoch;
  std::vector<Worker*> workers;
  std::atomic<int> conns{0};
};

class Worker {
 public:
  Worker(Shared& sh, int index) : sh_(sh), o_(sh.opt), index_(index) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die("epoll_create1 failed");
    lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd_ < 0) die("socket failed");
    int one = 1;
    setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (o_.threads > 1 && setsockopt(lfd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      die("SO_REUSEPORT failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(o_.port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      die("bind 127.0.0.1:" + std::to_string(o_.port) + ": " + std::strerror(errno));
    if (listen(lfd_, 4096) != 0) die("listen failed");
    efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd_ < 0) die("eventfd failed");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &lfd_;
    epoll_ctl(ep_, EPOLL_CTL_ADD, lfd_, &ev);
    ev.data.ptr = &efd_;
    epoll_ctl(ep_, EPOLL_CTL_ADD, efd_, &ev);
    iov_.resize(size_t(std::max(o_.iov, 1)));
    seg_.resize(iov_.size());
  }

  void run() {
    std::vector<epoll_event> evs(1024);
    while (!g_stop) {
      int n = epoll_wait(ep_, evs.data(), int(evs.size()), pending_.empty() && dirty_.empty() ? 200 : 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        die(std::string("epoll_wait: ") + std::strerror(errno));
      }
      ++pass_;
      for (int i = 0; i < n; ++i) handle(evs[size_t(i)]);
      flush_all();
      bury();
      trim_topics();
    }
    for (auto& [name, t] : topics_)
      for (Conn* c : t->subs) c->topic = nullptr;
    for (Conn* c : all_) {
      if (!c->dead) close(c->fd);
      delete c;
    }
    all_.clear();
    close(lfd_);
  }

  const Stats& stats() const { return st_; }

  void handle(const epoll_event& ev) {
    void* p = ev.data.ptr;
    if (p == &lfd_) return accept_some();
    if (p == &efd_) return take_inbox();
    Conn* c = static_cast<Conn*>(p);
    if (c->dead) return;
    if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
    if (!c->dead && (ev.events & EPOLLOUT) && c->blocked) {
      c->blocked = false;
      mark_pending(c);
    }
  }

  // Called with sh_.mu held by another worker's publish.
  void post(const EventPtr& ev) {
    bool was_empty = inbox_.empty();
    inbox_.push_back(ev);
    if (was_empty) {
      uint64_t one = 1;
      ssize_t w = write(efd_, &one, sizeof one);
      (void)w;
    }
  }

 private:
  // ------------------------------------------------------------ accept / read
  void accept_some() {
    for (int k = 0; k < 512; ++k) {
      int fd = accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or EMFILE & co: retried on the next readiness
      if (sh_.conns.fetch_add(1) >= o_.max_conns) {
        sh_.conns.fetch_sub(1);
        ++st_.rejected;
        close(fd);
        continue;
      }
      ++st_.accepted;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      Conn* c = new Conn;
      c->fd = fd;
      all_.push_back(c);
      c->flushed_pass = 0;
      idx_[c] = all_.size() - 1;
      st_.max_conns_seen = std::max<uint64_t>(st_.max_conns_seen, all_.size());
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.ptr = c;
      if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) close_conn(c);
    }
  }

  void on_readable(Conn* c) {
    char buf[65536];
    for (;;) {
      ssize_t r = recv(c->fd, buf, sizeof buf, 0);
      if (r == 0) { close_conn(c); return; }
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) close_conn(c);
        return;
      }
      if (c->kind == Conn::kSse) continue;  // an SSE client has nothing to say
      c->in.append(buf, size_t(r));
      if (c->kind == Conn::kHttp) process_http(c);
      else process_ws(c);
      if (c->dead) return;
      if (c->in.size() > o_.max_request + 16) {  // more than one request/message could take
        ++st_.bad_requests;
        close_conn(c);
        return;
      }
      if (size_t(r) < sizeof buf) return;  // drained (edge-triggered: a short read means empty)
    }
  }

  // ------------------------------------------------------------ HTTP
  void reply(Conn* c, std::string resp, bool close_after) {
    if (!c->held.empty()) {  // answers go out in request order
      c->held.push_back(Conn::Held{0, std::move(resp), close_after});
      return;
    }
    c->out += resp;
    if (close_after) c->close_after = true;
    mark_pending(c);
  }

  void bad(Conn* c, int status, const char* reason, const char* code, const std::string& msg) {
    ++st_.bad_requests;
    reply(c, http_response(status, reason, error_body(code, msg), true), true);
    c->in.clear();
  }

  void process_http(Conn* c) {
    while (c->kind == Conn::kHttp && !c->dead && !c->close_after) {
      size_t he = c->in.find("\r\n\r\n");
      if (he == std::string::npos) {
        if (c->in.size() > 8192) bad(c, 431, "Request Header Fields Too Large", "bad_request", "head too large");
        return;
      }
      const size_t hl = he + 4;
      std::string_view head(c->in.data(), he);
      size_t le = head.find("\r\n");
      std::string_view line = head.substr(0, le);
      size_t s1 = line.find(' '), s2 = line.rfind(' ');
      if (s1 == std::string_view::npos || s2 == s1) return bad(c, 400, "Bad Request", "bad_request", "request line");
      std::string method(line.substr(0, s1));
      std::string target(line.substr(s1 + 1, s2 - s1 - 1));
      std::string version(line.substr(s2 + 1));
      long clen = 0;
      bool conn_close = version == "HTTP/1.0", upgrade_ws = false, chunked = false;
      std::string ws_key, auth;
      size_t pos = le == std::string_view::npos ? head.size() : le + 2;
      while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string_view::npos) e = head.size();
        std::string_view h = head.substr(pos, e - pos);
        pos = e + 2;
        size_t colon = h.find(':');
        if (colon == std::string_view::npos) continue;
        std::string name = lower(h.substr(0, colon));
        std::string_view v = h.substr(colon + 1);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        if (name == "content-length") clen = std::atol(std::string(v).c_str());
        else if (name == "connection") {
          std::string lv = lower(v);
          if (lv.find("close") != std::string::npos) conn_close = true;
          if (lv.find("keep-alive") != std::string::npos) conn_close = false;
        } else if (name == "upgrade") upgrade_ws = lower(v) == "websocket";
        else if (name == "sec-websocket-key") ws_key = std::string(v);
        else if (name == "authorization") auth = std::string(v);
        else if (name == "transfer-encoding") chunked = true;
      }
      if (chunked) return bad(c, 411, "Length Required", "bad_request", "send Content-Length");
      if (clen < 0 || hl + size_t(clen) > o_.max_request)
        return bad(c, 413, "Payload Too Large", "bad_request", "request too large");
      if (c->in.size() < hl + size_t(clen)) return;  // body incomplete
      std::string body = c->in.substr(hl, size_t(clen));
      c->in.erase(0, hl + size_t(clen));

      std::string path = target, query;
      if (size_t q = target.find('?'); q != std::string::npos) {
        path = target.substr(0, q);
        query = target.substr(q + 1);
      }
      if (method == "POST" && path == "/api/publish") {
        do_publish(c, auth, body, conn_close);
      } else if (method == "GET" && path == "/sse-updates") {
        std::string topic = query_param(query, "topics");
        if (!valid_name(topic) || topic.find(',') != std::string::npos)
          return bad(c, 400, "Bad Request", "bad_request", "exactly one topic in ?topics=");
        Topic* t = topic_for(topic);
        if (!t) return bad(c, 503, "Service Unavailable", "unavailable", "too many topics");
        c->kind = Conn::kSse;
        std::string().swap(c->in);
        c->out +=
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            "X-Accel-Buffering: no\r\nConnection: keep-alive\r\n\r\nretry: " +
            std::to_string(o_.retry_ms) + "\n\n";
        subscribe(c, t);
        mark_pending(c);
        return;
      } else if (method == "GET" && path == "/ws") {
        if (!upgrade_ws || ws_key.empty())
          return bad(c, 400, "Bad Request", "bad_request", "WebSocket upgrade expected");
        c->kind = Conn::kWs;
        c->out += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: " + ws_accept(ws_key) + "\r\n\r\n";
        mark_pending(c);
        process_ws(c);  // frames that came with the request
        return;
      } else if (method == "GET" && (path == "/healthz" || path == "/readyz")) {
        reply(c, http_response(200, "OK", "ok\n", conn_close, "text/plain"), conn_close);
      } else {
        ++st_.bad_requests;
        reply(c, http_response(404, "Not Found", error_body("not_found", "no such endpoint"), conn_close),
              conn_close);
      }
    }
  }

  void do_publish(Conn* c, const std::string& auth, const std::string& body, bool conn_close) {
    if (auth.rfind("Bearer ", 0) != 0 || auth.size() <= 7) {
      ++st_.bad_requests;
      return reply(c, http_response(401, "Unauthorized", error_body("unauthorized", "Bearer key required"),
                                    conn_close),
                   conn_close);
    }
    json j = json::parse(body, nullptr, false);
    std::string why;
    if (j.is_discarded() || !j.is_object()) why = "body must be a JSON object";
    else if (!j.contains("topic") || !j["topic"].is_string() || !valid_name(j["topic"].get<std::string>()))
      why = "bad topic";
    else if (j.contains("event") && (!j["event"].is_string() || !valid_name(j["event"].get<std::string>())))
      why = "bad event";
    else if (!j.contains("data") || !j["data"].is_object()) why = "data must be an object";
    if (!why.empty()) {
      ++st_.bad_requests;
      return reply(c, http_response(400, "Bad Request", error_body("bad_request", why), conn_close), conn_close);
    }
    std::string topic = j["topic"].get<std::string>();
    std::string name = j.contains("event") ? j["event"].get<std::string>() : "message";
    std::string data = j["data"].dump(-1, ' ', false, json::error_handler_t::replace);
    Topic* t = nullptr;
    uint64_t seq = 0;
    std::string id = publish(topic, name, data, t, seq);
    ++st_.published;
    std::string resp = http_response(200, "OK", "{\"id\":\"" + id + "\"}", conn_close);
    if (!t || !c->held.empty() || seq < t->swept_to + uint64_t(o_.ack_window)) return reply(c, std::move(resp), conn_close);
    // Too far ahead of the fan-out: the answer waits for a sweep (do not acknowledge much faster
    // than we deliver; PERFORMANCE.md lesson 4).
    ++st_.held_acks;
    c->held.push_back(Conn::Held{seq, std::move(resp), conn_close});
    c->held_topic = t;
    t->holders.push_back(c);
  }

  // After a completed sweep of t: answers whose event is now within the window go out.
  void release(Topic* t) {
    if (t->holders.empty()) return;
    std::vector<Conn*> hs;
    hs.swap(t->holders);
    for (Conn* c : hs) {
      while (!c->held.empty() && (c->held.front().seq == 0 || c->held.front().seq < t->swept_to + uint64_t(o_.ack_window))) {
        c->out += c->held.front().resp;
        if (c->held.front().close) c->close_after = true;
        c->held.pop_front();
        mark_pending(c);
      }
      if (c->held.empty()) c->held_topic = nullptr;
      else t->holders.push_back(c);
    }
  }

  // Encodes once; appends to this worker's topic and hands the same bytes to the other workers.
  // Sets t/seq to this worker's topic and the event's place in it (t = nullptr: no subscriber here).
  std::string publish(const std::string& topic, const std::string& name, const std::string& data, Topic*& t,
                      uint64_t& seq) {
    auto ev = std::make_shared<Event>();
    ev->topic = topic;
    std::unique_lock<std::mutex> lk(sh_.mu, std::defer_lock);
    if (sh_.workers.size() > 1) lk.lock();
    std::string id = sh_.epoch + "-" + std::to_string(++sh_.seq);
    ev->sse.reserve(data.size() + id.size() + name.size() + 24);
    ev->sse += "id: " + id + "\nevent: " + name + "\ndata: " + data + "\n\n";
    std::string p = "{\"type\":" + json(name).dump() + ",\"topic\":" + json(topic).dump() + ",\"id\":\"" + id + "\"";
    if (data.size() > 2) p += "," + data.substr(1);  // data's own keys after type/topic/id
    else p += "}";
    ev->ws = ws_text(p);
    EventPtr e = std::move(ev);
    if (lk.owns_lock()) {
      drain_inbox_locked();  // keep the order every worker sees
      for (Worker* w : sh_.workers)
        if (w != this) w->post(e);
    }
    t = deliver(e);
    if (t) seq = t->head() - 1;
    return id;
  }

  void take_inbox() {
    uint64_t v;
    ssize_t r = read(efd_, &v, sizeof v);
    (void)r;
    std::lock_guard<std::mutex> lk(sh_.mu);
    drain_inbox_locked();
  }
  void drain_inbox_locked() {
    for (auto& e : inbox_) deliver(e);
    inbox_.clear();
  }

  Topic* deliver(const EventPtr& e) {
    auto it = topics_.find(e->topic);
    if (it == topics_.end()) return nullptr;
    Topic* t = it->second.get();
    if (t->subs.empty()) return nullptr;
    t->ring.push_back(Entry{e, t->tot_sse, t->tot_ws});
    t->tot_sse += e->sse.size();
    t->tot_ws += e->ws.size();
    if (!t->dirty) {
      t->dirty = true;
      dirty_.push_back(t);
    }
    return t;
  }

  // ------------------------------------------------------------ WebSocket (client → server)
  void process_ws(Conn* c) {
    size_t i = 0;
    const std::string& in = c->in;
    while (!c->dead && in.size() - i >= 2) {
      const uint8_t b0 = uint8_t(in[i]), b1 = uint8_t(in[i + 1]);
      const bool fin = b0 & 0x80, masked = b1 & 0x80;
      const int op = b0 & 0x0F;
      uint64_t len = b1 & 0x7F;
      size_t hl = 2;
      if (len == 126) {
        if (in.size() - i < 4) break;
        len = (uint64_t(uint8_t(in[i + 2])) << 8) | uint8_t(in[i + 3]);
        hl = 4;
      } else if (len == 127) {
        if (in.size() - i < 10) break;
        len = 0;
        for (int k = 0; k < 8; ++k) len = (len << 8) | uint8_t(in[i + 2 + size_t(k)]);
        hl = 10;
      }
      if (len > o_.max_request) { ws_close(c, 1009); return; }
      const size_t mk = hl;
      if (masked) hl += 4;
      if (in.size() - i < hl + len) break;
      std::string pl = in.substr(i + hl, size_t(len));
      if (masked)
        for (size_t k = 0; k < pl.size(); ++k) pl[k] = char(pl[k] ^ in[i + mk + (k & 3)]);
      i += hl + size_t(len);
      if (!fin || op == 0x0) { ws_close(c, 1003); return; }  // fragmented messages: not needed here
      if (op == 0x8) { ws_close(c, 1000); return; }
      if (op == 0x9) { c->out += ws_header(0xA, pl.size()) + pl; mark_pending(c); continue; }
      if (op == 0xA) continue;
      if (op == 0x1 || op == 0x2) on_ws_message(c, pl);
    }
    if (!c->dead) c->in.erase(0, i);
  }

  void ws_send_json(Conn* c, const json& j) {
    c->out += ws_text(j.dump(-1, ' ', false, json::error_handler_t::replace));
    mark_pending(c);
  }

  void on_ws_message(Conn* c, const std::string& msg) {
    json j = json::parse(msg, nullptr, false);
    std::string type = j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "";
    auto error = [&](const char* code, const std::string& m) {
      ws_send_json(c, json{{"type", "error"}, {"code", code}, {"message", m}});
    };
    if (type == "subscribe") {
      auto it = j.find("topics");
      if (it == j.end() || !it->is_array() || it->size() != 1 || !(*it)[0].is_string() ||
          !valid_name((*it)[0].get<std::string>()))
        return error("bad_request", "\"topics\" must hold exactly one topic here");
      if (c->topic) return error("bad_request", "already subscribed (one topic per connection here)");
      Topic* t = topic_for((*it)[0].get<std::string>());
      if (!t) return error("unavailable", "too many topics");
      // The reply goes into `out` while the cursor is at the topic's head: it precedes every event.
      ws_send_json(c, json{{"type", "subscribed"}, {"topics", *it}});
      subscribe(c, t);
    } else if (type == "ping") {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
      ws_send_json(c, json{{"type", "pong"}, {"serverTime", ms}});
    } else {
      error("bad_request", "unsupported message type");
    }
  }

  void ws_close(Conn* c, uint16_t code) {
    // Best effort, only at a frame boundary; the connection is closed right after.
    if (c->cur_off == 0 && c->out_off == 0) {
      std::string f = ws_header(0x8, 2);
      f += char(code >> 8);
      f += char(code & 0xFF);
      ssize_t w = send(c->fd, f.data(), f.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)w;
    }
    close_conn(c);
  }

  // ------------------------------------------------------------ topics
  Topic* topic_for(const std::string& name) {
    auto it = topics_.find(name);
    if (it != topics_.end()) return it->second.get();
    if (topics_.size() >= o_.max_topics) return nullptr;
    auto t = std::make_unique<Topic>();
    t->name = name;
    Topic* p = t.get();
    topics_.emplace(name, std::move(t));
    return p;
  }

  void subscribe(Conn* c, Topic* t) {
    if (t->subs.empty()) {  // nobody holds the old events
      t->base = t->head();
      t->ring.clear();
      t->swept_to = t->head();
    }
    c->topic = t;
    c->topic_idx = t->subs.size();
    t->subs.push_back(c);
    c->cursor = t->head();
    c->cur_off = 0;
  }

  // ------------------------------------------------------------ writing
  void mark_pending(Conn* c) {
    if (c->queued || c->dead) return;
    c->queued = true;
    pending_.push_back(c);
  }

  // The fan-out: one sweep over the subscribers of each topic with new events. Every
  // --yield-every writes it looks at the other sockets (publishes come in and are appended to the
  // ring, so later subscribers of this sweep gather them; answers within --ack-window go out),
  // then goes on. Then the other connections with output (answers, heads, unblocked sockets).
  void flush_all() {
    std::vector<Topic*> topics;
    topics.swap(dirty_);
    for (Topic* t : topics) {
      t->dirty = false;
      const uint64_t start = t->head();
      for (size_t i = 0; i < t->subs.size(); ++i) {
        Conn* c = t->subs[i];
        if (!c->dead && !c->blocked) flush(c);
        if (o_.yield_every > 0 && st_.writes - writes_at_yield_ >= uint64_t(o_.yield_every)) {
          writes_at_yield_ = st_.writes;
          yield_now();
        }
      }
      t->swept_to = std::max(t->swept_to, start);
      release(t);
    }
    flush_pending();
  }

  void flush_pending() {
    std::vector<Conn*> list;
    list.swap(pending_);
    for (Conn* c : list) {
      c->queued = false;
      if (!c->dead && !c->blocked) flush(c);
    }
  }

  void yield_now() {
    ++st_.yields;
    epoll_event evs[256];
    int n = epoll_wait(ep_, evs, 256, 0);
    for (int i = 0; i < n; ++i) handle(evs[i]);
    flush_pending();
  }

  enum SegKind : uint8_t { kOut, kEvent };

  void flush(Conn* c) {
    if (c->kind != Conn::kHttp) {  // one write per subscriber per loop pass; the rest next pass
      if (c->flushed_pass == pass_) {
        if (has_pending(c)) mark_pending(c);
        return;
      }
      c->flushed_pass = pass_;
    }
    Topic* t = c->topic;
    const bool ws = c->kind == Conn::kWs;
    const uint64_t head = t ? t->head() : 0;
    const size_t out_left = c->out.size() - c->out_off;
    // Bound the queue: bytes this subscriber is behind.
    size_t backlog = out_left;
    if (t && c->cursor < head) {
      const Entry& e = t->at(c->cursor);
      backlog += size_t((ws ? t->tot_ws - e.cum_ws : t->tot_sse - e.cum_sse) - c->cur_off);
    }
    if (backlog > o_.max_out) {
      ++st_.slow_drops;
      close_conn(c);
      return;
    }
    // Segments in stream order: the rest of a half-written event, the control bytes, more events.
    const size_t max = o_.gather ? iov_.size() : std::min<size_t>(iov_.size(), 1024);
    size_t n = 0;
    uint64_t s = c->cursor;
    auto add_event = [&](uint64_t seq, size_t off) {
      const std::string& b = ws ? t->at(seq).ev->ws : t->at(seq).ev->sse;
      iov_[n].iov_base = const_cast<char*>(b.data() + off);
      iov_[n].iov_len = b.size() - off;
      seg_[n++] = kEvent;
    };
    if (t && c->cur_off > 0 && s < head) add_event(s++, c->cur_off);
    if (out_left > 0) {
      iov_[n].iov_base = c->out.data() + c->out_off;
      iov_[n].iov_len = out_left;
      seg_[n++] = kOut;
    }
    while (t && s < head && n < max) add_event(s++, 0);
    if (n == 0) return;

    if (o_.gather) {
      size_t want = 0;
      for (size_t i = 0; i < n; ++i) want += iov_[i].iov_len;
      ssize_t r = writev(c->fd, iov_.data(), int(n));
      ++st_.writes;
      if (!wrote(c, r, iov_.data(), seg_.data(), n, want)) return;
    } else {
      for (size_t i = 0; i < n; ++i) {  // one send per segment (per event)
        ssize_t r = send(c->fd, iov_[i].iov_base, iov_[i].iov_len, MSG_NOSIGNAL);
        ++st_.writes;
        if (!wrote(c, r, &iov_[i], &seg_[i], 1, iov_[i].iov_len) || c->blocked) return;
      }
    }
    if (!c->dead && !c->blocked && has_pending(c)) mark_pending(c);  // more than one write could take
  }

  bool has_pending(const Conn* c) const {
    return c->out.size() > c->out_off || (c->topic && c->cursor < c->topic->head());
  }

  // Accounts r bytes written over segments iv[0, n). Returns false if the connection is gone.
  bool wrote(Conn* c, ssize_t r, const iovec* iv, const SegKind* sk, size_t n, size_t want) {
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) { c->blocked = true; return true; }
      if (errno == EINTR) { mark_pending(c); return true; }
      close_conn(c);
      return false;
    }
    st_.bytes_out += uint64_t(r);
    size_t left = size_t(r);
    for (size_t i = 0; i < n; ++i) {
      size_t len = iv[i].iov_len;
      if (left >= len) {
        left -= len;
        if (sk[i] == kOut) {
          c->out.clear();
          c->out_off = 0;
        } else {
          ++c->cursor;
          c->cur_off = 0;
          ++st_.deliveries;
        }
      } else {
        if (sk[i] == kOut) c->out_off += left;
        else c->cur_off += left;
        break;
      }
    }
    if (size_t(r) < want) c->blocked = true;  // the socket buffer is full: EPOLLOUT will tell
    if (c->close_after && c->out.empty() && c->kind == Conn::kHttp) {
      close_conn(c);
      return false;
    }
    if (c->out.capacity() > 4096 && c->out.empty()) std::string().swap(c->out);
    return true;
  }

  // ------------------------------------------------------------ closing and trimming
  void close_conn(Conn* c) {
    if (c->dead) return;
    c->dead = true;
    close(c->fd);  // also leaves the epoll set
    sh_.conns.fetch_sub(1);
    std::string().swap(c->in);
    std::string().swap(c->out);
    graveyard_.push_back(c);
  }

  // Dead connections leave their topic and are freed only after the pass that closed them, so no
  // pointer held by this pass (epoll events, lists) dangles.
  void bury() {
    for (Conn* c : graveyard_) {
      if (Topic* t = c->held_topic) {
        t->holders.erase(std::remove(t->holders.begin(), t->holders.end(), c), t->holders.end());
        c->held_topic = nullptr;
      }
      if (Topic* t = c->topic) {
        Conn* last = t->subs.back();
        t->subs[c->topic_idx] = last;
        last->topic_idx = c->topic_idx;
        t->subs.pop_back();
        c->topic = nullptr;
      }
      size_t i = idx_[c];
      all_[i] = all_.back();
      idx_[all_[i]] = i;
      all_.pop_back();
      idx_.erase(c);
    }
    if (graveyard_.empty()) return;
    // pending_ may still name them: drop those entries before freeing
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(), [](Conn* c) { return c->dead; }),
                   pending_.end());
    for (Conn* c : graveyard_) delete c;
    graveyard_.clear();
  }

  // Drops events every subscriber has written; disconnects subscribers over --max-out (also the
  // blocked ones the fan-out skips).
  void trim_topics() {
    for (auto& [name, tp] : topics_) {
      Topic* t = tp.get();
      if (t->ring.empty()) continue;
      if (t->subs.empty()) {
        t->base = t->head();
        t->ring.clear();
        continue;
      }
      if (t->ring.size() < t->trim_at) continue;
      uint64_t low = t->head();
      for (Conn* c : t->subs) {
        if (c->dead) continue;
        if (c->cursor < t->head()) {
          const Entry& e = t->at(c->cursor);
          uint64_t behind = (c->kind == Conn::kWs ? t->tot_ws - e.cum_ws : t->tot_sse - e.cum_sse) - c->cur_off;
          if (behind > o_.max_out) {
            ++st_.slow_drops;
            close_conn(c);
            continue;
          }
        }
        low = std::min(low, c->cursor);
      }
      while (t->base < low) {
        t->ring.pop_front();
        ++t->base;
      }
      t->trim_at = std::max<size_t>(256, t->ring.size() * 2);
    }
    bury();
  }

  Shared& sh_;
  const Options& o_;
  int index_;
  int ep_ = -1, lfd_ = -1, efd_ = -1;
  uint64_t pass_ = 0;
  uint64_t writes_at_yield_ = 0;
  std::vector<Conn*> all_;
  std::unordered_map<Conn*, size_t> idx_;
  std::unordered_map<std::string, std::unique_ptr<Topic>> topics_;
  std::vector<Topic*> dirty_;
  std::vector<Conn*> pending_, graveyard_;
  std::vector<EventPtr> inbox_;  // guarded by sh_.mu
  std::vector<iovec> iov_;
  std::vector<SegKind> seg_;
  Stats st_;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--no-gather") { o.gather = false; continue; }
    if (a == "--gather") { o.gather = true; continue; }
    if (a == "--self-test") {
      std::string got = ws_accept("dGhlIHNhbXBsZSBub25jZQ==");
      bool ok = got == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
      auto e = sha1("");
      ok = ok && base64(e.data(), e.size()) == "2jmj7l5rSw0yVb/vlWAYkK/YBwk=";
      std::printf("self-test %s (%s)\n", ok ? "ok" : "FAILED", got.c_str());
      std::exit(ok ? 0 : 1);
    }
    if (a == "-h" || a == "--help") usage();
    if (i + 1 >= argc) usage();
    char* end = nullptr;
    long v = std::strtol(argv[++i], &end, 10);
    if (!end || *end) die("bad number for " + a);
    if (a == "--port" && v > 0 && v < 65536) o.port = int(v);
    else if (a == "--threads" && v >= 1 && v <= 2) o.threads = int(v);
    else if (a == "--iov" && v >= 1 && v <= 1024) o.iov = int(v);
    else if (a == "--max-conns" && v >= 1 && v <= 1000000) o.max_conns = int(v);
    else if (a == "--max-out" && v >= 4096) o.max_out = size_t(v);
    else if (a == "--max-request" && v >= 1024 && v <= (64 << 20)) o.max_request = size_t(v);
    else if (a == "--yield-every" && v >= 0) o.yield_every = int(v);
    else if (a == "--ack-window" && v >= 0) o.ack_window = int(v);
    else die("bad option or value: " + a + " " + argv[i]);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Shared sh;
  sh.opt = parse(argc, argv);
  const Options& o = sh.opt;
  sh.epoch = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count());
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa{};
  sa.sa_handler = on_signal;  // no SA_RESTART: epoll_wait returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rlim_t(o.max_conns) + 64 > rl.rlim_cur)
      std::fprintf(stderr, "epoll_ref: warning: --max-conns %d is above the fd limit %llu\n", o.max_conns,
                   static_cast<unsigned long long>(rl.rlim_cur));
  }
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < o.threads; ++i) workers.push_back(std::make_unique<Worker>(sh, i));
  for (auto& w : workers) sh.workers.push_back(w.get());
  std::fprintf(stderr, "epoll_ref: listening on 127.0.0.1:%d threads=%d %s iov=%d yield_every=%d ack_window=%d "
               "max_conns=%d max_out=%zu pid=%d\n",
               o.port, o.threads, o.gather ? "gather" : "no-gather", o.iov, o.yield_every, o.ack_window,
               o.max_conns, o.max_out, int(getpid()));
  std::vector<std::thread> ts;
  for (size_t i = 1; i < workers.size(); ++i) ts.emplace_back([&w = *workers[i]] { w.run(); });
  workers[0]->run();
  for (auto& t : ts) t.join();
  Stats s;
  for (auto& w : workers) {
    const Stats& x = w->stats();
    s.accepted += x.accepted; s.rejected += x.rejected; s.published += x.published;
    s.deliveries += x.deliveries; s.writes += x.writes; s.bytes_out += x.bytes_out;
    s.slow_drops += x.slow_drops; s.bad_requests += x.bad_requests; s.max_conns_seen += x.max_conns_seen;
    s.held_acks += x.held_acks; s.yields += x.yields;
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::fprintf(stderr,
               "epoll_ref: exit accepted=%" PRIu64 " rejected=%" PRIu64 " published=%" PRIu64
               " deliveries=%" PRIu64 " writes=%" PRIu64 " deliveries_per_write=%.1f bytes_out=%" PRIu64
               " slow_drops=%" PRIu64 " bad_requests=%" PRIu64 " held_acks=%" PRIu64 " yields=%" PRIu64 " cpu_user_s=%.2f cpu_sys_s=%.2f max_rss_kb=%ld\n",
               s.accepted, s.rejected, s.published, s.deliveries, s.writes,
               s.writes ? double(s.deliveries) / double(s.writes) : 0.0, s.bytes_out, s.slow_drops,
               s.bad_requests, s.held_acks, s.yields, double(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6,
               double(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
  return 0;
}
