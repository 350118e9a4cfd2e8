#!/usr/bin/python3
"""Tables, figure and break-even link rates from bench/cluster_bench.py and steps_to_target.py.

    /usr/bin/python3 bench/cluster_report.py \
        --time bench/results/cluster_quadratic/time_per_step.csv \
        --steps bench/results/steps_quadratic.csv \
        --figure docs/figures/cluster_time_per_step.png > table.md

Prints markdown: time per step (median, ratio to DSGD's ring allreduce in the same repeat),
time to target (steps to target × median time per step) and, per configuration and host count,
the link rate below which it beats DSGD-allreduce (interpolated in log rate between the measured
rates where the ratio crosses 1).
"""
import argparse
import csv
import math
import os
import subprocess
import tempfile

RATES = {"100mbit": 100, "1gbit": 1000, "10gbit": 10000}  # Mbit/s
# Okabe–Ito (colour-blind safe), one colour per configuration in every panel.
STYLE = {
    "dsgd-allreduce": ("#000000", 1), "dsgd-allgather": ("#999999", 2), "fp16": ("#E69F00", 1),
    "bf16": ("#E69F00", 3), "dsignsgd": ("#0072B2", 1), "dsignsgd-rs": ("#0072B2", 2),
    "majority": ("#009E73", 1), "majority-rs": ("#009E73", 2), "ef-signsgd": ("#56B4E9", 1),
    "randk": ("#D55E00", 1), "qsgd": ("#CC79A7", 1),
}


def read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def rate_label(mbit):
    return f"{mbit / 1000:.3g} Gbit/s" if mbit >= 1000 else f"{mbit:.3g} Mbit/s"


def break_even(points):
    """points: [(rate Mbit/s, ratio)] ascending in rate. The rate where the ratio crosses 1."""
    if all(r < 1 for _, r in points):
        return f"pays at every measured rate (≤ {rate_label(points[-1][0])})"
    if all(r >= 1 for _, r in points):
        return f"never at the measured rates (≥ {rate_label(points[0][0])})"
    for (b0, r0), (b1, r1) in zip(points, points[1:]):
        if (r0 < 1) != (r1 < 1):
            t = (1 - r0) / (r1 - r0)
            crossing = math.exp(math.log(b0) + t * (math.log(b1) - math.log(b0)))
            return f"below ≈ {rate_label(crossing)}" if r0 < 1 else f"above ≈ {rate_label(crossing)}"
    return "crosses 1 more than once: " + ", ".join(f"{r:.2f}" for _, r in points)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time", required=True)
    parser.add_argument("--steps")
    parser.add_argument("--figure")
    args = parser.parse_args()
    rows = read(args.time)
    workload = rows[0]["workload"]
    configs = list(dict.fromkeys(r["config"] for r in rows))
    hosts_list = sorted({int(r["hosts"]) for r in rows})
    rates = sorted({r["rate"] for r in rows}, key=lambda r: RATES[r])
    by = {(int(r["hosts"]), r["rate"], r["config"]): r for r in rows}

    print(f"Time per step, {workload} (median of {rows[0]['repeats']} repeats, ms; in brackets "
          "the median ratio to dsgd-allreduce in the same repeat)\n")
    head = "| config | " + " | ".join(f"{h} hosts, {rate_label(RATES[r])}"
                                       for h in hosts_list for r in rates) + " |"
    print(head)
    print("|---" * (1 + len(hosts_list) * len(rates)) + "|")
    for c in configs:
        cells = []
        for h in hosts_list:
            for r in rates:
                row = by.get((h, r, c))
                cells.append("—" if row is None else
                             f"{float(row['ms_per_step_median']):.1f} ({float(row['ratio_to_dsgd_allreduce']):.2f}×)")
        print(f"| {c} | " + " | ".join(cells) + " |")

    print("\nBreak-even: the link rate below which a configuration's step is faster than "
          "DSGD-allreduce's (interpolated between measured rates)\n")
    print("| config | " + " | ".join(f"{h} hosts" for h in hosts_list) + " |")
    print("|---" * (1 + len(hosts_list)) + "|")
    for c in configs:
        if c == "dsgd-allreduce":
            continue
        cells = []
        for h in hosts_list:
            points = [(RATES[r], float(by[(h, r, c)]["ratio_to_dsgd_allreduce"]))
                      for r in rates if (h, r, c) in by]
            cells.append(break_even(points) if points else "—")
        print(f"| {c} | " + " | ".join(cells) + " |")

    if args.steps:
        steps = {(int(r["agents"]), r["config"]): r for r in read(args.steps)}
        target = next(iter(steps.values()))["target"]
        print(f"\nTime to target ({target}): steps to target (in process, bit-identical to the "
              "MPI runs) × median time per step, seconds; in brackets the ratio to "
              "dsgd-allreduce\n")
        print(head.replace("| config |", "| config | steps (2 / 4 agents) |"))
        print("|---" * (2 + len(hosts_list) * len(rates)) + "|")
        for c in configs:
            counts = [steps.get((h, c), {}).get("steps_to_target", "") for h in hosts_list]
            cells = []
            for h in hosts_list:
                reference = steps.get((h, "dsgd-allreduce"), {}).get("steps_to_target", "")
                for r in rates:
                    n = steps.get((h, c), {}).get("steps_to_target", "")
                    row, ref = by.get((h, r, c)), by.get((h, r, "dsgd-allreduce"))
                    if not n or row is None:
                        cells.append("not reached")
                        continue
                    seconds = int(n) * float(row["ms_per_step_median"]) / 1e3
                    ratio = ""
                    if reference and ref is not None:
                        ratio = f" ({seconds / (int(reference) * float(ref['ms_per_step_median']) / 1e3):.2f}×)"
                    cells.append(f"{seconds:.2f}{ratio}")
            print(f"| {c} | {' / '.join(x or '—' for x in counts)} | " + " | ".join(cells) + " |")

    if args.figure:
        plot(rows, configs, hosts_list, rates, workload, args.figure)


