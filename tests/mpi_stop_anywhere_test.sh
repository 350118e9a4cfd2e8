#!/usr/bin/env bash
# A rank stopped from outside (kill -STOP) at a random moment — during start-up, mid-run, in any
# collective — must end the whole job with a non-zero exit code and a message, within the
# communication timeout plus start-up, and continuing it (kill -CONT) must not revive the job.
# Usage: mpi_stop_anywhere_test.sh MPIEXEC DSIGNSGD [TRIALS] [SEED]
# Each trial picks the rank count (2 or 3), the dimension (10^3 or 10^5) and the moment of the stop
# from the seed, prints them, and fails if the job is alive `bound` seconds after the stop.
set -u
mpiexec=$1 binary=$2 trials=${3:-6} seed=${4:-${DSIGNSGD_TEST_SEED:-7}}
timeout_s=5
bound=$((timeout_s + 15))  # the timeout, the 2 s liveness question, MPI_Abort; 10 s at start-up
RANDOM=$seed
echo "seed=$seed trials=$trials (DSIGNSGD_TEST_SEED=N to repeat another)"
scratch=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$scratch"; }
trap cleanup EXIT INT TERM
failures=0
for trial in $(seq 1 "$trials"); do
  ranks=$((2 + RANDOM % 2))
  dim=$([ $((RANDOM % 2)) -eq 0 ] && echo 1000 || echo 100000)
  delay_ms=$((RANDOM % 4000))  # 0 to 4 s after mpirun starts: start-up included
  out="$scratch/run$trial"
  "$mpiexec" -n "$ranks" "$binary" train --backend mpi --method dsignsgd --dim "$dim" \
    --workers "$ranks" --lr 0.001 --steps 100000000 --runs 1 --comm-timeout "$timeout_s" \
    --out "$out" > "$scratch/log$trial" 2>&1 &
  job=$!
  pids+=("$job")
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  # The last rank: the newest process running the binary under this mpirun.
  victim=$(pgrep -n -P "$job" -f "$binary" || true)
  if [ -z "$victim" ]; then
    victim=$(pgrep -n -f "^$binary train --backend mpi .*--out $out\$" || true)
  fi
  [ -n "$victim" ] && kill -STOP "$victim"
  pids+=("${victim:-}")
  stopped=$(date +%s)
  code=none
  while [ $(( $(date +%s) - stopped )) -le "$bound" ]; do
    if ! kill -0 "$job" 2>/dev/null; then wait "$job"; code=$?; break; fi
    sleep 0.2
  done
  elapsed=$(( $(date +%s) - stopped ))
  [ -n "$victim" ] && kill -CONT "$victim" 2>/dev/null
  echo "trial $trial: ranks=$ranks d=$dim stop at ${delay_ms} ms (pid ${victim:-none}): exit=$code after ${elapsed}s (bound ${bound}s)"
  if [ "$code" = none ]; then
    echo "FAIL: the job is still alive ${bound}s after the stop"; tail -n 3 "$scratch/log$trial"
    kill -9 "$job" $(pgrep -P "$job") 2>/dev/null; failures=$((failures + 1))
  elif [ "$code" -eq 0 ]; then
    echo "FAIL: the job exited 0"; failures=$((failures + 1))
  elif ! grep -q "communication failed\|stopped on request" "$scratch/log$trial"; then
    echo "FAIL: no message"; tail -n 5 "$scratch/log$trial"; failures=$((failures + 1))
  fi
  grep -m1 "communication failed" "$scratch/log$trial" | cut -c1-160
done
[ "$failures" -eq 0 ] && echo PASS || { echo "$failures failure(s)"; exit 1; }
