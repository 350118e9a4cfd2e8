#!/usr/bin/python3
"""The DDP hooks' time per step across emulated hosts (issue 27 item 5): for each host count and
link rate, brings up scripts/cluster.sh's cluster and runs `bench/hook_bench.py time` with one
rank per host (mpirun over the namespaces; torch.distributed's env:// variables from Open MPI's,
MASTER_ADDR = host 1, Gloo on the hosts' eth0). Needs root; removes the cluster when it ends,
also when interrupted.

    /usr/bin/python3 bench/hook_cluster.py --workload fashion-mlp --hosts 2 4 \\
        --rates 100mbit 1gbit 10gbit --repeats 3 --out results/hooks/fashion-mlp-time.jsonl

Appends hook_bench.py's JSON lines (step, compute-only and communication-only seconds, overlap,
with "rate" and "world") to --out.
"""
import argparse
import os
import shlex
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER = os.path.join(HERE, "..", "scripts", "cluster.sh")
RUNNING = []


def stop_running(*_):
    for process in RUNNING:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
    subprocess.run([CLUSTER, "down"], stdout=subprocess.DEVNULL)
    sys.exit(130)


def run(hosts: int, rate: str, args) -> None:
    python_path = os.path.abspath(os.path.join(HERE, "..", args.build, "python"))
    bench = [os.path.join(HERE, "hook_bench.py"), "time", "--workload", args.workload,
             "--hooks", args.hooks, "--steps", str(args.steps), "--repeats", str(args.repeats),
             "--out", os.path.abspath(args.out)]
    command = (f"timeout --foreground {args.timeout} mpirun $DSIGNSGD_MPI_ARGS -n {hosts} "
               f"-x PYTHONPATH={shlex.quote(python_path)} -x MASTER_ADDR=$DSIGNSGD_CLUSTER_SUBNET.1 "
               f"-x MASTER_PORT=29511 -x GLOO_SOCKET_IFNAME=eth0 -x DSIGNSGD_LINK_RATE={rate} "
               f"/usr/bin/python3 {' '.join(shlex.quote(a) for a in bench)}")
    process = subprocess.Popen([CLUSTER, "run", "--", "sh", "-c", command],
                               start_new_session=True)
    RUNNING.append(process)
    process.wait()
    RUNNING.remove(process)
    if process.returncode != 0:
        raise RuntimeError(f"hosts={hosts} rate={rate}: exit {process.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", required=True)
    parser.add_argument("--hooks", default="all")
    parser.add_argument("--hosts", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--rates", nargs="+", default=["100mbit", "1gbit", "10gbit"])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cluster")
    parser.add_argument("--build", default="build")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("hook_cluster.py: needs root (network namespaces)")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    signal.signal(signal.SIGTERM, stop_running)
    signal.signal(signal.SIGINT, stop_running)
    try:
        for hosts in args.hosts:
            for rate in args.rates:
                subprocess.run([CLUSTER, "up", str(hosts), rate], check=True,
                               stdout=subprocess.DEVNULL)
                try:
                    run(hosts, rate, args)
                finally:  # the next cell brings up its own cluster
                    subprocess.run([CLUSTER, "down"], stdout=subprocess.DEVNULL)
    finally:
        subprocess.run([CLUSTER, "down"], stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
