#!/usr/bin/env bash
# Churn soak (issue 17): starts rushcast on 127.0.0.1 with bench/soak/config.json and a fresh
# data dir (or uses a running one: URL, SERVER_PID and PUBLISH_KEY set), runs soak.mjs for
# DURATION (default 30m), and writes its report lines to bench/results/soak-<date>-<time>.txt
# (OUT overrides). Env of soak.mjs passes through: STREAMS, PUBLISH_RATE, ADMIT_RATE, BID_RATE,
# RECONNECT_MIN_S/MAX_S, REPORT_S, AFTER_S... RUSHCAST_BIN defaults to build/rushcast.
# Bounded: one daemon (stopped at the end), one Node process that stops by itself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${RUSHCAST_BIN:-$root/build/rushcast}
out=${OUT:-$root/bench/results/soak-$(date +%F-%H%M).txt}
export DURATION=${DURATION:-30m}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

pid=""
data=""
cleanup() {
  if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [[ -n "$data" ]]; then rm -rf "$data"; fi
}
trap cleanup EXIT INT TERM

if [[ -z "${URL:-}" ]]; then
  data=$(mktemp -d /tmp/rushcast-soak.XXXXXX)
  "$bin" --config "$here/config.json" --listen 127.0.0.1:0 --port-file "$data/port" \
    --data-dir "$data" >"$data/daemon.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do [[ -s "$data/port" ]] && break; sleep 0.1; done
  [[ -s "$data/port" ]] || { echo "rushcast did not start:"; cat "$data/daemon.log"; exit 1; } >&2
  export URL="http://127.0.0.1:$(tr -d '\n' <"$data/port")"
  export SERVER_PID=$pid
  export PUBLISH_KEY=soak-publish-key
fi

{
  echo "# soak $(date -u +%FT%TZ) host $(uname -srm), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); rushcast $("$bin" --version 2>/dev/null || echo '?')"
  echo "# command: DURATION=$DURATION${STREAMS:+ STREAMS=$STREAMS} bench/soak/run.sh; config bench/soak/config.json${data:+ (self-started, pid $pid)}"
} | tee "$out"
node "$here/soak.mjs" 2>&1 | tee -a "$out"
if [[ -n "$data" ]]; then
  echo "# daemon log (warnings and errors): $(wc -l <"$data/daemon.log") lines" | tee -a "$out"
  tail -n 20 "$data/daemon.log" | sed 's/^/# /' | tee -a "$out"
fi
