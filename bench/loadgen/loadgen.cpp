// rushcast-loadgen: a small, single-threaded epoll load generator for push servers.
//
// Modes
//   sub   N subscriber connections (SSE or WebSocket), counts events, latency from "ts" in the payload
//   pub   P keep-alive publisher connections (POST), as fast as possible or at a fixed rate
//   idle  N idle subscriber connections held for S seconds (memory measurement)
//   merge combine the JSON summaries of several `sub` processes into one
//
// Targets: `rushcast` (GET /sse-updates?topics=T, WS /ws + {"type":"subscribe"}, POST /api/publish)
//          `nchan`    (GET /sub/T with Accept: text/event-stream, WS /sub/T, POST /pub/T)
//
// Only talks to the address given by --host (default 127.0.0.1). Every run is bounded by a
// connection count and a timeout and exits by itself. Summaries are JSON on stdout.
//
// Latency: the publisher puts "ts":<ns since epoch, CLOCK_REALTIME> into the event's data; the
// subscriber subtracts it from its own CLOCK_REALTIME when the bytes are read (one clock read per
// recv() call). Histogram: log-linear, 64 sub-buckets per power of two (<= 1.6 % error), in µs.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

using json = nlohmann::json;

namespace {

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_pub_done = 0;  // SIGUSR1: the publisher has finished (sub mode)
void on_signal(int) { g_stop = 1; }
void on_usr1(int) { g_pub_done = 1; }

int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}
int64_t real_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "loadgen: %s\n", msg.c_str());
  std::exit(2);
}

// ---------------------------------------------------------------- histogram (values in µs)
struct Hist {
  static constexpr int kSub = 64;  // sub-buckets per power of two
  std::vector<uint64_t> b = std::vector<uint64_t>(64 * 48, 0);
  uint64_t n = 0, max = 0;
  long double sum = 0;

  static size_t index(uint64_t v) {
    if (v < 128) return size_t(v);
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - 6;
    return size_t(kSub) * shift + size_t(v >> shift);
  }
  static uint64_t lower(size_t idx) {
    if (idx < 128) return idx;
    size_t shift = idx / kSub - 1;
    uint64_t mant = idx - kSub * shift;
    return mant << shift;
  }
  static uint64_t upper(size_t idx) { return lower(idx + 1) - 1; }

  void add(uint64_t v) {
    size_t i = index(v);
    if (i >= b.size()) i = b.size() - 1;
    ++b[i];
    ++n;
    sum += v;
    if (v > max) max = v;
  }
  // Value at quantile q (0..1): midpoint of the bucket, clamped to max.
  double quantile(double q) const {
    if (n == 0) return 0;
    uint64_t rank = uint64_t(std::ceil(q * double(n)));
    if (rank < 1) rank = 1;
    uint64_t acc = 0;
    for (size_t i = 0; i < b.size(); ++i) {
      acc += b[i];
      if (acc >= rank) {
        double mid = (double(lower(i)) + double(upper(i))) / 2.0;
        return std::min(mid, double(max));
      }
    }
    return double(max);
  }
  json sparse() const {
    json a = json::array();
    for (size_t i = 0; i < b.size(); ++i)
      if (b[i]) a.push_back({i, b[i]});
    return a;
  }
  void merge_sparse(const json& a, uint64_t mx, long double s) {
    for (auto& e : a) {
      size_t i = e[0].get<size_t>();
      uint64_t c = e[1].get<uint64_t>();
      if (i < b.size()) b[i] += c;
      n += c;
    }
    sum += s;
    if (mx > max) max = mx;
  }
  json summary_ms() const {
    auto ms = [](double us) { return std::round(us / 1000.0 * 1000.0) / 1000.0; };  // 3 decimals
    return json{{"n", n},
                {"mean", ms(n ? double(sum / n) : 0)},
                {"p50", ms(quantile(0.50))},
                {"p90", ms(quantile(0.90))},
                {"p99", ms(quantile(0.99))},
                {"p999", ms(quantile(0.999))},
                {"max", ms(double(max))}};
  }
};

// ---------------------------------------------------------------- options
struct Opts {
  std::string mode;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string target = "rushcast";  // rushcast | nchan
  std::string transport = "sse";    // sse | ws
  std::string topic = "bench";
  std::string path;                 // override of the request path
  std::string key;                  // publish key (rushcast)
  std::string token;                // subscriber token (rushcast, optional)
  std::string event = "message";
  int conns = 100;
  int ramp_ms = 2000;
  long events = 1000;               // sub: per connection; pub: total
  double timeout_s = 120;
  int quiet_ms = 5000;              // sub: stop after this long without any event (after the first)
  int handshake_timeout_ms = 15000;
  double rate = 0;                  // pub: events/s in total; 0 = as fast as possible
  double duration_s = 0;            // pub with rate: seconds
  int size = 100;                   // pub: bytes of the data JSON
  double hold_s = 30;               // idle
  std::string ready_file;
  std::string out_file;             // also write the JSON summary here
  bool rst_close = true;
  bool hist = true;                 // include the sparse histogram in the sub summary
  std::vector<std::string> files;   // merge
  std::string label;                // merge: label for the one-line summary
  std::string pub_file;             // sub/merge: the `pub` summary whose accepted publishes set the expectation
  double progress_s = 10;           // sub/idle: progress line on stderr every this many seconds (0: off)
};

void usage() {
  std::fprintf(stderr, R"(usage: loadgen MODE [options]
modes:
  sub    --conns N --events E_per_conn [--ramp-ms 2000] [--timeout 120] [--quiet-ms 5000] [--pub PUB_JSON]
  pub    --conns P (--events E | --rate R --duration D) [--size 100] [--key KEY]
  idle   --conns N --hold S
  merge  FILE... [--label TEXT] [--pub PUB_JSON]   combine `sub` summaries (JSON files)
         (without --pub, a pub.json next to the first FILE is used when it belongs to the same run)
common:
  --host 127.0.0.1 --port 8080 --target rushcast|nchan --transport sse|ws --topic T
  --path P (override request path)  --token JWT  --event NAME  --ready-file F  --out F
  --handshake-timeout-ms 15000  --rst-close 0|1  --hist 0|1  --progress-s 10 (stderr; 0 = off)
)");
  std::exit(2);
}

