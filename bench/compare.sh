#!/usr/bin/env bash
# Runs one scenario REPS times against several servers, interleaved (A B C A B C ...) so that a
# change in the machine's load hits every server alike, and prints each run's summary line and
# then the median of every numeric field per server.
#   bench/compare.sh s1|s3 sse|ws REPS TARGET...        (TARGET: rushcast | nchan | epoll)
# Env: RUSHCAST_URL (default http://127.0.0.1:18080), RUSHCAST_KEY (demo-publish-key),
#      RUSHCAST_PID / EPOLL_PID (optional, adds server CPU to S1), plus the drivers' own (N, ...).
# Appends everything to RESULTS if set.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
S="${1:?s1|s3}"; TR="${2:?sse|ws}"; REPS="${3:?reps}"; shift 3
[ $# -ge 1 ] || { echo "name at least one target" >&2; exit 2; }
out="$(mktemp)"; trap 'rm -f "$out"' EXIT
log() { echo "$*"; [ -n "${RESULTS:-}" ] && echo "$*" >> "$RESULTS"; return 0; }
log "# bench/compare.sh $S $TR $REPS $* — $(date -u '+%Y-%m-%dT%H:%M:%SZ'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), N=${N:-default}"
for ((i = 1; i <= REPS; i++)); do
  for t in "$@"; do
    case "$t" in
      rushcast) line="$(SERVER_PID="${RUSHCAST_PID:-}" "$here/run_${S}.sh" rushcast "$TR" "${RUSHCAST_URL:-http://127.0.0.1:18080}" "${RUSHCAST_KEY:-demo-publish-key}" 2>/dev/null)" ;;
      epoll) line="$(SERVER_PID="${EPOLL_PID:-}" "$here/run_${S}.sh" epoll "$TR" 2>/dev/null)" ;;
      *) line="$("$here/run_${S}.sh" "$t" "$TR" 2>/dev/null)" ;;
    esac
    log "$line  # load $(cut -d' ' -f1 /proc/loadavg)"
    echo "$t $line" >> "$out"
  done
done
log "# medians over $REPS runs"
for t in "$@"; do
  med="$(grep "^$t " "$out" | tr ' ' '\n' | grep -E '^[a-z_/.0-9]+=[0-9.]+(ms)?$' | sed 's/ms$//' |
    awk -F= '{v[$1] = v[$1] " " $2} END {for (k in v) print k, v[k]}' |
    while read -r k vals; do
      m="$(echo "$vals" | tr ' ' '\n' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')"
      echo -n "$k=$m "
    done)"
  log "MEDIAN $S $TR target=$t $med"
done
