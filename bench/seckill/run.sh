#!/usr/bin/env bash
# Seckill admission benchmark: a Release rushcast on 127.0.0.1:8089 with a fresh data dir
# (SQLite, synchronous=FULL, group commit), stock 1,000,000, then wrk with unique userIds.
# Appends the command, `date` and wrk's figures to bench/results/seckill-<date>.txt.
# Env: RUSHCAST_BIN (default build-release/rushcast), THREADS (wrk -t, 2), CONNS (64),
#      DURATION (20s). Bounded: one daemon, one wrk run, both stopped at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${RUSHCAST_BIN:-$root/build-release/rushcast}
threads=${THREADS:-2}
conns=${CONNS:-64}
duration=${DURATION:-20s}
out="$root/bench/results/seckill-$(date +%F).txt"
data=$(mktemp -d /tmp/rushcast-seckill-bench.XXXXXX)
port_file="$data/port"

"$bin" --config "$here/config.json" --listen 127.0.0.1:0 --port-file "$port_file" \
  --data-dir "$data" >"$data/daemon.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do [[ -s "$port_file" ]] && break; sleep 0.1; done
port=$(tr -d '\n' <"$port_file")
url="http://127.0.0.1:$port"

cmd="wrk -t$threads -c$conns -d$duration --latency -s bench/seckill/seckill.lua $url"
{
  echo "=== seckill admission benchmark"
  echo "date: $(date)"
  echo "host: $(uname -srm), $(nproc) cores; rushcast $("$bin" --version 2>/dev/null || echo '?')"
  echo "config: bench/seckill/config.json (stock 1000000, synchronous FULL, group_commit_max 512, threads 2)"
  echo "command: $cmd"
  (cd "$root" && $cmd)
  echo "after: $(curl -s "$url/api/sales/bench")"
  echo "rss_kb: $(ps -o rss= -p "$pid")"
  echo
} | tee -a "$out"
