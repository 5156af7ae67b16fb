#!/usr/bin/env bash
# S2 memory: N idle subscriber connections; server RSS per connection from /proc/PID/status VmRSS
# (summed over PID and its direct children, e.g. nginx master + workers), plus PSS for reference.
#   SERVER_PID=1234 bench/run_s2.sh rushcast|nchan|epoll sse|ws [URL] [PUBLISH_KEY]
#   (or pass the PID as the 5th argument; for nchan it defaults to the pid in NCHAN_PREFIX/nginx.pid)
# Env: N=15000 HOLD=60 SETTLE=3 PER_PROC=2500 RAMP_MS=5000 TOPIC=...
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init "$@"
SERVER_PID="${5:-${SERVER_PID:-}}"
if [ -z "$SERVER_PID" ] && [ "$TARGET" = nchan ] && [ -f "${NCHAN_PREFIX:-/tmp/nchan-bench}/nginx.pid" ]; then
  SERVER_PID="$(cat "${NCHAN_PREFIX:-/tmp/nchan-bench}/nginx.pid")"
fi
[ -n "$SERVER_PID" ] && [ -r "/proc/$SERVER_PID/status" ] || { echo "S2 needs SERVER_PID (the server's pid)" >&2; exit 2; }
N="${N:-15000}"; HOLD="${HOLD:-60}"; SETTLE="${SETTLE:-3}"; RAMP_MS="${RAMP_MS:-5000}"
if [ "$TARGET" = nchan ]; then TOPIC="${TOPIC:-s2-$RUN_ID}"; else TOPIC="${TOPIC:-bench}"; fi

rss0="$(rss_kb "$SERVER_PID")"; pss0="$(pss_kb "$SERVER_PID")"
spawn_subs idle "$N" "$TOPIC" --hold "$HOLD" --ramp-ms "$RAMP_MS" --timeout "$((HOLD + 300))"
wait_ready 180
read -r ok failed < <(ready_counts)
sleep "$SETTLE"
rss1="$(rss_kb "$SERVER_PID")"; pss1="$(pss_kb "$SERVER_PID")"
bench_cleanup   # SIGTERM to our idle loadgens: they close their connections and print their summaries
wait_subs
m="$(merge_subs)"
sleep "$SETTLE"
rss2="$(rss_kb "$SERVER_PID")"
jq -n -r --argjson m "$m" --arg t "$TARGET" --arg tr "$TRANSPORT" --arg n "$N" \
  --argjson r0 "$rss0" --argjson r1 "$rss1" --argjson r2 "$rss2" --argjson p0 "$pss0" --argjson p1 "$pss1" '
  def per(a; b): if $m.ok > 0 then ((b - a) * 1024 / $m.ok | floor) else 0 end;
  "S2 target=\($t) transport=\($tr) N=\($n) ok=\($m.ok) failed=\($m.failed) closed_during_hold=\($m.closed_by_server)" +
  " rss_before=\($r0)KiB rss_with_conns=\($r1)KiB rss_after_close=\($r2)KiB" +
  " rss_per_conn=\(per($r0; $r1))B pss_per_conn=\(per($p0; $p1))B"'
