#!/usr/bin/env bash
# A disk that holds the results but not the checkpoints (issue 30 item 4): the job warns once,
# goes on, and publishes complete results with nothing else left behind. Runs on a 200 KiB tmpfs
# it mounts and always unmounts; skipped (77) where mounting is not allowed.
# Usage: disk_full_test.sh DSIGNSGD_CLI
set -uo pipefail
binary=$1
mnt=$(mktemp -d /tmp/dsignsgd-diskfull.XXXXXX)
cleanup() { cd /; umount "$mnt" 2>/dev/null; rmdir "$mnt"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
mount -t tmpfs -o size=200k tmpfs "$mnt" 2>/dev/null || { echo "skip: cannot mount a tmpfs"; exit 77; }
cd "$mnt"
# 4 runs of d = 20 000: each checkpoint ~160 KB, the results ~5 KB.
"$binary" train --dim 20000 --steps 2000 --runs 4 --checkpoint-every 500 --log-every 100 \
  --out R > out.txt 2> err.txt
rc=$?
failures=0
check() { if eval "$1"; then echo "ok   $2"; else echo "FAIL $2"; failures=$((failures + 1)); fi; }
check '[ $rc -eq 0 ]' "exit 0 (got $rc)"
check '[ "$(grep -c "warning: cannot write a checkpoint" err.txt)" -eq 1 ]' "one warning: $(head -c 200 err.txt)"
check '/usr/bin/python3 -c "import json,sys; j=json.load(open(\"R/summary.json\")); sys.exit(0 if j[\"status\"]==\"ok\" and j[\"runs\"]==4 else 1)"' "summary.json complete, 4 runs"
check '[ "$(ls -A R | tr "\n" " ")" = "metrics.csv summary.json " ]' "R holds only the results: $(ls -A R | tr '\n' ' ')"
[ $failures -eq 0 ] || { cat err.txt; exit 1; }
