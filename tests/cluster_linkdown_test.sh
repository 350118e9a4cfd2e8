#!/usr/bin/env bash
# A host whose link goes down mid-run (scripts/cluster.sh, 2 hosts): the job must end within
# --comm-timeout (plus the liveness check and the daemons' keep-alive, ≤ 15 s more) with a
# message naming the silent rank and its host, and `--resume` from the checkpoints written before
# the failure must end byte-identical to an uninterrupted run.
#
#   tests/cluster_linkdown_test.sh DSIGNSGD
#
# Exits 77 (CTest: skipped) when not root or network namespaces are unavailable. Removes the
# cluster when it ends, also when interrupted.
set -uo pipefail
binary=$1
source "$(cd "$(dirname "$0")" && pwd)/cluster_common.sh"
cluster_setup 2 100mbit

timeout_s=5
bound=$((timeout_s + 15))
args="--method dsgd --dim 200000 --steps 400 --runs 1 --seed 11 --workers 2 --comm-timeout $timeout_s"
args="$args --checkpoint-every 10 --checkpoint-dir $scratch/ck"
"$binary" train --method dsgd --dim 200000 --steps 400 --runs 1 --seed 11 --workers 2 \
  --out "$scratch/reference" > /dev/null 2>&1 || { echo "FAIL: in-process reference failed"; exit 1; }

mpi_train() {  # in the background, its own process group: mpirun and its daemons
  setsid "$cluster" run -- sh -c "timeout --foreground 300 mpirun \$DSIGNSGD_MPI_ARGS -n 2 $binary train \
      $args --backend mpi $*" > "$scratch/log" 2>&1 &
  child=$!
}

mpi_train --out "$scratch/interrupted"
# The link goes down once a checkpoint exists (and well before the run could end).
for _ in $(seq 1 300); do
  [ -n "$(ls "$scratch/ck" 2>/dev/null)" ] && break
  kill -0 "$child" 2>/dev/null || break
  sleep 0.1
done
[ -n "$(ls "$scratch/ck" 2>/dev/null)" ] || { echo "FAIL: no checkpoint written"; cat "$scratch/log"; exit 1; }
sleep 1
ip link set ${prefix}2-br down
down_at=$(date +%s.%N)
wait "$child"
status=$?
child=""
elapsed=$(/usr/bin/python3 -c "import time; print(f'{time.time() - $down_at:.1f}')")
echo "link of host 2 down: the job ended with exit $status after ${elapsed} s (bound ${bound} s)"
grep -m1 "communication failed" "$scratch/log"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
[ "$status" -ne 0 ] || fail "the job exited 0"
[ "$status" -ne 124 ] || fail "the job hung until timeout(1) ended it"
/usr/bin/python3 -c "import sys; sys.exit(0 if $elapsed <= $bound else 1)" || fail "took ${elapsed} s"
grep -q "rank 1 (.*${subnet//./\\.}\.2\]).*link is down" "$scratch/log" ||
  fail "the message does not name rank 1 on host $subnet.2"
[ -e "$scratch/interrupted/metrics.csv" ] && fail "the failed run left results"

ip link set ${prefix}2-br up
# The host comes back: its link forwards again and the failed job's processes on it are gone
# (its daemon ends once it notices that mpirun is unreachable).
for _ in $(seq 1 300); do
  [ "$(cat /sys/class/net/${prefix}2-br/brport/state)" = 3 ] &&
    [ "$(ip netns exec ${prefix}2 cat /sys/class/net/eth0/operstate)" = up ] &&
    [ -z "$(ip netns pids ${prefix}2)" ] && break
  sleep 0.1
done
[ -z "$(ip netns pids ${prefix}2)" ] || fail "processes of the failed job still run on host 2: $(ip netns pids ${prefix}2)"
mpi_train --resume "$scratch/ck" --out "$scratch/resumed"
wait "$child"
status=$?
child=""
if [ "$status" != 0 ]; then
  fail "the resumed run failed (exit $status)"; head -n 30 "$scratch/log"
elif cmp -s "$scratch/reference/metrics.csv" "$scratch/resumed/metrics.csv"; then
  echo "ok   resumed after the link failure: metrics.csv = uninterrupted run"
else
  fail "resumed metrics.csv differs from the uninterrupted run"
fi
echo "$failures failure(s)"
[ "$failures" = 0 ]
