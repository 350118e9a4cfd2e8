#!/usr/bin/env bash
# Runs across emulated hosts (scripts/cluster.sh): for H hosts at RATE, `train --backend mpi`
# over TCP between network namespaces must give metrics.csv byte-identical to the in-process run
# for DSGD, DSignSGD, majority vote and EF-SignSGD (and the sign methods with --reduction
# reduce-scatter), and the bytes the hosts' links carried must be the bytes the collectives move
# by the run's declared sizes, plus TCP/IP framing (≤ 6 %) and MPI's start-up (≤ 1 MB per host).
#
#   tests/cluster_test.sh DSIGNSGD HOSTS RATE
#
# Exits 77 (CTest: skipped) when not root or network namespaces are unavailable. Removes the
# cluster when it ends, also when interrupted.
set -uo pipefail
binary=$1
hosts=$2
rate=$3
source "$(cd "$(dirname "$0")" && pwd)/cluster_common.sh"
cluster_setup "$hosts" "$rate"

link_bytes() {  # bytes sent + received on every host's link so far
  local total=0
  for i in $(seq 1 "$hosts"); do
    local rx tx
    rx=$(cat "/sys/class/net/${prefix}${i}-br/statistics/rx_bytes")
    tx=$(cat "/sys/class/net/${prefix}${i}-br/statistics/tx_bytes")
    total=$((total + rx + tx))
  done
  echo "$total"
}

failures=0
common="--dim 200000 --steps 30 --runs 2 --seed 5 --workers $hosts"
for variant in dsgd dsignsgd majority ef-signsgd dsignsgd:reduce-scatter majority:reduce-scatter; do
  method=${variant/:/-}
  args="$common --method ${variant%%:*}"
  [ "$variant" != "${variant#*:}" ] && args="$args --reduction ${variant#*:}"
  "$binary" train $args --out "$scratch/$method.local" > /dev/null 2>&1 ||
    { echo "FAIL $method: in-process run failed"; failures=$((failures + 1)); continue; }
  before=$(link_bytes)
  # In the background and waited for, so that a signal reaches the traps at once.
  setsid "$cluster" run -- sh -c "timeout --foreground 300 mpirun \$DSIGNSGD_MPI_ARGS -n $hosts $binary train \
        $args --backend mpi --out $scratch/$method.mpi" > "$scratch/$method.log" 2>&1 &
  child=$!
  wait "$child"
  status=$?
  child=""
  if [ "$status" != 0 ]; then
    echo "FAIL $method: MPI run across $hosts hosts failed"; cat "$scratch/$method.log" | head -n 40
    failures=$((failures + 1)); continue
  fi
  after=$(link_bytes)
  if cmp -s "$scratch/$method.local/metrics.csv" "$scratch/$method.mpi/metrics.csv"; then
    echo "ok   $method: metrics.csv across $hosts hosts at $rate = in-process"
  else
    echo "FAIL $method: metrics.csv differs from the in-process run"; failures=$((failures + 1))
  fi
  # What the links must carry: an allgather (ring, recursive doubling or Bruck alike) makes every
  # rank send and receive the other ranks' messages, (N − A)·m bytes each way per step — the
  # declared received bytes — and each host link counts both directions.
  declared=$(/usr/bin/python3 -c "
import json; c = json.load(open('$scratch/$method.mpi/summary.json'))['communication']
assert c['measured_equals_declared'], c
print(2 * $hosts * c['declared_bytes_received_per_rank'])") ||
    { echo "FAIL $method: bytes handed to MPI differ from the declared bytes"; failures=$((failures + 1)); continue; }
  carried=$((after - before))
  if /usr/bin/python3 -c "import sys; d, c, h = $declared, $carried, $hosts; sys.exit(0 if d <= c <= 1.06 * d + h * 2**20 else 1)"; then
    echo "ok   $method: links carried $carried bytes for $declared declared ($(/usr/bin/python3 -c "print(f'{$carried / $declared:.3f}')")×)"
  else
    echo "FAIL $method: links carried $carried bytes, declared $declared"; failures=$((failures + 1))
  fi
done
echo "$failures failure(s)"
[ "$failures" = 0 ]
