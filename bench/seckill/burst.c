/* The buying burst: N buyers press "buy" at once, each on a NEW connection with ONE request
 * (POST /api/seckill with a fresh userId), then the connection closes. Single-threaded epoll,
 * 127.0.0.1 only, every burst bounded by a 10 s deadline. Latency is counted from the
 * connect() of a buyer to the last byte of its answer (the connect is part of what a buyer waits).
 * With KEEPALIVE=1 in the environment the N connections are opened first, untimed (the page's
 * browsers already hold a keep-alive connection), and each burst sends one request on every one
 * of them at once: latency from the buyer's write to the last byte of its answer.
 *   burst PORT CONNS BURSTS SALT [SALE_ID]
 * Prints one line per burst and a summary: answers by kind, refusals (429/503: a limit),
 * errors (connect/reset/timeout), p50/p99/max latency. Build: cc -O2 -o burst burst.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { st_connecting, st_reading, st_done, st_idle };
struct buyer {
  int fd, state;
  double t0;
  size_t sent, got;
  char req[512];
  size_t req_len;
  char buf[2048];
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}
static double pct(double* v, int n, double p) {
  if (n == 0) return 0;
  int i = (int)(p / 100.0 * n);
  if (i >= n) i = n - 1;
  return v[i];
}

/* The answer is complete once the head and Content-Length bytes of body arrived. */
static int complete(struct buyer* b) {
  b->buf[b->got] = 0;
  char* end = strstr(b->buf, "\r\n\r\n");
  if (!end) return 0;
  char* cl = strcasestr(b->buf, "\r\ncontent-length:");
  size_t len = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
  return (size_t)(b->got - (end + 4 - b->buf)) >= len;
}