Opts parse(int argc, char** argv) {
  if (argc < 2) usage();
  Opts o;
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      if (o.mode == "merge") { o.files.push_back(a); continue; }
      die("unexpected argument " + a);
    }
    if (i + 1 >= argc) die("missing value for " + a);
    std::string v = argv[++i];
    auto num = [&](void) -> double {
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (!end || *end) die("bad number for " + a + ": " + v);
      return d;
    };
    if (a == "--host") o.host = v;
    else if (a == "--port") o.port = int(num());
    else if (a == "--target") o.target = v;
    else if (a == "--transport") o.transport = v;
    else if (a == "--topic") o.topic = v;
    else if (a == "--path") o.path = v;
    else if (a == "--key") o.key = v;
    else if (a == "--token") o.token = v;
    else if (a == "--event") o.event = v;
    else if (a == "--conns") o.conns = int(num());
    else if (a == "--ramp-ms") o.ramp_ms = int(num());
    else if (a == "--events") o.events = long(num());
    else if (a == "--timeout") o.timeout_s = num();
    else if (a == "--quiet-ms") o.quiet_ms = int(num());
    else if (a == "--handshake-timeout-ms") o.handshake_timeout_ms = int(num());
    else if (a == "--rate") o.rate = num();
    else if (a == "--duration") o.duration_s = num();
    else if (a == "--size") o.size = int(num());
    else if (a == "--hold") o.hold_s = num();
    else if (a == "--ready-file") o.ready_file = v;
    else if (a == "--out") o.out_file = v;
    else if (a == "--rst-close") o.rst_close = num() != 0;
    else if (a == "--hist") o.hist = num() != 0;
    else if (a == "--label") o.label = v;
    else if (a == "--progress-s") o.progress_s = num();
    else if (a == "--pub") o.pub_file = v;
    else die("unknown option " + a);
  }
  if (o.target != "rushcast" && o.target != "nchan") die("--target must be rushcast or nchan");
  if (o.transport != "sse" && o.transport != "ws") die("--transport must be sse or ws");
  if (o.conns < 1 || o.conns > 60000) die("--conns out of range (1..60000)");
  if (o.timeout_s <= 0 || o.timeout_s > 3600) die("--timeout out of range (0..3600 s)");
  if (o.hold_s < 0 || o.hold_s > 3600) die("--hold out of range (0..3600 s)");
  if (o.duration_s < 0 || o.duration_s > 3600) die("--duration out of range (0..3600 s)");
  return o;
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string r;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':' || c == ',') r += char(c);
    else { r += '%'; r += hex[c >> 4]; r += hex[c & 15]; }
  }
  return r;
}

std::string json_escape(const std::string& s) { return json(s).dump(); }  // with quotes

void emit(const Opts& o, const json& j) {
  std::string s = j.dump();
  std::printf("%s\n", s.c_str());
  std::fflush(stdout);
  if (!o.out_file.empty()) {
    std::ofstream f(o.out_file);
    f << s << "\n";
  }
}

void write_ready(const std::string& file, const json& j) {
  if (file.empty()) return;
  std::string tmp = file + ".tmp";
  {
    std::ofstream f(tmp);
    f << j.dump() << "\n";
  }
  std::rename(tmp.c_str(), file.c_str());
}

json self_view(int64_t start_mono) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return json{{"wall_s", double(mono_ns() - start_mono) / 1e9},
              {"cpu_user_s", tv(ru.ru_utime)},
              {"cpu_sys_s", tv(ru.ru_stime)},
              {"max_rss_kb", ru.ru_maxrss}};
}

sockaddr_in make_addr(const Opts& o) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &a.sin_addr) != 1) die("--host must be an IPv4 address");
  return a;
}

