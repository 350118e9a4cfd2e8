#!/usr/bin/env bash
# A rank that dies (kill -9) or stops (SIGSTOP) must end the whole job, with a non-zero exit code,
# within the communication timeout (plus start-up). Usage: mpi_fault_test.sh MPIEXEC DSIGNSGD KIND
set -u
mpiexec=$1 binary=$2 kind=$3
timeout_s=5
bound=$((timeout_s + 20))
start=$(date +%s)
DSIGNSGD_FAULT="1:500:$kind" timeout 120 "$mpiexec" -n 2 "$binary" train --backend mpi --workers 2 \
  --method dsignsgd --dim 1000 --steps 1000000 --runs 1 --comm-timeout "$timeout_s" \
  > fault_$kind.log 2>&1
code=$?
elapsed=$(( $(date +%s) - start ))
echo "fault=$kind exit=$code elapsed=${elapsed}s (bound ${bound}s)"
tail -n 5 fault_$kind.log
[ "$code" -ne 0 ] || { echo "FAIL: the job exited 0"; exit 1; }
[ "$code" -ne 124 ] || { echo "FAIL: the job hung until timeout(1) killed it"; exit 1; }
[ "$elapsed" -le "$bound" ] || { echo "FAIL: took ${elapsed}s > ${bound}s"; exit 1; }
echo "PASS"
