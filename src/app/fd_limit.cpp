// Owns the check of limits.max_connections against RLIMIT_NOFILE. Used by app/server.
#include "rushcast/app/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace rushcast::app {

std::uint64_t fds_needed(std::size_t max_connections, unsigned threads) {
  // 3 stdio, SQLite's database, WAL and shm, the log file, the listener, a signal pipe, and per
  // shard an epoll, an eventfd and a timerfd; the rest is headroom for what accept races in.
  constexpr std::uint64_t own = 64;
  return static_cast<std::uint64_t>(max_connections) + own + 4ull * std::max(1u, threads);
}

std::string fd_limit_warning(std::size_t max_connections, std::uint64_t needed,
                             std::uint64_t limit) {
  if (limit >= needed) return {};
  return "limits.max_connections is " + std::to_string(max_connections) +
         " but this process may open only " + std::to_string(limit) +
         " file descriptors (RLIMIT_NOFILE); about " + std::to_string(needed) +
         " are needed. Beyond that, accepts fail (EMFILE) and so may store writes. Raise the "
         "limit (LimitNOFILE=" + std::to_string(needed) +
         " or more in the systemd unit, `ulimit -n` in a shell; see docs/OPERATIONS.md) or "
         "lower limits.max_connections";
}

std::uint64_t raise_fd_limit(std::uint64_t needed) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < needed) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max == RLIM_INFINITY ? needed : std::min<rlim_t>(needed, rl.rlim_max);
    if (want.rlim_cur > rl.rlim_cur && ::setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(rl.rlim_cur);
}

}  // namespace rushcast::app