int open_socket(const sockaddr_in& addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int r = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  if (r < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

void close_socket(int fd, bool rst) {
  if (fd < 0) return;
  if (rst) {
    linger l{1, 0};  // RST: no TIME_WAIT on the client side, so back-to-back runs do not run out of ports
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  close(fd);
}

std::string base64(const unsigned char* p, size_t n) {
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

// RFC 6455 4.1: a client must fail the connection unless the 101 carries this value. Without the
// check, anything that answers 101 (a misconfigured proxy, a server with a broken handshake) would
// be counted as a connected subscriber and its silence as loss.
std::string ws_accept_for(const unsigned char key[16]) {
  static const char kGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string s = base64(key, 16) + kGuid;
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(s.data(), s.size(), d, &n, EVP_sha1(), nullptr) != 1) die("SHA-1 (OpenSSL EVP_Digest) failed");
  return base64(d, n);
}

std::mt19937_64 g_rng{std::random_device{}()};

// A masked client → server WebSocket frame.
std::string ws_frame(uint8_t opcode, const std::string& payload) {
  std::string f;
  f += char(0x80 | opcode);
  size_t n = payload.size();
  if (n < 126) f += char(0x80 | n);
  else if (n < 65536) { f += char(0x80 | 126); f += char(n >> 8); f += char(n & 255); }
  else { f += char(0x80 | 127); for (int i = 7; i >= 0; --i) f += char((uint64_t(n) >> (8 * i)) & 255); }
  uint32_t m = uint32_t(g_rng());
  unsigned char mk[4] = {uint8_t(m), uint8_t(m >> 8), uint8_t(m >> 16), uint8_t(m >> 24)};
  f.append(reinterpret_cast<char*>(mk), 4);
  for (size_t i = 0; i < n; ++i) f += char(payload[i] ^ mk[i & 3]);
  return f;
}

// Parses `"ts":<digits>` out of [p, p+n). Returns false when absent.
bool find_ts(const char* p, size_t n, int64_t& ts) {
  static const char key[] = "\"ts\":";
  const char* q = static_cast<const char*>(memmem(p, n, key, sizeof key - 1));
  if (!q) return false;
  q += sizeof key - 1;
  const char* e = p + n;
  while (q < e && *q == ' ') ++q;
  int64_t v = 0;
  bool any = false;
  while (q < e && *q >= '0' && *q <= '9') { v = v * 10 + (*q - '0'); ++q; any = true; }
  if (!any) return false;
  ts = v;
  return true;
}

bool contains(const char* p, size_t n, const char* needle) {
  return memmem(p, n, needle, std::strlen(needle)) != nullptr;
}

// Parses an HTTP response head. Returns header length (incl. CRLFCRLF) or 0 if incomplete.
struct Head {
  int status = 0;
  bool chunked = false;
  bool conn_close = false;
  long content_length = -1;
  bool has_ws_accept = false;
  std::string ws_accept;  // as sent (base64 is case-sensitive), surrounding blanks removed
};
size_t parse_head(const char* p, size_t n, Head& h) {
  const char* e = static_cast<const char*>(memmem(p, n, "\r\n\r\n", 4));
  if (!e) return 0;
  size_t len = size_t(e - p) + 4;
  std::string head(p, len);
  h = Head{};
  if (head.size() > 12 && head.compare(0, 5, "HTTP/") == 0) h.status = std::atoi(head.c_str() + 9);
  std::string lower = head;
  for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  size_t pos;
  if ((pos = lower.find("\r\ntransfer-encoding:")) != std::string::npos &&
      lower.find("chunked", pos) < lower.find("\r\n", pos + 2))
    h.chunked = true;
  if ((pos = lower.find("\r\ncontent-length:")) != std::string::npos) h.content_length = std::atol(lower.c_str() + pos + 17);
  if ((pos = lower.find("\r\nconnection:")) != std::string::npos &&
      lower.find("close", pos) < lower.find("\r\n", pos + 2))
    h.conn_close = true;
  static const char kAccept[] = "\r\nsec-websocket-accept:";
  if ((pos = lower.find(kAccept)) != std::string::npos) {
    size_t b = pos + sizeof kAccept - 1, e = head.find("\r\n", b);
    while (b < e && (head[b] == ' ' || head[b] == '\t')) ++b;
    while (e > b && (head[e - 1] == ' ' || head[e - 1] == '\t')) --e;
    h.has_ws_accept = true;
    h.ws_accept = head.substr(b, e - b);
  }
  return len;
}

// The last JSON line of a summary file (the format `emit` writes). False when absent or unparsable.
bool read_summary(const std::string& file, json& out) {
  std::ifstream in(file);
  if (!in) return false;
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '{') last = line;
  if (last.empty()) return false;
  out = json::parse(last, nullptr, false);
  return !out.is_discarded() && out.is_object();
}

// What a set of subscriber connections should have received and what they did, from the
// per-connection event counts ([[count, connections], ...]). The expectation per connection is
// the subscribers' --events, lowered to the publisher's accepted publishes when its summary is
// known: a publish the server refused (503 over_capacity, a dropped connection) was never an
// event, so missing it is not a subscriber's loss.
struct Loss {
  uint64_t expected = 0, loss = 0, extra = 0, complete = 0;
  Loss& operator+=(const Loss& o) {
    expected += o.expected;
    loss += o.loss;
    extra += o.extra;
    complete += o.complete;
    return *this;
  }
};
Loss loss_against(const json& conn_events, uint64_t ok, uint64_t received, long events_per_conn, const json* pub) {
  bool bounded = events_per_conn > 0;
  uint64_t per_conn = bounded ? uint64_t(events_per_conn) : 0;
  if (pub) {
    uint64_t published = pub->value("published", uint64_t(0));
    per_conn = bounded ? std::min(per_conn, published) : published;
    bounded = true;
  }
  Loss l;
  l.expected = bounded ? ok * per_conn : 0;
  uint64_t capped = 0;
  for (auto& e : conn_events) {
    uint64_t count = e[0].get<uint64_t>(), conns = e[1].get<uint64_t>();
    capped += conns * (bounded ? std::min(count, per_conn) : count);
    // Unbounded runs have no "complete" (they count until quiet or timeout).
    if (bounded && count >= per_conn) l.complete += conns;
  }
  l.loss = l.expected > capped ? l.expected - capped : 0;
  l.extra = received > capped ? received - capped : 0;
  return l;
}

// Publishes that did not get a 2xx; older pub summaries only have sent and published.
uint64_t publish_failed_of(const json& pub) {
  if (pub.contains("publish_failed")) return pub["publish_failed"].get<uint64_t>();
  uint64_t sent = pub.value("sent", uint64_t(0)), published = pub.value("published", uint64_t(0));
  return sent > published ? sent - published : 0;
}

void put_loss(json& j, const Loss& l, const json* pub) {
  j["expected"] = l.expected;
  j["loss"] = l.loss;
  j["loss_pct"] = l.expected ? std::round(double(l.loss) * 1e6 / double(l.expected)) / 1e4 : 0.0;
  j["extra"] = l.extra;
  j["conns_complete"] = l.complete;
  j["loss_basis"] = pub ? "published" : "events_per_conn";
  if (pub) {
    j["published"] = pub->value("published", uint64_t(0));
    j["publish_failed"] = publish_failed_of(*pub);
  }
}

// ================================================================ subscribers (sub, idle)
struct SubConn {
  int fd = -1;
  enum State : uint8_t { kNew, kConnecting, kHead, kSubscribing, kReady, kClosed, kFailed } st = kNew;
  bool chunked = false;
  bool ev_has_ts = false;
  int64_t ev_ts = 0;
  int64_t chunk_left = -1;  // chunked: bytes left in the current chunk; -1: reading a size line; -2: CRLF after data
  int64_t started = 0;      // mono ns when connect started
  uint64_t events = 0;
  unsigned char ws_key[16];  // our Sec-WebSocket-Key, to check the server's Sec-WebSocket-Accept
  std::string in;           // unparsed bytes (raw, before chunk decoding) / leftover
  std::string dec_in;       // leftover of decoded stream (when chunked)
  std::string frag;         // WebSocket fragmented message
  std::string out;          // unsent bytes
};

class SubRunner {
 public:
  explicit SubRunner(const Opts& o) : o_(o), idle_(o.mode == "idle"), conns_(size_t(o.conns)) {
    addr_ = make_addr(o);
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die("epoll_create1 failed");
    std::string path = o.path;
    if (path.empty()) {
      if (o.target == "nchan") path = "/sub/" + url_encode(o.topic);
      else if (o.transport == "sse") path = "/sse-updates?topics=" + url_encode(o.topic);
      else path = "/ws";
      if (o.target == "rushcast" && !o.token.empty())
        path += (path.find('?') == std::string::npos ? "?" : "&") + std::string("token=") + url_encode(o.token);
    }
    path_ = path;
    ws_ = o.transport == "ws";
    if (ws_ && o.target == "rushcast")
      subscribe_frame_ = ws_frame(1, std::string("{\"type\":\"subscribe\",\"topics\":[") + json_escape(o.topic) + "]}");
  }

  int run() {
    const int64_t t0 = mono_ns();
    start_mono_ = t0;
    const int64_t start_real = real_ns();
    const int64_t deadline = t0 + int64_t(o_.timeout_s * 1e9);
    std::vector<epoll_event> evs(1024);
    int started = 0;
    int64_t last_scan = 0;
    std::string exit_reason = "timeout";
    bool ready_written = false;
    int64_t all_handshaken_at = 0;
    int64_t last_progress = t0;
    int64_t pub_done_at = 0;
    uint64_t last_progress_received = 0;

    for (;;) {
      int64_t now = mono_ns();
      // ramp: start the connections that are due
      int due = o_.ramp_ms <= 0 ? o_.conns
                                : int(std::min<int64_t>(o_.conns, (now - t0) / 1000000 * o_.conns / o_.ramp_ms + 1));
      while (started < due) start(started++, now);

      if (now - last_scan > 100000000) {  // handshake timeouts, every 100 ms
        last_scan = now;
        for (auto& c : conns_)
          if ((c.st == SubConn::kConnecting || c.st == SubConn::kHead || c.st == SubConn::kSubscribing) &&
              now - c.started > int64_t(o_.handshake_timeout_ms) * 1000000LL) {
            fail(c, "handshake timeout");
          }
      }
      bool handshakes_done = started == o_.conns && ok_ + failed_ == o_.conns;
      if (handshakes_done && !ready_written) {
        ready_written = true;
        all_handshaken_at = now;
        handshake_s_ = double(now - t0) / 1e9;
        write_ready(o_.ready_file, json{{"ok", ok_}, {"failed", failed_}, {"pid", getpid()}});
        std::fprintf(stderr, "loadgen %s: %d connected, %d failed in %.2f s", o_.mode.c_str(), ok_, failed_,
                     handshake_s_);
        if (ws_accept_bad_) std::fprintf(stderr, " (%d of them: bad Sec-WebSocket-Accept)", ws_accept_bad_);
        std::fputc('\n', stderr);
      }
      if (o_.progress_s > 0 && now - last_progress >= int64_t(o_.progress_s * 1e9)) {
        std::fprintf(stderr, "loadgen %s[%d]: t=%.0fs ok=%d failed=%d closed=%d received=%" PRIu64 " (+%.0f/s) complete=%d\n",
                     o_.mode.c_str(), int(getpid()), double(now - t0) / 1e9, ok_, failed_, closed_, received_,
                     double(received_ - last_progress_received) / (double(now - last_progress) / 1e9), complete_);
        last_progress = now;
        last_progress_received = received_;
      }
      if (g_stop) { exit_reason = "signal"; break; }
      if (now >= deadline) { exit_reason = "timeout"; break; }
      if (idle_) {
        if (handshakes_done && now - all_handshaken_at >= int64_t(o_.hold_s * 1e9)) { exit_reason = "hold_elapsed"; break; }
      } else {
        if (handshakes_done && o_.events > 0 && complete_ + closed_incomplete_ >= ok_) { exit_reason = "complete"; break; }
        if (received_ > 0 && o_.quiet_ms > 0 && now - last_event_mono_ > int64_t(o_.quiet_ms) * 1000000LL) {
          exit_reason = "quiet";
          break;
        }
        if (handshakes_done && ok_ == 0) { exit_reason = "no_connections"; break; }
        // Told that the publisher is done (SIGUSR1): stop after --quiet-ms without an event, even
        // when nothing at all arrived.
        if (g_pub_done && pub_done_at == 0) pub_done_at = now;
        if (pub_done_at && o_.quiet_ms > 0 &&
            now - std::max(pub_done_at, last_event_mono_) > int64_t(o_.quiet_ms) * 1000000LL) {
          exit_reason = "quiet_after_publisher";
          break;
        }
      }
      int n = epoll_wait(ep_, evs.data(), int(evs.size()), started < o_.conns ? 1 : 20);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("epoll_wait failed");
      }
      for (int i = 0; i < n; ++i) handle(conns_[evs[i].data.u32], evs[i].events);
    }
    int alive = 0;
    for (auto& c : conns_)
      if (c.st == SubConn::kReady) ++alive;
    json self = self_view(t0);
    self["bytes_received"] = bytes_;
    self["recv_calls"] = reads_;
    for (auto& c : conns_) close_socket(c.fd, o_.rst_close), c.fd = -1;

    json j{{"mode", o_.mode}, {"target", o_.target}, {"transport", o_.transport}, {"topic", o_.topic},
           {"pid", getpid()}, {"connections", o_.conns}, {"ok", ok_}, {"failed", failed_},
           {"closed_by_server", closed_}, {"alive_at_end", alive}, {"handshake_s", handshake_s_},
           {"exit_reason", exit_reason}, {"start_ns", start_real}};
    if (ws_) j["ws_accept_mismatch"] = ws_accept_bad_;
    if (!fail_reasons_.empty()) j["fail_reasons"] = fail_reasons_;
    if (idle_) {
      j["hold_s"] = o_.hold_s;
      j["events_received"] = received_;
    } else {
      json conn_events = conn_event_counts();
      json pub;
      bool have_pub = false;
      if (!o_.pub_file.empty()) {
        // Read at exit, so the publisher must have finished by then (the drivers signal SIGUSR1
        // after it has); without its summary the run is still reported, against --events.
        if (!read_summary(o_.pub_file, pub) || pub.value("mode", "") != "pub")
          std::fprintf(stderr, "loadgen sub: no pub summary in %s; loss is against --events\n", o_.pub_file.c_str());
        else if (pub.value("topic", "") != o_.topic)
          std::fprintf(stderr, "loadgen sub: %s is for topic %s, not %s; ignored\n", o_.pub_file.c_str(),
                       pub.value("topic", "").c_str(), o_.topic.c_str());
        else
          have_pub = true;
      }
      double span = last_real_ > first_real_ ? double(last_real_ - first_real_) / 1e9 : 0;
      j["events_per_conn"] = o_.events;
      j["received"] = received_;
      const json* p = have_pub ? &pub : nullptr;
      put_loss(j, loss_against(conn_events, uint64_t(ok_), received_, o_.events, p), p);
      j["conn_events"] = conn_events;
      j["first_ns"] = first_real_;
      j["last_ns"] = last_real_;
      j["span_s"] = span;
      j["deliveries_per_s"] = span > 0 ? std::round(double(received_) / span) : 0.0;
      j["latency_ms"] = hist_.summary_ms();
      if (o_.hist) {
        j["hist"] = hist_.sparse();
        j["hist_sum_us"] = double(hist_.sum);
        j["hist_max_us"] = hist_.max;
      }
    }
    j["self"] = self;
    emit(o_, j);
    return 0;
  }

 private:
  void start(int idx, int64_t now) {
    SubConn& c = conns_[size_t(idx)];
    c.started = now;
    c.fd = open_socket(addr_);
    if (c.fd < 0) {
      c.st = SubConn::kFailed;
      ++failed_;
      note_fail(std::string("socket/connect: ") + std::strerror(errno));
      return;
    }
    c.st = SubConn::kConnecting;
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u32 = uint32_t(idx);
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void note_fail(const std::string& why) {
    if (fail_reasons_.size() < 20) fail_reasons_[why] = fail_reasons_.value(why, 0) + 1;
    else if (fail_reasons_.contains(why)) fail_reasons_[why] = fail_reasons_[why].get<int>() + 1;
  }

  void fail(SubConn& c, const std::string& why) {
    bool handshaking = c.st == SubConn::kConnecting || c.st == SubConn::kHead || c.st == SubConn::kSubscribing ||
                       c.st == SubConn::kNew;
    if (handshaking) {
      ++failed_;
      note_fail(why);
      c.st = SubConn::kFailed;
    } else if (c.st == SubConn::kReady) {
      ++closed_;
      if (o_.events <= 0 || c.events < uint64_t(o_.events)) ++closed_incomplete_;
      note_fail("after ready: " + why);
      c.st = SubConn::kClosed;
    }
    if (c.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      close_socket(c.fd, o_.rst_close);
      c.fd = -1;
    }
    std::string().swap(c.in);
    std::string().swap(c.dec_in);
    std::string().swap(c.frag);
    std::string().swap(c.out);
  }

  void set_ready(SubConn& c) {
    c.st = SubConn::kReady;
    ++ok_;
  }

  void send_raw(SubConn& c, const std::string& data) {
    if (c.fd < 0) return;
    if (!c.out.empty()) { c.out += data; return; }
    ssize_t w = ::send(c.fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) { fail(c, std::string("send: ") + std::strerror(errno)); return; }
      w = 0;
    }
    if (size_t(w) < data.size()) {
      c.out.assign(data, size_t(w), std::string::npos);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT;
      ev.data.u32 = uint32_t(&c - conns_.data());
      epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    }
  }

  // [[events, connections], ...] over the connections that got through the handshake (and any
  // other that got events), so that loss can be recomputed against another expectation later.
  json conn_event_counts() const {
    std::map<uint64_t, uint64_t> by_count;
    for (auto& c : conns_)
      if (c.st == SubConn::kReady || c.st == SubConn::kClosed || c.events > 0) ++by_count[c.events];
    json a = json::array();
    for (auto& [count, n] : by_count) a.push_back({count, n});
    return a;
  }

  std::string request(SubConn& c) {
    std::string r = "GET " + path_ + " HTTP/1.1\r\nHost: " + o_.host + ":" + std::to_string(o_.port) + "\r\n";
    r += "User-Agent: rushcast-loadgen\r\n";
    if (ws_) {
      for (auto& b : c.ws_key) b = uint8_t(g_rng());
      r += "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
           base64(c.ws_key, 16) + "\r\n";
    } else {
      r += "Accept: text/event-stream\r\nCache-Control: no-cache\r\n";
    }
    r += "\r\n";
    return r;
  }

  void handle(SubConn& c, uint32_t events) {
    if (c.fd < 0) return;
    if (c.st == SubConn::kConnecting) {
      if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) { fail(c, std::string("connect: ") + std::strerror(err)); return; }
        c.st = SubConn::kHead;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = uint32_t(&c - conns_.data());
        epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
        send_raw(c, request(c));
      }
      return;
    }
    if ((events & EPOLLOUT) && !c.out.empty()) {
      ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (w > 0) c.out.erase(0, size_t(w));
      if (c.out.empty()) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = uint32_t(&c - conns_.data());
        epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
      }
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
      ssize_t r = ::recv(c.fd, buf_, sizeof buf_, 0);
      if (r == 0) { fail(c, "closed by server"); return; }
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        fail(c, std::string("recv: ") + std::strerror(errno));
        return;
      }
      ++reads_;
      bytes_ += uint64_t(r);
      now_real_ = real_ns();
      on_bytes(c, buf_, size_t(r));
    }
  }

  void on_bytes(SubConn& c, const char* p, size_t n) {
    if (c.st == SubConn::kHead) {
      c.in.append(p, n);
      Head h;
      size_t hl = parse_head(c.in.data(), c.in.size(), h);
      if (hl == 0) {
        if (c.in.size() > 16384) fail(c, "response head too large");
        return;
      }
      int want = ws_ ? 101 : 200;
      if (h.status != want) { fail(c, "HTTP " + std::to_string(h.status)); return; }
      if (ws_) {
        std::string expect = ws_accept_for(c.ws_key);
        if (h.ws_accept != expect) {
          if (ws_accept_bad_++ == 0) {
            std::string got = h.has_ws_accept ? "\"" + h.ws_accept.substr(0, 64) + "\"" : "none";
            std::fprintf(stderr, "loadgen %s: bad Sec-WebSocket-Accept: got %s, expected %s (counted as failed)\n",
                         o_.mode.c_str(), got.c_str(), expect.c_str());
          }
          fail(c, h.has_ws_accept ? "bad Sec-WebSocket-Accept" : "no Sec-WebSocket-Accept");
          return;
        }
      }
      c.chunked = !ws_ && h.chunked;
      std::string rest = c.in.substr(hl);
      std::string().swap(c.in);
      if (ws_ && o_.target == "rushcast") {
        c.st = SubConn::kSubscribing;
        send_raw(c, subscribe_frame_);
        if (c.fd < 0) return;
      } else {
        set_ready(c);
      }
      if (!rest.empty()) on_body(c, rest.data(), rest.size());
      return;
    }
    on_body(c, p, n);
  }

  // Raw body bytes (maybe chunked) → decoded stream.
  void on_body(SubConn& c, const char* p, size_t n) {
    if (!c.chunked) { feed(c, c.in, p, n); return; }
    // chunked decoding into a scratch buffer
    std::string& raw = c.in;
    const char* q;
    size_t m;
    std::string joined;
    if (raw.empty()) { q = p; m = n; }
    else { raw.append(p, n); joined.swap(raw); q = joined.data(); m = joined.size(); }
    scratch_.clear();
    size_t i = 0;
    while (i < m) {
      if (c.chunk_left == -1) {
        const char* nl = static_cast<const char*>(memchr(q + i, '\n', m - i));
        if (!nl) break;
        c.chunk_left = std::strtoll(std::string(q + i, nl).c_str(), nullptr, 16);
        i = size_t(nl - q) + 1;
        if (c.chunk_left == 0) { fail(c, "stream ended (last chunk)"); return; }
      } else if (c.chunk_left == -2) {
        const char* nl = static_cast<const char*>(memchr(q + i, '\n', m - i));
        if (!nl) break;
        i = size_t(nl - q) + 1;
        c.chunk_left = -1;
      } else {
        size_t take = std::min<size_t>(size_t(c.chunk_left), m - i);
        scratch_.append(q + i, take);
        i += take;
        c.chunk_left -= int64_t(take);
        if (c.chunk_left == 0) c.chunk_left = -2;
      }
    }
    if (i < m) raw.assign(q + i, m - i);
    else raw.clear();
    if (!scratch_.empty()) {
      std::string data;
      data.swap(scratch_);
      feed(c, c.dec_in, data.data(), data.size());
      data.swap(scratch_);
    }
  }

  // Decoded stream bytes; `left` holds the unparsed tail between reads.
  void feed(SubConn& c, std::string& left, const char* p, size_t n) {
    size_t used;
    if (left.empty()) {
      used = ws_ ? parse_ws(c, p, n) : parse_sse(c, p, n);
      if (c.fd < 0) return;
      if (used < n) left.assign(p + used, n - used);
    } else {
      left.append(p, n);
      std::string cur;
      cur.swap(left);
      used = ws_ ? parse_ws(c, cur.data(), cur.size()) : parse_sse(c, cur.data(), cur.size());
      if (c.fd < 0) return;
      if (used < cur.size()) left.assign(cur, used, std::string::npos);
    }
    if (left.size() > (8u << 20)) fail(c, "message too large");
  }

  void on_event(SubConn& c, int64_t ts) {
    ++received_;
    ++c.events;
    if (o_.events > 0 && c.events == uint64_t(o_.events)) ++complete_;
    int64_t lat = now_real_ - ts;
    hist_.add(lat > 0 ? uint64_t(lat / 1000) : 0);
    if (first_real_ == 0) first_real_ = now_real_;
    last_real_ = now_real_;
    last_event_mono_ = mono_ns();
  }

  size_t parse_sse(SubConn& c, const char* p, size_t n) {
    size_t i = 0;
    while (i < n) {
      const char* nl = static_cast<const char*>(memchr(p + i, '\n', n - i));
      if (!nl) break;
      size_t len = size_t(nl - (p + i));
      const char* line = p + i;
      if (len && line[len - 1] == '\r') --len;
      if (len == 0) {
        if (c.ev_has_ts) on_event(c, c.ev_ts);
        c.ev_has_ts = false;
      } else if (len >= 5 && std::memcmp(line, "data:", 5) == 0) {
        int64_t ts;
        if (!c.ev_has_ts && find_ts(line, len, ts)) { c.ev_has_ts = true; c.ev_ts = ts; }
      }
      i = size_t(nl - p) + 1;
    }
    return i;
  }

  void on_ws_message(SubConn& c, const char* p, size_t n) {
    if (c.st == SubConn::kSubscribing) {
      if (contains(p, n, "\"subscribed\"")) { set_ready(c); return; }
      if (contains(p, n, "\"error\"")) { fail(c, "subscribe error: " + std::string(p, std::min<size_t>(n, 200))); return; }
    }
    int64_t ts;
    if (find_ts(p, n, ts)) on_event(c, ts);
  }

  size_t parse_ws(SubConn& c, const char* p, size_t n) {
    size_t i = 0;
    while (n - i >= 2) {
      const uint8_t b0 = uint8_t(p[i]), b1 = uint8_t(p[i + 1]);
      const bool fin = b0 & 0x80;
      const int op = b0 & 0x0F;
      const bool masked = b1 & 0x80;
      uint64_t len = b1 & 0x7F;
      size_t hl = 2;
      if (len == 126) {
        if (n - i < 4) break;
        len = (uint64_t(uint8_t(p[i + 2])) << 8) | uint8_t(p[i + 3]);
        hl = 4;
      } else if (len == 127) {
        if (n - i < 10) break;
        len = 0;
        for (int k = 0; k < 8; ++k) len = (len << 8) | uint8_t(p[i + 2 + k]);
        hl = 10;
      }
      size_t mk = hl;
      if (masked) hl += 4;
      if (n - i < hl + len) break;
      const char* pl = p + i + hl;
      std::string unmasked;
      if (masked) {  // servers must not mask, but be lenient
        unmasked.assign(pl, len);
        for (size_t k = 0; k < len; ++k) unmasked[k] ^= p[i + mk + (k & 3)];
        pl = unmasked.data();
      }
      i += hl + len;
      if (op == 0x9) {  // ping → pong
        send_raw(c, ws_frame(0xA, std::string(pl, len)));
        if (c.fd < 0) return i;
      } else if (op == 0x8) {
        uint16_t code = len >= 2 ? uint16_t((uint8_t(pl[0]) << 8) | uint8_t(pl[1])) : 0;
        fail(c, "websocket close " + std::to_string(code));
        return i;
      } else if (op == 0xA) {
        // pong: ignore
      } else if (op == 0x1 || op == 0x2) {
        if (fin) on_ws_message(c, pl, len);
        else c.frag.assign(pl, len);
      } else if (op == 0x0) {
        c.frag.append(pl, len);
        if (fin) {
          std::string m;
          m.swap(c.frag);
          on_ws_message(c, m.data(), m.size());
        }
      }
      if (c.fd < 0) return i;
    }
    return i;
  }

  const Opts& o_;
  bool idle_;
  bool ws_ = false;
  std::vector<SubConn> conns_;
  sockaddr_in addr_{};
  int ep_ = -1;
  std::string path_;
  std::string subscribe_frame_;
  char buf_[65536];
  std::string scratch_;
  int ok_ = 0, failed_ = 0, closed_ = 0, closed_incomplete_ = 0, complete_ = 0, ws_accept_bad_ = 0;
  uint64_t received_ = 0, bytes_ = 0, reads_ = 0;
  int64_t first_real_ = 0, last_real_ = 0, now_real_ = 0, last_event_mono_ = 0, start_mono_ = 0;
  double handshake_s_ = 0;
  Hist hist_;
  json fail_reasons_ = json::object();
};

