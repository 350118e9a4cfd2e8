#!/usr/bin/env bash
# An emulated cluster on one machine (as root): one network namespace per host, each joined to a
# bridge by a veth pair with a rate limit (HTB) on both directions of its link.
#
#   scripts/cluster.sh up H RATE     H hosts (1–64), RATE as tc understands it: 10gbit, 1gbit,
#                                    100mbit (8kbit … 100gbit)
#   scripts/cluster.sh run -- CMD…   CMD with DSIGNSGD_HOSTFILE, DSIGNSGD_RSH_AGENT,
#                                    DSIGNSGD_MPI_ARGS (Open MPI flags for the emulated hosts),
#                                    DSIGNSGD_CLUSTER_SUBNET and DSIGNSGD_CLUSTER_PREFIX set
#   scripts/cluster.sh down          removes everything `up` made (idempotent)
#   scripts/cluster.sh status        what exists now
#
# Several clusters can be up at once, one per DSIGNSGD_CLUSTER_ID = K (0–199, default 0): cluster
# K's hosts are namespaces dsgKh1 … dsgKhH at 10.77.K.1 … 10.77.K.H, its head node dsgKh0 at
# 10.77.K.254 (an unlimited link), where `run` runs its command — mpirun —, its bridge dsgKbr and
# its state in DSIGNSGD_CLUSTER_DIR (default /run/dsignsgd-cluster-K). The head gives up on an
# unanswered TCP connection after ~3 s (tcp_retries2 = 3), the hosts after ~12 s (5; Linux's
# default is ~15 min), so that a host whose link goes down ends the job instead of holding mpirun
# forever. Only what this script made for cluster K is touched: `up` refuses when cluster K is up
# already (another user's, or a benchmark's), `down` removes the namespaces and links it made and
# the files it wrote — never the state directory itself unless `up` created it — and a failing
# `up` removes what it made.
#
#   scripts/cluster.sh up 2 1gbit
#   scripts/cluster.sh run -- sh -c 'mpirun $DSIGNSGD_MPI_ARGS -n 2 build/apps/dsignsgd/dsignsgd \
#       train --backend mpi --workers 2 --dim 1000000 --steps 20'
#   scripts/cluster.sh down
set -euo pipefail

set -E                # the ERR trap of `up` also fires inside the functions it calls

die() { echo "cluster.sh: $*" >&2; exit 2; }

ID=${DSIGNSGD_CLUSTER_ID:-0}
[[ "$ID" =~ ^(0|[1-9][0-9]?|1[0-9][0-9])$ ]] ||
  die "invalid DSIGNSGD_CLUSTER_ID '$ID': must be an integer in [0, 199]"
PREFIX=dsg${ID}h      # namespaces dsgKh0 (head) … dsgKhH; links dsgKh1-br (bridge side)
BRIDGE=dsg${ID}br
SUBNET=10.77.$ID
STATE_DIR=${DSIGNSGD_CLUSTER_DIR:-/run/dsignsgd-cluster-$ID}
HERE=$(cd "$(dirname "$0")" && pwd)

require_root() {
  [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, links and qdiscs)"
  command -v ip >/dev/null || die "needs the ip command (apt install iproute2)"
  command -v tc >/dev/null || die "needs the tc command (apt install iproute2)"
  ip netns add dsgprobe 2>/dev/null || die "network namespaces are not available here"
  ip netns del dsgprobe
}

hosts_made() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${PREFIX}[0-9]+$" || true; }

down() {
  for ns in $(hosts_made); do
    ip link del "${ns}-br" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  # Only the files `up` and netns_rsh.sh wrote, and the directory if `up` made it.
  rm -f "$STATE_DIR/hostfile" "$STATE_DIR/rate"
  rm -rf "$STATE_DIR/rsh-tmp"
  if [ -f "$STATE_DIR/.made-by-cluster-sh" ]; then
    rm -f "$STATE_DIR/.made-by-cluster-sh"
    rmdir "$STATE_DIR" 2>/dev/null || true
  fi
}

# "ok" when RATE is a tc rate such as 100mbit within [8kbit, 100gbit] (tc refuses 0bit).
rate_in_range() {
  [[ "$1" =~ ^([0-9]+(\.[0-9]+)?)([kmg]?)bit$ ]] || return 0
  awk -v n="${BASH_REMATCH[1]}" -v u="${BASH_REMATCH[3]}" 'BEGIN {
    bits = n * (u == "k" ? 1e3 : u == "m" ? 1e6 : u == "g" ? 1e9 : 1)
    if (bits >= 8e3 && bits <= 1e11) print "ok" }'
}

# Rate-limits the egress of a link: HTB, one class, the given rate.
limit() {
  local exec=$1 dev=$2 rate=$3
  $exec tc qdisc replace dev "$dev" root handle 1: htb default 10
  $exec tc class replace dev "$dev" parent 1: classid 1:10 htb rate "$rate" ceil "$rate" quantum 60000
}

# A namespace joined to the bridge with address $SUBNET.$2, giving up on unanswered TCP after $3
# retransmissions.
add_host() {
  local ns=$1 address=$2 retries=$3
  ip netns add "$ns"
  ip link add "${ns}-br" type veth peer name eth0 netns "$ns"
  ip link set "${ns}-br" master "$BRIDGE" up
  ip -n "$ns" addr add "$SUBNET.$address/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_retries2="$retries"
}

