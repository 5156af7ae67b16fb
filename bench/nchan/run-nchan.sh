#!/usr/bin/env bash
# Start nginx+nchan in the foreground (background job of this script's caller) with a scratch prefix.
#   bench/nchan/run-nchan.sh [PREFIX_DIR]   → prints "NCHAN_PID=<master pid>" and leaves it running.
# Stop it with: kill <master pid>   (the workers exit with it)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefix="${1:-${TMPDIR:-/tmp}/nchan-bench-$$}"
mkdir -p "$prefix"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
nginx -p "$prefix" -c "$here/nginx-nchan.conf" -e stderr -t >/dev/null 2>&1 || {
  nginx -p "$prefix" -c "$here/nginx-nchan.conf" -e stderr -t; exit 1; }
nohup nginx -p "$prefix" -c "$here/nginx-nchan.conf" -e stderr -g 'daemon off;' >"$prefix/nginx.log" 2>&1 &
pid=$!
for _ in $(seq 50); do
  if curl -s -o /dev/null "http://127.0.0.1:8090/nchan_status"; then break; fi
  sleep 0.1
done
echo "NCHAN_PID=$pid"
echo "NCHAN_PREFIX=$prefix"