// ================================================================ publishers
struct PubConn {
  int fd = -1;
  enum State : uint8_t { kDown, kConnecting, kIdle, kBusy } st = kDown;
  std::string in, out;
  int64_t sent_at = 0;
  int reconnects = 0;
};

class PubRunner {
 public:
  explicit PubRunner(const Opts& o) : o_(o), conns_(size_t(o.conns)) {
    addr_ = make_addr(o);
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die("epoll_create1 failed");
    if (o.rate > 0) {
      if (o.duration_s <= 0) die("--rate needs --duration");
      total_ = long(std::llround(o.rate * o.duration_s));
    } else {
      total_ = o.events;
    }
    if (total_ <= 0) die("nothing to publish (--events or --rate/--duration)");
    path_ = o.path.empty() ? (o.target == "nchan" ? "/pub/" + url_encode(o.topic) : "/api/publish") : o.path;
    host_hdr_ = o.host + ":" + std::to_string(o.port);
  }

  int run() {
    const int64_t t0 = mono_ns();
    const int64_t start_real = real_ns();
    const int64_t deadline = t0 + int64_t(o_.timeout_s * 1e9);
    for (size_t i = 0; i < conns_.size(); ++i) connect_one(i);
    std::vector<epoll_event> evs(256);
    std::string exit_reason = "done";
    int64_t rate_start = 0;
    for (;;) {
      int64_t now = mono_ns();
      if (g_stop) { exit_reason = "signal"; break; }
      if (now >= deadline) { exit_reason = "timeout"; break; }
      if (sent_ >= total_ && inflight_ == 0) break;
      int idle_conns = 0, up = 0;
      for (auto& c : conns_) {
        if (c.st == PubConn::kIdle) ++idle_conns;
        if (c.st != PubConn::kDown) ++up;
      }
      if (up == 0) { exit_reason = "all_connections_down"; break; }
      int wait_ms = 20;
      // dispatch: as fast as possible, or on the schedule of --rate
      if (sent_ < total_ && idle_conns > 0) {
        long allowed = total_;
        if (o_.rate > 0) {
          if (rate_start == 0) rate_start = now;
          allowed = std::min<long>(total_, long(double(now - rate_start) / 1e9 * o_.rate) + 1);
          if (allowed - sent_ > 1) behind_max_ = std::max(behind_max_, allowed - sent_ - 1);
        }
        for (size_t i = 0; i < conns_.size() && sent_ < allowed; ++i)
          if (conns_[i].st == PubConn::kIdle) send_one(conns_[i], now);
        if (o_.rate > 0 && sent_ < total_ && sent_ >= allowed) {
          int64_t next_due = rate_start + int64_t(double(sent_) / o_.rate * 1e9);
          wait_ms = int(std::min<int64_t>(20, std::max<int64_t>(1, (next_due - now + 999999) / 1000000)));
        }
      }
      int n = epoll_wait(ep_, evs.data(), int(evs.size()), std::min(wait_ms, 20));
      if (n < 0) {
        if (errno == EINTR) continue;
        die("epoll_wait failed");
      }
      for (int i = 0; i < n; ++i) handle(evs[i].data.u32, evs[i].events);
    }
    for (auto& c : conns_) close_socket(c.fd, o_.rst_close), c.fd = -1;
    double span = last_done_ > first_sent_ ? double(last_done_ - first_sent_) / 1e9 : 0;
    // A request still unanswered at exit (timeout, signal) counts as failed: it has no 2xx, and
    // the subscribers' loss is measured against the 2xx ones only.
    const long publish_failed = sent_ - ok_;
    const long not_sent = total_ - sent_;
    if (publish_failed > 0 || not_sent > 0)
      std::fprintf(stderr,
                   "loadgen pub: publish_failed=%ld of %ld sent (non-2xx answer %ld, connection lost %ld, unanswered "
                   "at exit %d), not_sent=%ld; subscriber loss counts against the %ld published\n",
                   publish_failed, sent_, failed_http_, failed_conn_, inflight_, not_sent, ok_);
    json self = self_view(t0);
    json j{{"mode", "pub"},
           {"target", o_.target},
           {"topic", o_.topic},
           {"pid", getpid()},
           {"connections", o_.conns},
           {"to_publish", total_},
           {"sent", sent_},
           {"published", ok_},
           {"errors", errors_},
           {"publish_failed", publish_failed},
           {"not_sent", not_sent},
           {"start_ns", start_real},
           {"status", status_},
           {"rate_target", o_.rate},
           {"max_behind_schedule", behind_max_},
           {"span_s", span},
           {"publishes_per_s", span > 0 ? std::round(double(ok_) / span * 10) / 10 : 0.0},
           {"request_latency_ms", lat_.summary_ms()},
           {"exit_reason", exit_reason},
           {"self", self}};
    if (!err_reasons_.empty()) j["error_reasons"] = err_reasons_;
    emit(o_, j);
    return 0;
  }

