# Sourced by the cluster tests: `cluster_setup HOSTS RATE` skips (exit 77) without root or network
# namespaces, makes $scratch, brings the emulated cluster up, and arranges that the cluster, the
# scratch directory and a running mpirun (`$child`, its own process group) are removed when the
# test ends, also when interrupted.
cluster="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../scripts/cluster.sh"
# A cluster of its own (cluster.sh's DSIGNSGD_CLUSTER_ID): a benchmark's cluster 0, or another
# test's, is never touched. Its hosts are namespaces ${prefix}i at $subnet.i.
export DSIGNSGD_CLUSTER_ID=${DSIGNSGD_CLUSTER_ID:-$((100 + $$ % 100))}
prefix="dsg${DSIGNSGD_CLUSTER_ID}h"
subnet="10.77.${DSIGNSGD_CLUSTER_ID}"
child=""
scratch=""

cluster_cleanup() {
  [ -n "$child" ] && kill -TERM -- "-$child" 2>/dev/null && sleep 1
  "$cluster" down >/dev/null 2>&1
  [ -n "$scratch" ] && rm -rf "$scratch"
}

cluster_setup() {
  if [ "$(id -u)" -ne 0 ] || ! ip netns add dsgprobe 2>/dev/null; then
    echo "SKIP: needs root and network namespaces"; exit 77
  fi
  ip netns del dsgprobe
  scratch=$(mktemp -d)
  trap cluster_cleanup EXIT
  trap 'exit 130' INT TERM
  "$cluster" up "$1" "$2" >/dev/null || { echo "FAIL: cluster $DSIGNSGD_CLUSTER_ID up"; exit 1; }
}