def plot(rows, configs, hosts_list, rates, workload, figure):
    with tempfile.TemporaryDirectory() as scratch:
        script = [f"set terminal pngcairo size {560 * len(hosts_list)},460 font 'Sans,10'",
                  f"set output '{os.path.abspath(figure)}'",
                  f"set multiplot layout 1,{len(hosts_list)}",
                  "set logscale xy", "set xlabel 'link rate per host (Mbit/s)'",
                  "set ylabel 'time per step (ms), median; bars: min–max'",
                  "set xrange [70:14000]", "set grid", "set key top right font ',8'"]
        for h in hosts_list:
            plots = []
            for c in configs:
                data = os.path.join(scratch, f"{h}-{c}.dat")
                with open(data, "w") as f:
                    for r in rates:
                        row = next((x for x in rows if int(x["hosts"]) == h and x["rate"] == r
                                    and x["config"] == c), None)
                        if row:
                            f.write(f"{RATES[r]} {row['ms_per_step_median']} "
                                    f"{row['ms_per_step_min']} {row['ms_per_step_max']}\n")
                colour, dash = STYLE.get(c, ("#000000", 1))
                plots.append(f"'{data}' using 1:2:3:4 with yerrorlines lw 2 dt {dash} "
                             f"lc rgb '{colour}' pt 7 ps 0.6 title '{c}'")
            script.append(f"set title '{workload}: {h} emulated hosts, one agent each'")
            script.append("plot " + ", ".join(plots))
        script.append("unset multiplot")
        path = os.path.join(scratch, "plot.gp")
        with open(path, "w") as f:
            f.write("\n".join(script) + "\n")
        subprocess.run(["gnuplot", path], check=True)


if __name__ == "__main__":
    main()
