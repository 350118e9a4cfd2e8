#!/usr/bin/python3
"""Time per step across emulated hosts (scripts/cluster.sh), per method, link rate and host count.

Every configuration runs `dsignsgd train --backend mpi` with one agent per host, `--repeats`
times; time per step = the run's wall_seconds / steps (MPI start-up and data loading excluded),
reported as the median of the repeats and as a ratio to DSGD with MPI_Allreduce measured in the
same repeat on the same cluster. Needs root (network namespaces); removes the cluster when it
ends, also when interrupted.

    /usr/bin/python3 bench/cluster_bench.py --binary build/apps/dsignsgd/dsignsgd \
        --hosts 2 4 --rates 10gbit 1gbit 100mbit --repeats 3 --out bench/results/cluster

Writes OUT/runs.csv (every run) and OUT/time_per_step.csv (medians and ratios).
"""
import argparse
import csv
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER = os.path.join(HERE, "..", "scripts", "cluster.sh")


def load_configs(binary):
    """name → train flags (the reference first), from the library's table
    (`dsignsgd speedup --list-configs`, theory/network_model.hpp), so that the benchmark and the
    α-β model run the same configurations. `--method dcsgd --compressor fp16` is DSGD with 16-bit
    messages, as DDP's fp16 hook."""
    listed = json.loads(subprocess.run([binary, "speedup", "--list-configs"], check=True,
                                       capture_output=True, text=True).stdout)
    configs = {}
    for c in listed:
        flags = f"--method {c['method']}"
        if c["compressor"]:
            flags += f" --compressor {c['compressor']}"
        if c["reduction"] != "fixed":
            flags += f" --reduction {c['reduction']}"
        configs[c["name"]] = flags
    return configs


WORKLOADS = {
    # The quadratic at d = 10^6: communication-heavy (fp32 gradient = 4 MB).
    "quadratic": "--problem quadratic --dim 1000000 --noise gaussian:1 --lr 0.01",
    # The MNIST MLP (d = 101,770), minibatch 128 per agent.
    "mnist": "--problem mnist-mlp --batch 128 --lr 0.001 --data-dir {data}",
}


def steps_for(rate, config, workload):
    """Enough steps for ≥ 1–2 s of exchange, bounded for the slow dense cases."""
    dense = config in ("dsgd-allreduce", "dsgd-allgather", "fp16", "bf16")
    if workload == "mnist":
        return 40 if (dense and rate == "100mbit") else 100
    return 8 if (dense and rate == "100mbit") else 30


def write_csv(path, rows):
    """rows: dicts with the same keys, in column order; prints the path."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path}")


def cluster(*args):
    subprocess.run([CLUSTER, *args], check=True, stdout=subprocess.DEVNULL)


RUNNING = []  # the mpirun being waited for (its own session), stopped on SIGINT/SIGTERM


def stop_running(*_):
    for process in RUNNING:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
    sys.exit(130)


def run_config(binary, hosts, flags, steps, scratch):
    out = os.path.join(scratch, "out")
    subprocess.run(["rm", "-rf", out], check=True)
    command = (f"timeout --foreground 900 mpirun $DSIGNSGD_MPI_ARGS -n {hosts} {shlex.quote(binary)} train "
               f"{flags} --backend mpi --workers {hosts} --steps {steps} --runs 1 --seed 1 "
               f"--log-every {steps} --threads 1 --out {out}")
    process = subprocess.Popen([CLUSTER, "run", "--", "sh", "-c", command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    RUNNING.append(process)
    _, stderr = process.communicate()
    RUNNING.remove(process)
    if process.returncode != 0:
        raise RuntimeError(f"run failed ({process.returncode}): {command}\n{stderr[-2000:]}")
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    if summary["diverged_runs"]:
        raise RuntimeError(f"diverged: {command}")
    return summary["wall_seconds"], summary["communication"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--hosts", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--rates", nargs="+", default=["10gbit", "1gbit", "100mbit"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--configs", nargs="+", help="default: every configuration")
    parser.add_argument("--workload", choices=list(WORKLOADS), default="quadratic")
    parser.add_argument("--data-dir", default=os.path.join(HERE, "..", "data"))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("cluster_bench.py: needs root (network namespaces)")
    binary = os.path.abspath(args.binary)
    configs = load_configs(binary)
    args.configs = args.configs or list(configs)
    workload = WORKLOADS[args.workload].format(data=os.path.abspath(args.data_dir))
    os.makedirs(args.out, exist_ok=True)
    signal.signal(signal.SIGTERM, stop_running)
    signal.signal(signal.SIGINT, stop_running)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for hosts in args.hosts:
                for rate in args.rates:
                    cluster("up", str(hosts), rate)
                    for repeat in range(args.repeats):
                        for name in args.configs:
                            steps = steps_for(rate, name, args.workload)
                            wall, comm = run_config(binary, hosts, f"{workload} {configs[name]}",
                                                    steps, scratch)
                            rows.append({
                                "workload": args.workload, "hosts": hosts, "rate": rate,
                                "config": name, "repeat": repeat, "steps": steps,
                                "wall_seconds": f"{wall:.4f}",
                                "seconds_per_step": f"{wall / steps:.6f}",
                                "bytes_received_per_step": comm["declared_bytes_received_per_rank"]
                                // steps,
                            })
                            print(f"{args.workload} hosts={hosts} {rate:>7} {name:<15} "
                                  f"repeat {repeat}: {1e3 * wall / steps:8.2f} ms/step",
                                  flush=True)
    finally:
        subprocess.run([CLUSTER, "down"], stdout=subprocess.DEVNULL)
    write_csv(os.path.join(args.out, "runs.csv"), rows)
    summarize(rows, os.path.join(args.out, "time_per_step.csv"))


def summarize(rows, path):
    """Median time per step, and the median over repeats of the ratio to dsgd-allreduce."""
    keys = sorted({(r["workload"], r["hosts"], r["rate"]) for r in rows})
    out = []
    for workload, hosts, rate in keys:
        group = [r for r in rows if (r["workload"], r["hosts"], r["rate"]) == (workload, hosts, rate)]
        reference = {r["repeat"]: float(r["seconds_per_step"]) for r in group
                     if r["config"] == "dsgd-allreduce"}
        for name in dict.fromkeys(r["config"] for r in group):
            mine = [r for r in group if r["config"] == name]
            times = [float(r["seconds_per_step"]) for r in mine]
            ratios = [float(r["seconds_per_step"]) / reference[r["repeat"]] for r in mine
                      if r["repeat"] in reference]
            out.append({
                "workload": workload, "hosts": hosts, "rate": rate, "config": name,
                "ms_per_step_median": f"{1e3 * statistics.median(times):.3f}",
                "ms_per_step_min": f"{1e3 * min(times):.3f}",
                "ms_per_step_max": f"{1e3 * max(times):.3f}",
                "ratio_to_dsgd_allreduce": f"{statistics.median(ratios):.3f}" if ratios else "",
                "bytes_received_per_step": mine[0]["bytes_received_per_step"],
                "repeats": len(mine),
            })
    write_csv(path, out)


if __name__ == "__main__":
    main()
