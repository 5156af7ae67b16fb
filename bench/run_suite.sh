#!/usr/bin/env bash
# Runs S2, S1 and S3 for SSE and WebSocket against one target and appends each command, the date,
# the load average and its summary line to RESULTS. S2 runs first because it needs a freshly
# started server (a server that has just done S1 keeps its grown heap, and the RSS delta under-counts).
#   bench/run_suite.sh nchan RESULTS
#   bench/run_suite.sh rushcast RESULTS URL PUBLISH_KEY SERVER_PID
# Scenario sizes come from the environment of each driver (N, EVENTS, ...); SMALL=1 first runs
# S1 and S3 with N=1000 (after S2) as a smoke test.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
TARGET="${1:?target}"; R="${2:?results file}"; URL_ARG="${3:-}"; KEY_ARG="${4:-}"; PID_ARG="${5:-}"
[ "$TARGET" = nchan ] && PID_ARG="${PID_ARG:-$(cat "${NCHAN_PREFIX:-/tmp/nchan-bench}/nginx.pid" 2>/dev/null)}"
touch "$R"
run() {
  echo "\$ $*" >> "$R"
  echo "# date: $(date -u '+%Y-%m-%dT%H:%M:%SZ')  load: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$R"
  mkdir -p "$here/results/tmp"; env "$@" 2>>"$here/results/tmp/$(basename "$R").stderr" | tee -a "$R"
  echo >> "$R"
}
args() { echo "$TARGET $1 $URL_ARG $KEY_ARG" | xargs; }
for tr in sse ws; do
  if [ -n "$URL_ARG" ]; then run SERVER_PID="$PID_ARG" "$here/run_s2.sh" $(args $tr)
  else run SERVER_PID="$PID_ARG" "$here/run_s2.sh" "$TARGET" "$tr"; fi
done
if [ "${SMALL:-0}" = 1 ]; then
  for tr in sse ws; do run N=1000 "$here/run_s1.sh" $(args $tr); done
  for tr in sse ws; do run N=1000 "$here/run_s3.sh" $(args $tr); done
fi
for tr in sse ws; do run "$here/run_s1.sh" $(args $tr); done
for tr in sse ws; do run "$here/run_s3.sh" $(args $tr); done
