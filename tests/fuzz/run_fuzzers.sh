#!/usr/bin/env bash
# Runs every fuzz target of a RUSHCAST_FUZZ build for a fixed time each (make fuzz).
# usage: run_fuzzers.sh BUILD_DIR SECONDS [TARGET...]
# New inputs go to BUILD_DIR/fuzz-out/<name>/corpus (never into the repository); a crash, leak,
# timeout or sanitizer report stops that target, fails the run, and leaves its reproducer as
# BUILD_DIR/fuzz-out/<name>/crash-* (or leak-*, timeout-*, oom-*). Replay one with
#   BUILD_DIR/tests/fuzz/fuzz_<name> BUILD_DIR/fuzz-out/<name>/crash-...
set -uo pipefail
build=${1:?build dir}
seconds=${2:?seconds per target}
shift 2
src=$(cd "$(dirname "$0")" && pwd)
out="$build/fuzz-out"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$src"/fuzz_*.cpp; do n=$(basename "$f" .cpp); names+=("${n#fuzz_}"); done
fi
passed=0
failed=0
for name in "${names[@]}"; do
  bin="$build/tests/fuzz/fuzz_$name"
  dir="$out/$name"
  mkdir -p "$dir/corpus"
  # -timeout: an input running 10 s is a hang; -max_len: inputs as large as the seeds need.
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$dir/" "$dir/corpus" "$src/corpus/$name" \
    >"$dir/log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | grep -o '[0-9]*$')
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    echo "fuzz $name: ok, ${runs:-?} inputs in ${seconds}s"
  else
    failed=$((failed + 1))
    echo "fuzz $name: FAILED (exit $rc); reproducer(s):"
    ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* 2>/dev/null | sed 's/^/  /'
    grep -m1 -E 'ERROR: |runtime error:|fuzz invariant violated|deadly signal' "$dir/log" | sed 's/^/  /'
    tail -n 40 "$dir/log" | sed 's/^/  | /'
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
