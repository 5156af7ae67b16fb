#!/usr/bin/env bash
# Issue 13 bids benchmark: W WebSocket watchers and B closed-loop bidders (WebSocket, then HTTP
# keep-alive POST /api/bid) against a fresh daemon per run, for each binary given, interleaved
# round by round so that peers share the machine's load. One JSON line per run, prefixed by the
# binary's label, appended to bench/results/bids-<date>.txt.
# Usage: bench/auction/run_bids.sh ROUNDS SECONDS LABEL=BINARY [LABEL=BINARY ...]
#   env: WATCHERS (1000), BIDDERS (64), MODES ("ws http"), SYNCHRONOUS (full), COALESCE_MS (50),
#        PERF=1 to record `perf record -g` of the daemon for each run into $PERF_DIR.
# Needs build-bench/bidbench: cmake -S bench -B build-bench -DCMAKE_BUILD_TYPE=Release &&
#   cmake --build build-bench --target bidbench
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
client="${BIDBENCH:-$root/build-bench/bidbench}"
rounds="$1"; seconds="$2"; shift 2
watchers="${WATCHERS:-1000}"; bidders="${BIDDERS:-64}"; modes="${MODES:-ws http}"
mkdir -p "$root/bench/results"
out="$root/bench/results/bids-$(date +%F).txt"
tmp="$(mktemp -d /tmp/rushcast-bids.XXXXXX)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cat > "$tmp/config.json" <<JSON
{"listen": {"address": "127.0.0.1", "port": 0}, "threads": 2, "log": {"level": "warn"},
 "coalesce_ms": ${COALESCE_MS:-50}, "default_topics": [], "sales": [],
 "storage": {"synchronous": "${SYNCHRONOUS:-full}"},
 "limits": {"max_connections": 20000, "max_connections_per_ip": 20000},
 "rate_limit": {"per_user_per_s": 1000000, "per_user_burst": 1000000,
                "per_ip_per_s": 1000000, "per_ip_burst": 1000000},
 "auctions": [{"id": "bench", "name": "bench", "start_price": 100, "min_increment": 1,
   "reserve_price": 0, "start_at": "2020-01-01T00:00:00Z", "end_at": "+1h",
   "extend_window_ms": 0, "extend_by_ms": 0}]}
JSON
echo "# $(date -u +%FT%TZ) run_bids.sh $rounds x ${seconds}s, $watchers watchers, $bidders bidders, modes: $modes; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
for r in $(seq "$rounds"); do
  for peer in "$@"; do
    label="${peer%%=*}"; bin="${peer#*=}"
    for mode in $modes; do
      rm -rf "$tmp/data" "$tmp/port"
      "$bin" --config "$tmp/config.json" --listen 127.0.0.1:0 --port-file "$tmp/port" \
        --data-dir "$tmp/data" >"$tmp/log" 2>&1 &
      pid=$!
      for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
      perf_pid=""
      if [ "${PERF:-0}" = 1 ]; then
        mkdir -p "${PERF_DIR:-/tmp/rushcast-bids-perf}"
        (sleep 3; exec perf record -F 499 -g -p "$pid" -o "${PERF_DIR:-/tmp/rushcast-bids-perf}/$label-$mode-$r.data" -- sleep "$((seconds - 1))") >/dev/null 2>&1 &
        perf_pid=$!
      fi
      res="$("$client" --port "$(cat "$tmp/port")" --watchers "$watchers" --bidders "$bidders" \
        --seconds "$seconds" --mode "$mode" --pid "$pid")"
      [ -n "$perf_pid" ] && wait "$perf_pid" || true
      echo "$label round=$r load=$(cut -d' ' -f1 /proc/loadavg) $res" | tee -a "$out"
      kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    done
  done
done
