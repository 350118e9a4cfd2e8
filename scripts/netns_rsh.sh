#!/usr/bin/env bash
# Open MPI's rsh agent for the emulated cluster of scripts/cluster.sh: called like ssh
# (`netns_rsh.sh [ssh options] HOST COMMAND…`), it runs COMMAND inside the network namespace of
# HOST (10.77.K.i → namespace dsgKhi, cluster K of cluster.sh) instead of logging in anywhere.
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
if [[ "$host" =~ ^10\.77\.([0-9]+)\.([0-9]+)$ ]]; then
  ns="dsg${BASH_REMATCH[1]}h${BASH_REMATCH[2]}"
else
  echo "netns_rsh.sh: host '$host' is not one of an emulated cluster's (10.77.K.i)" >&2; exit 2
fi
# The emulated hosts share one file system and hostname: each gets its own TMPDIR, or Open MPI's
# daemons collide in their session directories (/tmp/ompi.HOSTNAME…).
tmp="${DSIGNSGD_CLUSTER_STATE:-/run/dsignsgd-cluster-${BASH_REMATCH[1]}}/rsh-tmp/$ns"
mkdir -p "$tmp"
exec ip netns exec "$ns" env TMPDIR="$tmp" sh -c "$*"