/* KEEPALIVE mode: every connection is opened before the first burst, untimed. */
static int open_all(struct buyer* bs, int n, const struct sockaddr_in* addr, int ep) {
  int pending = 0;
  for (int i = 0; i < n; ++i) {
    struct buyer* b = &bs[i];
    b->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (b->fd < 0 || (connect(b->fd, (const struct sockaddr*)addr, sizeof *addr) < 0 && errno != EINPROGRESS))
      return -1;
    int one = 1;
    setsockopt(b->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    b->state = st_connecting;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (unsigned)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, b->fd, &ev);
    ++pending;
  }
  struct epoll_event evs[512];
  double start = now_ms();
  while (pending > 0 && now_ms() - start < 10000) {
    int k = epoll_wait(ep, evs, 512, 100);
    for (int e = 0; e < k; ++e) {
      struct buyer* b = &bs[evs[e].data.u32];
      if (b->state != st_connecting) continue;
      if (evs[e].events & (EPOLLERR | EPOLLHUP)) return -1;
      b->state = st_idle;
      struct epoll_event ev = {.events = 0, .data.u32 = evs[e].data.u32};
      epoll_ctl(ep, EPOLL_CTL_MOD, b->fd, &ev);
      --pending;
    }
  }
  return pending == 0 ? 0 : -1;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: burst PORT CONNS BURSTS SALT [SALE_ID]\n");
    return 2;
  }
  int port = atoi(argv[1]), n = atoi(argv[2]), bursts = atoi(argv[3]);
  const char* salt = argv[4];
  const char* sale = argc > 5 ? argv[5] : NULL;
  if (n < 1 || n > 20000 || bursts < 1 || bursts > 100) return 2;
  struct buyer* bs = calloc((size_t)n, sizeof *bs);
  double* lat = malloc(sizeof(double) * (size_t)n * (size_t)bursts);
  int nlat = 0;
  long queued = 0, sold_out = 0, refused = 0, other = 0, errors = 0;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  int ep = epoll_create1(0);
  struct epoll_event evs[512];
  const char* ka_env = getenv("KEEPALIVE");
  int keepalive = ka_env && strcmp(ka_env, "1") == 0;
  if (keepalive && open_all(bs, n, &addr, ep) != 0) {
    printf("bursts: %d x %d buyers: could not open every keep-alive connection\n", bursts, n);
    return 1;
  }
  for (int r = 0; r < bursts; ++r) {
    long bq = 0, bso = 0, bref = 0, both = 0, berr = 0;
    int left = n, first_lat = nlat;
    double start = now_ms();
    for (int i = 0; i < n; ++i) {
      struct buyer* b = &bs[i];
      char body[200];
      int bl = sale ? snprintf(body, sizeof body, "{\"userId\":\"x%s-%d-%d\",\"saleId\":\"%s\"}", salt, r, i, sale)
                    : snprintf(body, sizeof body, "{\"userId\":\"x%s-%d-%d\"}", salt, r, i);
      b->req_len = (size_t)snprintf(b->req, sizeof b->req,
                                    "POST /api/seckill HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                                    port, bl, body);
      b->sent = b->got = 0;
      if (keepalive) {
        /* Already connected: the request goes now, and the clock starts with it. */
        if (b->state == st_done) {
          ++berr;
          --left;
          continue;
        }
        b->t0 = now_ms();
        b->state = st_connecting;
        struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (unsigned)i};
        epoll_ctl(ep, EPOLL_CTL_MOD, b->fd, &ev);
        continue;
      }
      b->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      b->t0 = now_ms();
      if (b->fd < 0 || (connect(b->fd, (struct sockaddr*)&addr, sizeof addr) < 0 && errno != EINPROGRESS)) {
        if (b->fd >= 0) close(b->fd);
        b->state = st_done;
        ++berr;
        --left;
        continue;
      }
      int one = 1;
      setsockopt(b->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      b->state = st_connecting;
      struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (unsigned)i};
      epoll_ctl(ep, EPOLL_CTL_ADD, b->fd, &ev);
    }
    while (left > 0 && now_ms() - start < 10000) {
      int k = epoll_wait(ep, evs, 512, 100);
      for (int e = 0; e < k; ++e) {
        struct buyer* b = &bs[evs[e].data.u32];
        if (b->state == st_done || b->state == st_idle) continue;
        int fail = (evs[e].events & (EPOLLERR)) != 0;
        if (!fail && b->state == st_connecting && (evs[e].events & EPOLLOUT)) {
          ssize_t w = write(b->fd, b->req + b->sent, b->req_len - b->sent);
          if (w < 0 && errno != EAGAIN) fail = 1;
          if (w > 0) b->sent += (size_t)w;
          if (b->sent == b->req_len) {
            b->state = st_reading;
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[e].data.u32};
            epoll_ctl(ep, EPOLL_CTL_MOD, b->fd, &ev);
          }
        }
        if (!fail && (evs[e].events & (EPOLLIN | EPOLLHUP))) {
          ssize_t g = read(b->fd, b->buf + b->got, sizeof b->buf - 1 - b->got);
          if (g > 0) b->got += (size_t)g;
          if (g == 0 || (g < 0 && errno != EAGAIN) || b->got >= sizeof b->buf - 1) fail = !complete(b);
        }
        if (fail || (b->got > 0 && complete(b))) {
          if (fail) {
            ++berr;
          } else {
            lat[nlat++] = now_ms() - b->t0;
            int status = atoi(b->buf + 9);
            if (status == 200 && strstr(b->buf, "\"queued\"")) ++bq;
            else if (status == 200 && strstr(b->buf, "\"sold_out\"")) ++bso;
            else if (status == 429 || status == 503) ++bref;
            else ++both;
          }
          if (keepalive && !fail) {
            b->state = st_idle;  /* the connection stays for the next burst */
            struct epoll_event ev = {.events = 0, .data.u32 = evs[e].data.u32};
            epoll_ctl(ep, EPOLL_CTL_MOD, b->fd, &ev);
          } else {
            close(b->fd);
            b->state = st_done;
          }
          --left;
        }
      }
    }
    for (int i = 0; i < n; ++i)
      if (bs[i].state != st_done && !(keepalive && bs[i].state == st_idle)) {
        close(bs[i].fd);
        bs[i].state = st_done;
        ++berr;
      }
    double took = now_ms() - start;
    int m = nlat - first_lat;
    qsort(lat + first_lat, (size_t)m, sizeof(double), cmp);
    printf("burst %d: buyers %d queued %ld sold_out %ld refused %ld other %ld errors %ld "
           "p50 %.1f ms p99 %.1f ms max %.1f ms, all answered in %.0f ms\n",
           r + 1, n, bq, bso, bref, both, berr, pct(lat + first_lat, m, 50),
           pct(lat + first_lat, m, 99), m ? lat[nlat - 1] : 0.0, took);
    queued += bq; sold_out += bso; refused += bref; other += both; errors += berr;
    usleep(300 * 1000);  /* let the server settle between bursts */
  }
  qsort(lat, (size_t)nlat, sizeof(double), cmp);
  printf("bursts: %d x %d buyers: queued %ld sold_out %ld refused %ld other %ld errors %ld "
         "p50 %.1f ms p99 %.1f ms max %.1f ms\n",
         bursts, n, queued, sold_out, refused, other, errors, pct(lat, nlat, 50),
         pct(lat, nlat, 99), nlat ? lat[nlat - 1] : 0.0);
  return 0;
}
