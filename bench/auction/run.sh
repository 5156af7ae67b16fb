#!/usr/bin/env bash
# Runs the auction benchmark against a fresh daemon on 127.0.0.1 and appends the result to
# bench/results/auction-<date>.txt. Usage: bench/auction/run.sh [watchers] [bidders] [seconds]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${RUSHCAST_BIN:-$root/build/rushcast}"
watchers="${1:-1000}"; bidders="${2:-4}"; seconds="${3:-10}"
coalesce_ms="${COALESCE_MS:-50}"
tmp="$(mktemp -d /tmp/rushcast-auction-bench.XXXXXX)"
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
cat > "$tmp/config.json" <<JSON
{"listen": {"address": "127.0.0.1", "port": 0}, "threads": 2, "log": {"level": "warn"},
 "coalesce_ms": $coalesce_ms, "default_topics": [], "sales": [],
 "storage": {"synchronous": "${SYNCHRONOUS:-full}"},
 "rate_limit": {"per_user_per_s": 1000000, "per_user_burst": 1000000,
                "per_ip_per_s": 1000000, "per_ip_burst": 1000000},
 "auctions": [{"id": "bench", "name": "bench", "start_price": 100, "min_increment": 1,
   "reserve_price": 0, "start_at": "2020-01-01T00:00:00Z", "end_at": "+1h",
   "extend_window_ms": 0, "extend_by_ms": 0}]}
JSON
"$bin" --config "$tmp/config.json" --listen 127.0.0.1:0 --port-file "$tmp/port" \
  --data-dir "$tmp/data" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port="$(cat "$tmp/port")"
mkdir -p "$root/bench/results"
out="$root/bench/results/auction-$(date +%F).txt"
cmd="node bench/auction/auction_bench.mjs $port bench $watchers $bidders $seconds"
{
  echo "# $(date)"
  echo "# command: bench/auction/run.sh $watchers $bidders $seconds (coalesce_ms=$coalesce_ms, synchronous=${SYNCHRONOUS:-full}) -> $cmd"
  echo "# host: $(nproc) cores, $(uname -sr); daemon threads 2; load generator on the same cores"
  node "$here/auction_bench.mjs" "$port" bench "$watchers" "$bidders" "$seconds"
} | tee -a "$out"