 private:
  void connect_one(size_t i) {
    PubConn& c = conns_[i];
    if (c.reconnects > 50) { c.st = PubConn::kDown; return; }
    c.fd = open_socket(addr_);
    c.in.clear();
    c.out.clear();
    if (c.fd < 0) { note_err(std::string("connect: ") + std::strerror(errno)); c.st = PubConn::kDown; return; }
    c.st = PubConn::kConnecting;
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u32 = uint32_t(i);
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void note_err(const std::string& why) {
    ++errors_;
    if (err_reasons_.size() < 20 || err_reasons_.contains(why)) err_reasons_[why] = err_reasons_.value(why, 0) + 1;
  }

  void drop(size_t i, const std::string& why) {
    PubConn& c = conns_[i];
    if (c.st == PubConn::kBusy) { --inflight_; ++failed_conn_; note_err(why); }
    else if (why.rfind("connect", 0) == 0) note_err(why);
    if (c.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      close_socket(c.fd, false);
      c.fd = -1;
    }
    c.st = PubConn::kDown;
    ++c.reconnects;
    if (sent_ < total_) connect_one(i);
  }

  std::string body(long seq) {
    int64_t ts = real_ns();
    std::string d = "{\"ts\":" + std::to_string(ts) + ",\"seq\":" + std::to_string(seq) + ",\"pad\":\"";
    int pad = o_.size - int(d.size()) - 2;
    if (pad > 0) d.append(size_t(pad), 'x');
    d += "\"}";
    if (o_.target == "nchan") return d;
    return "{\"topic\":" + json_escape(o_.topic) + ",\"event\":" + json_escape(o_.event) + ",\"data\":" + d + "}";
  }

  void send_one(PubConn& c, int64_t now) {
    long seq = sent_++;
    std::string b = body(seq);
    std::string r = "POST " + path_ + " HTTP/1.1\r\nHost: " + host_hdr_ +
                    "\r\nUser-Agent: rushcast-loadgen\r\nContent-Type: application/json\r\n";
    if (!o_.key.empty()) r += "Authorization: Bearer " + o_.key + "\r\n";
    r += "Content-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
    c.st = PubConn::kBusy;
    c.sent_at = now;
    ++inflight_;
    if (first_sent_ == 0) first_sent_ = now;
    ssize_t w = ::send(c.fd, r.data(), r.size(), MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN) { drop(size_t(&c - conns_.data()), std::string("send: ") + std::strerror(errno)); return; }
    if (w < 0) w = 0;
    if (size_t(w) < r.size()) {
      c.out.assign(r, size_t(w), std::string::npos);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT;
      ev.data.u32 = uint32_t(&c - conns_.data());
      epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    }
  }

  void handle(uint32_t i, uint32_t events) {
    PubConn& c = conns_[i];
    if (c.fd < 0) return;
    if (c.st == PubConn::kConnecting) {
      int err = 0;
      socklen_t l = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &l);
      if (err) { drop(i, std::string("connect: ") + std::strerror(err)); return; }
      if (!(events & EPOLLOUT)) return;
      c.st = PubConn::kIdle;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = i;
      epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
      return;
    }
    if ((events & EPOLLOUT) && !c.out.empty()) {
      ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (w > 0) c.out.erase(0, size_t(w));
      if (c.out.empty()) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = i;
        epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
      }
    }
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
    char buf[16384];
    ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
    if (r == 0) { drop(i, "closed by server"); return; }
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      drop(i, std::string("recv: ") + std::strerror(errno));
      return;
    }
    c.in.append(buf, size_t(r));
    while (!c.in.empty()) {
      Head h;
      size_t hl = parse_head(c.in.data(), c.in.size(), h);
      if (hl == 0) return;
      size_t total;
      if (h.chunked) {
        // find the terminating 0-size chunk
        size_t pos = hl;
        bool done = false;
        while (pos < c.in.size()) {
          size_t nl = c.in.find("\r\n", pos);
          if (nl == std::string::npos) break;
          long sz = std::strtol(c.in.c_str() + pos, nullptr, 16);
          if (sz == 0) {
            size_t end = c.in.find("\r\n\r\n", nl);
            if (end == std::string::npos && c.in.compare(nl, 4, "\r\n\r\n") != 0) {
              if (c.in.size() >= nl + 4) end = nl;  // lenient
              else break;
            }
            pos = (end == std::string::npos ? nl : end) + 4;
            done = true;
            break;
          }
          pos = nl + 2 + size_t(sz) + 2;
        }
        if (!done || pos > c.in.size()) return;
        total = pos;
      } else {
        size_t cl = h.content_length > 0 ? size_t(h.content_length) : 0;
        if (c.in.size() < hl + cl) return;
        total = hl + cl;
      }
      std::string code = std::to_string(h.status);
      status_[code] = status_.value(code, 0) + 1;
      int64_t now = mono_ns();
      if (c.st == PubConn::kBusy) {
        --inflight_;
        lat_.add(uint64_t((now - c.sent_at) / 1000));
        if (h.status >= 200 && h.status < 300) ++ok_;
        else {
          ++failed_http_;
          std::string snippet = c.in.substr(hl, std::min<size_t>(total - hl, 120));
          note_err("HTTP " + code + " " + snippet);
        }
        last_done_ = now;
        c.st = PubConn::kIdle;
      }
      c.in.erase(0, total);
      if (h.conn_close) { c.st = PubConn::kIdle; drop(i, "server closed keep-alive"); return; }
    }
  }

  const Opts& o_;
  std::vector<PubConn> conns_;
  sockaddr_in addr_{};
  int ep_ = -1;
  std::string path_, host_hdr_;
  long total_ = 0, sent_ = 0, ok_ = 0, errors_ = 0, behind_max_ = 0, failed_http_ = 0, failed_conn_ = 0;
  int inflight_ = 0;
  int64_t first_sent_ = 0, last_done_ = 0;
  Hist lat_;
  json status_ = json::object();
  json err_reasons_ = json::object();
};

