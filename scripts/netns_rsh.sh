#!/usr/bin/env bash
# Open MPI's rsh agent for the emulated cluster of scripts/cluster.sh: called like ssh
# (`netns_rsh.sh [ssh options] HOST COMMAND…`), it runs COMMAND inside the network namespace of
# HOST (10.77.0.i → namespace dsghi) instead of logging in anywhere.
set -euo pipefail
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do
  case "$1" in
    -p|-l|-o|-i|-F) shift 2 ;;  # ssh options with an argument
    *) shift ;;
  esac
done
[ $# -ge 2 ] || { echo "netns_rsh.sh: usage: netns_rsh.sh HOST COMMAND…" >&2; exit 2; }
host=$1
shift
case "$host" in
  10.77.0.*) ns="dsgh${host##*.}" ;;
  *) echo "netns_rsh.sh: host '$host' is not one of the emulated cluster's (10.77.0.i)" >&2; exit 2 ;;
esac
# The emulated hosts share one file system and hostname: each gets its own TMPDIR, or Open MPI's
# daemons collide in their session directories (/tmp/ompi.HOSTNAME…).
tmp="${DSIGNSGD_CLUSTER_DIR:-/run/dsignsgd-cluster}/tmp/$ns"
mkdir -p "$tmp"
exec ip netns exec "$ns" env TMPDIR="$tmp" sh -c "$*"
