#!/usr/bin/env bash
# Runs every libFuzzer target in DIR for SECONDS each, starting from its seed corpus in
# fuzz/corpus/<target> (which holds the regression inputs too). New inputs go to a scratch copy,
# not into the repository. Fails on the first crash, leak, timeout (> 10 s for one input),
# out-of-memory or sanitizer report; the input is kept in DIR/artifacts/ and printed as a command
# that replays it.
#   scripts/run_fuzzers.sh build-fuzz/fuzz 30
set -euo pipefail
dir=$1
seconds=${2:-30}
root="$(cd "$(dirname "$0")/.." && pwd)"
artifacts="$dir/artifacts"
mkdir -p "$artifacts"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/dsignsgd-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
status=0
printf '%-18s %8s %10s %8s %s\n' target seconds executions corpus result
for target in "$dir"/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  seeds="$root/fuzz/corpus/$name"
  mkdir -p "$scratch/$name"
  log="$scratch/$name.log"
  if "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$artifacts/$name-" "$scratch/$name" "$seeds" > "$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  corpus=$(find "$scratch/$name" "$seeds" -type f | wc -l)
  printf '%-18s %8s %10s %8s %s\n' "$name" "$seconds" "${runs:-?}" "$corpus" "$result"
  if [ "$result" = FAILED ]; then
    grep -E "ERROR|SUMMARY|Test unit written|deadly signal|uncaught|runtime error" "$log" | head -n 20
    for input in "$artifacts/$name-"*; do
      [ -f "$input" ] && echo "  replay: $target $input  (add it to $seeds as a regression)"
    done
  fi
done
exit $status