// ================================================================ merge
// The publisher's summary for a merge of `sub` summaries: --pub, or else pub.json beside the first
// input, which is where the drivers (bench/lib.sh) write it, so that their loss lines count
// against accepted publishes without a change to them. The implicit file is only taken when it
// is of this run (same target and topic, publisher started after the subscribers): a stale one
// in a reused run directory must not lower the expectation.
bool merge_pub(const Opts& o, const std::vector<json>& docs, json& pub) {
  bool explicit_pub = !o.pub_file.empty();
  std::string file = o.pub_file;
  if (!explicit_pub) {
    size_t slash = o.files[0].rfind('/');
    file = (slash == std::string::npos ? std::string(".") : o.files[0].substr(0, slash)) + "/pub.json";
    struct stat st{};
    if (stat(file.c_str(), &st) != 0) return false;
  }
  auto reject = [&](const std::string& why) {
    if (explicit_pub) die("merge: --pub " + file + ": " + why);
    std::fprintf(stderr, "loadgen merge: not using %s: %s; loss is against --events\n", file.c_str(), why.c_str());
    return false;
  };
  for (auto& d : docs)
    if (d.value("mode", "") != "sub") return explicit_pub ? reject("only `sub` summaries have a loss") : false;
  if (!read_summary(file, pub) || pub.value("mode", "") != "pub") return reject("not a `pub` summary");
  int64_t subs_start = 0;
  for (auto& d : docs) {
    if (d.value("topic", "") != pub.value("topic", "") || d.value("target", "") != pub.value("target", ""))
      return reject("another target or topic than the subscribers'");
    if (!d.contains("conn_events")) return reject("a subscriber summary without conn_events (older loadgen)");
    int64_t st = d.value("start_ns", int64_t(0));
    if (st && (!subs_start || st < subs_start)) subs_start = st;
  }
  if (!explicit_pub && (!subs_start || pub.value("start_ns", int64_t(0)) < subs_start))
    return reject("not from this run (the publisher started before the subscribers)");
  uint64_t failed = publish_failed_of(pub), not_sent = pub.value("not_sent", uint64_t(0));
  if (failed || not_sent)
    std::fprintf(stderr, "loadgen merge: loss counted against the %" PRIu64 " accepted publishes of %s (publish_failed=%" PRIu64
                 " not_sent=%" PRIu64 ")\n", pub.value("published", uint64_t(0)), file.c_str(), failed, not_sent);
  return true;
}