up() {
  local hosts=$1 rate=$2
  [[ "$hosts" =~ ^[0-9]+$ ]] && [ "$hosts" -ge 1 ] && [ "$hosts" -le 64 ] ||
    die "invalid host count '$hosts': must be an integer in [1, 64]"
  [ "$(rate_in_range "$rate")" = ok ] ||
    die "invalid rate '$rate': must be like 10gbit, 1gbit or 100mbit, in [8kbit, 100gbit]"
  require_root
  if [ -n "$(hosts_made)" ] || ip link show "$BRIDGE" >/dev/null 2>&1; then
    die "cluster $ID is up already (another user's or job's?): leave it, or bring it down with" \
        "'DSIGNSGD_CLUSTER_ID=$ID scripts/cluster.sh down'; another cluster: DSIGNSGD_CLUSTER_ID=K"
  fi
  trap 'echo "cluster.sh: up failed, removing what it made" >&2; down; exit 1' ERR
  ip link add "$BRIDGE" type bridge
  ip link set "$BRIDGE" up
  if [ ! -d "$STATE_DIR" ]; then
    mkdir -p "$STATE_DIR"
    : > "$STATE_DIR/.made-by-cluster-sh"
  fi
  : > "$STATE_DIR/hostfile"
  add_host "${PREFIX}0" 254 3
  for i in $(seq 1 "$hosts"); do
    local ns="${PREFIX}${i}"
    add_host "$ns" "$i" 5
    limit "ip netns exec $ns" eth0 "$rate"   # host → bridge
    limit "" "${ns}-br" "$rate"              # bridge → host
    echo "$SUBNET.$i slots=1" >> "$STATE_DIR/hostfile"
  done
  echo "$rate" > "$STATE_DIR/rate"
  # Ready when every bridge port forwards and every link is up (a launch right after `up` can
  # otherwise lose its first connections).
  for _ in $(seq 1 100); do
    local ready=1
    for i in $(seq 0 "$hosts"); do
      [ "$(cat "/sys/class/net/${PREFIX}${i}-br/brport/state" 2>/dev/null)" = 3 ] || ready=0
      [ "$(ip netns exec "${PREFIX}${i}" cat /sys/class/net/eth0/operstate)" = up ] || ready=0
    done
    [ "$ready" = 1 ] && break
    sleep 0.1
  done
  trap - ERR
  echo "cluster $ID: $hosts hosts at $rate, hostfile $STATE_DIR/hostfile"
}

run() {
  [ -f "$STATE_DIR/hostfile" ] || die "no cluster: run 'scripts/cluster.sh up H RATE' first"
  export DSIGNSGD_HOSTFILE="$STATE_DIR/hostfile"
  export DSIGNSGD_RSH_AGENT="$HERE/netns_rsh.sh"
  export DSIGNSGD_CLUSTER_SUBNET="$SUBNET" DSIGNSGD_CLUSTER_PREFIX="$PREFIX"
  export DSIGNSGD_CLUSTER_STATE="$STATE_DIR"
  export DSIGNSGD_MPI_ARGS="--hostfile $DSIGNSGD_HOSTFILE --mca plm_rsh_agent $DSIGNSGD_RSH_AGENT \
--mca btl tcp,self --mca btl_tcp_if_include $SUBNET.0/24 --mca oob_tcp_if_include $SUBNET.0/24 \
--mca oob_tcp_keepalive_time 2 --mca oob_tcp_keepalive_intvl 2 --mca oob_tcp_keepalive_probes 5 \
--mca btl_tcp_sndbuf 4194304 --mca btl_tcp_rcvbuf 4194304"
  # 4 MB socket buffers: with the kernel's autotuning a 4 MB message crossed 100 Mbit/s at
  # about half the link rate (raw TCP reached 95 Mbit/s both ways at once).
  # The keep-alive lets mpirun notice a daemon whose link went down within ~12 s (Open MPI's default
  # waits 300 s + 9 × 20 s): without it, a job with an unreachable host outlives its MPI_Abort.
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  exec ip netns exec "${PREFIX}0" "$@"
}

status() {
  local made
  made=$(hosts_made)
  if [ -z "$made" ]; then echo "no cluster $ID"; return; fi
  echo "cluster $ID: hosts: $(echo "$made" | grep -v "^${PREFIX}0$" | tr '\n' ' ')rate: $(cat "$STATE_DIR/rate" 2>/dev/null || echo '?')"
}

case "${1:-}" in
  up) [ $# -eq 3 ] || die "usage: cluster.sh up H RATE"; up "$2" "$3" ;;
  down) [ "$(id -u)" -eq 0 ] || die "needs root"; down; echo "cluster $ID: down" ;;
  run) shift; [ "${1:-}" = "--" ] && shift; [ $# -ge 1 ] || die "usage: cluster.sh run -- CMD…"; run "$@" ;;
  status) status ;;
  *) die "usage: cluster.sh up H RATE | run -- CMD… | down | status" ;;
esac
