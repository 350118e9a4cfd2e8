#!/usr/bin/env bash
# MPI resume must not mix states, and an input error one rank sees must end the job with exit 2
# and its message (issue 30, items 2 and 3). Usage: mpi_resume_test.sh MPIEXEC DSIGNSGD
# A 2-rank job is cut by killing rank 1 after its checkpoint at step 3000 (another at 2000); then
# resume intact (exit 0), with each rank's file removed in turn, with one rank's file from the
# other job (steps differ), and with other flags (exit 2, the message, within 30 s each); a --out
# that rank 0 alone refuses; and the intact resume ends where the uninterrupted job does.
set -u
mpiexec=$1 binary=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/mpi_resume.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
common=(train --backend mpi --workers 2 --method dsignsgd --dim 200 --steps 6000 --runs 1 --lr 0.001
        --seed 4 --comm-timeout 5 --checkpoint-every 1000)

cut_job() {  # DIR STEP: rank 1 dies before STEP, after the checkpoint written there
  DSIGNSGD_FAULT="1:$2:kill" timeout 60 "$mpiexec" -n 2 "$binary" "${common[@]}" \
    --checkpoint-dir "$1" > "$work/cut.log" 2>&1
  ls "$1"/*.ckpt > /dev/null 2>&1 || { echo "FAIL: no checkpoints in $1"; cat "$work/cut.log"; exit 1; }
}

# expect NAME CODE PATTERN ARGS…: the job exits CODE within 30 s and prints PATTERN.
expect() {
  local name=$1 code=$2 pattern=$3
  shift 3
  local start=$(date +%s)
  timeout 60 "$mpiexec" -n 2 "$binary" "${common[@]}" --checkpoint-dir "$work/new-$name" "$@" \
    > "$work/$name.log" 2>&1
  local got=$? elapsed=$(( $(date +%s) - start ))
  echo "$name: exit $got in ${elapsed}s"
  if [ "$got" -ne "$code" ] || [ "$elapsed" -gt 30 ] || ! grep -q -- "$pattern" "$work/$name.log"; then
    echo "FAIL $name: wanted exit $code within 30 s printing '$pattern'"; tail -n 8 "$work/$name.log"
    failures=$((failures + 1))
  fi
}

cut_job "$work/a" 3000
cut_job "$work/b" 2000
for rank in 0 1; do
  rm -rf "$work/c" && cp -r "$work/a" "$work/c"
  rm "$work/c/run-000000.rank-000$rank.ckpt"
  expect "missing-rank-$rank" 2 "restore different states of run 0" --resume "$work/c"
done
rm -rf "$work/c" && cp -r "$work/a" "$work/c"
cp "$work/b/run-000000.rank-0001.ckpt" "$work/c/"
expect mixed 2 "rank 0 resumes it at step 3000, rank 1 resumes it at step 2000" --resume "$work/c"
expect other-flags 2 "different configuration" --resume "$work/a" --noise gaussian:2
mkdir -p "$work/out" && echo x > "$work/out/keep"
expect out-not-empty 2 "invalid --out" --out "$work/out"
expect intact 0 "wrote" --resume "$work/a" --out "$work/resumed"
expect whole 0 "wrote" --out "$work/whole"
final() { grep -o '"final_loss_mean": [^,]*' "$1/summary.json"; }
if [ "$(final "$work/resumed")" != "$(final "$work/whole")" ]; then
  echo "FAIL: resumed $(final "$work/resumed") against uninterrupted $(final "$work/whole")"
  failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] && echo PASS || { echo "$failures failure(s)"; exit 1; }