int run_merge(const Opts& o) {
  if (o.files.empty()) die("merge: no files");
  std::vector<json> docs;
  for (auto& f : o.files) {
    json j;
    if (!read_summary(f, j)) die("merge: no JSON summary in " + f);
    docs.push_back(std::move(j));
  }
  json pub;
  const bool have_pub = merge_pub(o, docs, pub);
  Hist h;
  json m{{"mode", "sub-merged"}, {"processes", 0}};
  uint64_t conns = 0, ok = 0, failed = 0, closed = 0, received = 0, alive = 0, ws_bad = 0;
  bool any_ws_check = false;
  Loss loss;
  int64_t first = 0, last = 0;
  double cpu_u = 0, cpu_s = 0, hs = 0;
  json reasons = json::array(), fails = json::object();
  bool have_hist = false;
  for (auto& j : docs) {
    m["processes"] = m["processes"].get<int>() + 1;
    for (auto k : {"target", "transport", "topic", "events_per_conn"})
      if (j.contains(k)) m[k] = j[k];
    m["mode_in"] = j.value("mode", "");
    conns += j.value("connections", 0ull);
    ok += j.value("ok", 0ull);
    failed += j.value("failed", 0ull);
    closed += j.value("closed_by_server", 0ull);
    alive += j.value("alive_at_end", 0ull);
    uint64_t got = j.value("received", j.value("events_received", 0ull));
    received += got;
    if (have_pub) {
      loss += loss_against(j["conn_events"], j.value("ok", 0ull), got, j.value("events_per_conn", 0L), &pub);
    } else {
      Loss l;
      l.expected = j.value("expected", 0ull);
      l.loss = j.value("loss", 0ull);
      l.extra = j.value("extra", 0ull);
      l.complete = j.value("conns_complete", 0ull);
      loss += l;
    }
    if (j.contains("ws_accept_mismatch")) {
      any_ws_check = true;
      ws_bad += j["ws_accept_mismatch"].get<uint64_t>();
    }
    hs = std::max(hs, j.value("handshake_s", 0.0));
    int64_t fi = j.value("first_ns", int64_t(0)), la = j.value("last_ns", int64_t(0));
    if (fi && (!first || fi < first)) first = fi;
    if (la > last) last = la;
    if (j.contains("self")) {
      cpu_u += j["self"].value("cpu_user_s", 0.0);
      cpu_s += j["self"].value("cpu_sys_s", 0.0);
    }
    reasons.push_back(j.value("exit_reason", ""));
    if (j.contains("fail_reasons"))
      for (auto& [k, v] : j["fail_reasons"].items()) fails[k] = fails.value(k, 0) + v.get<int>();
    if (j.contains("hist")) {
      have_hist = true;
      h.merge_sparse(j["hist"], j.value("hist_max_us", 0ull), j.value("hist_sum_us", 0.0));
    }
  }
  double span = last > first ? double(last - first) / 1e9 : 0;
  m["connections"] = conns;
  m["ok"] = ok;
  m["failed"] = failed;
  m["closed_by_server"] = closed;
  m["alive_at_end"] = alive;
  m["handshake_s"] = hs;
  m["received"] = received;
  put_loss(m, loss, have_pub ? &pub : nullptr);
  if (m.value("mode_in", "") != "sub") m.erase("loss_basis");
  if (any_ws_check) m["ws_accept_mismatch"] = ws_bad;
  m["span_s"] = span;
  m["deliveries_per_s"] = span > 0 ? std::round(double(received) / span) : 0.0;
  if (have_hist) m["latency_ms"] = h.summary_ms();
  m["exit_reasons"] = reasons;
  if (!fails.empty()) m["fail_reasons"] = fails;
  m["loadgen_cpu_s"] = std::round((cpu_u + cpu_s) * 100) / 100;
  if (!o.label.empty()) m["label"] = o.label;
  emit(o, m);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Opts o = parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction su{};
  su.sa_handler = on_usr1;
  sigaction(SIGUSR1, &su, nullptr);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (o.mode != "merge" && rlim_t(o.conns) + 64 > rl.rlim_cur)
      die("--conns " + std::to_string(o.conns) + " exceeds the fd limit " + std::to_string(rl.rlim_cur) +
          "; spread over several processes");
  }
  if (o.mode == "sub" || o.mode == "idle") {
    static SubRunner* r = new SubRunner(o);  // large object: keep off the stack
    return r->run();
  }
  if (o.mode == "pub") {
    PubRunner r(o);
    return r.run();
  }
  if (o.mode == "merge") return run_merge(o);
  usage();
}
