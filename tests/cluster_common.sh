# Sourced by the cluster tests: `cluster_setup HOSTS RATE` skips (exit 77) without root or network
# namespaces, makes $scratch, brings the emulated cluster up, and arranges that the cluster, the
# scratch directory and a running mpirun (`$child`, its own process group) are removed when the
# test ends, also when interrupted.
cluster="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../scripts/cluster.sh"
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
  "$cluster" up "$1" "$2" >/dev/null || { echo "FAIL: cluster up"; exit 1; }
}
