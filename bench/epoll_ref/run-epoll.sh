#!/usr/bin/env bash
# Start the raw epoll reference server in the background on 127.0.0.1:PORT (default 8070).
#   bench/epoll_ref/run-epoll.sh [PORT] [epoll_ref options...]   → prints "EPOLL_PID=<pid>"
#   e.g. bench/epoll_ref/run-epoll.sh 8070 --threads 2     or    ... 8070 --no-gather
# Stop it with: kill <pid>   (it prints its counters to its log on exit)
# Env: EPOLL_REF=/path/to/epoll_ref (default build-bench/epoll_ref), EPOLL_LOG (default /tmp/epoll-ref-<port>.log)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${EPOLL_REF:-$here/../../build-bench/epoll_ref}"
port="${1:-8070}"; [ $# -gt 0 ] && shift
log="${EPOLL_LOG:-${TMPDIR:-/tmp}/epoll-ref-$port.log}"
[ -x "$bin" ] || { echo "epoll_ref not built: cmake -S bench -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2" >&2; exit 2; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
nohup "$bin" --port "$port" "$@" >"$log" 2>&1 &
pid=$!
for _ in $(seq 50); do
  if curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; then break; fi
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
echo "EPOLL_PID=$pid"
echo "EPOLL_LOG=$log"
