#!/usr/bin/python3
"""Tables and a figure from bench/hook_bench.py's JSON lines (issue 27): the tuned learning rate
of every hook, steps to target, time per step on each emulated link and their product, time to
target, with the α-β model's prediction beside each measured step.

    PYTHONPATH=build/python /usr/bin/python3 bench/hook_report.py --tune T.jsonl \\
        [--target G.jsonl [--target-value V]] [--time M.jsonl [--predict]] [--figure F.png] \\
        [--lr-out LR.txt]

The tuning rule (the same for every hook and peer): the learning rate on the grid whose run
ends with the best held-out metric (accuracy up, loss down) after the tuning horizon, diverged
runs excluded; ties go to the smaller rate. --lr-out writes HOOK=LR lines for the target runs.

--target-value reads steps to another target off the runs' evaluation curves (every --eval-every
steps; a run stopped at its own target knows nothing above it). --predict adds the α-β model's time
per step (dsignsgd.hook_model) beside each measured one — from the workload's parameter shapes,
the measured compute-only step, the links' effective rates (EFFECTIVE) and 50 µs per message —
and the mean |error|.
"""
import argparse
import collections
import json
import statistics
import sys


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def tuned(rows):
    """hook → (lr, warm-up, metric) chosen by the rule."""
    best = {}
    for r in rows:
        final = r.get("final") or {}
        value = final.get(r["metric"])
        if value is None or final.get("diverged"):
            continue
        higher = r["metric"].endswith("accuracy")
        key = value if higher else -value
        if r["hook"] not in best or key > best[r["hook"]][0] or (
                key == best[r["hook"]][0] and r["lr"] < best[r["hook"]][1]):
            best[r["hook"]] = (key, r["lr"], r["warmup"], value)
    return {h: (lr, w, v) for h, (_, lr, w, v) in best.items()}


# What the emulated links carry (bench/comm_bench.cpp between 2 hosts, docs/BENCHMARKS.md).
EFFECTIVE = {"100mbit": "95mbit", "1gbit": "810mbit", "10gbit": "2390mbit"}


def steps_to_target(rows, value=None):
    """hook → list of steps to target over seeds (None: not reached within its steps); with
    value, the first evaluation at or past it on the curve."""
    out = collections.defaultdict(list)
    for r in rows:
        if value is None:
            out[r["hook"]].append(r["steps_to_target"])
            continue
        higher = r["metric"].endswith("accuracy")
        hit = [c["step"] for c in r.get("curve", []) if c.get(r["metric"]) is not None and
               (c[r["metric"]] >= value if higher else c[r["metric"]] <= value)]
        out[r["hook"]].append(hit[0] if hit else None)
    return out


def predictions(times, workload_name):
    """(world, rate, hook) → the α-β model's seconds per step, given the measured compute."""
    import os
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import workloads
    from dsignsgd import hook_model

    here = os.path.dirname(os.path.abspath(__file__))
    model = workloads.load(workload_name, os.path.join(here, "..", "data")).make_model(1)
    shapes = [tuple(p.shape) for p in model.parameters() if p.requires_grad]
    out = {}
    for (world, rate, hook), t in times.items():
        row = hook_model.predict(shapes, world, EFFECTIVE.get(rate, rate), t["compute_seconds"],
                                 latency_us=50.0, hooks=[hook])[hook]
        out[(world, rate, hook)] = row["total"]
    return out


def step_times(rows):
    """(world, rate, hook) → median step, compute, communication seconds and overlap."""
    groups = collections.defaultdict(list)
    for r in rows:
        groups[(r["world"], r["rate"], r["hook"])].append(r)
    out = {}
    for key, rs in groups.items():
        out[key] = {k: statistics.median(r[k] for r in rs) for k in
                    ("step_seconds", "compute_seconds", "communication_seconds", "overlap")}
        out[key]["repeats"] = len(rs)
        out[key]["spread"] = (max(r["step_seconds"] for r in rs) /
                              min(r["step_seconds"] for r in rs))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", required=True)
    parser.add_argument("--target")
    parser.add_argument("--time")
    parser.add_argument("--figure")
    parser.add_argument("--lr-out")
    parser.add_argument("--target-value", type=float)
    parser.add_argument("--predict", action="store_true")
    args = parser.parse_args()
    chosen = tuned(read(args.tune))
    print("| hook | learning rate | held-out metric at the tuning horizon |\n|---|---|---|")
    for hook, (lr, warmup, value) in chosen.items():
        print(f"| {hook} | {lr:g} | {value:.4f} |")
    if args.lr_out:
        with open(args.lr_out, "w") as f:
            for hook, (lr, _, _) in chosen.items():
                f.write(f"{hook}={lr:g}\n")
    reached = steps_to_target(read(args.target), args.target_value) if args.target else {}
    rows = read(args.time) if args.time else []
    times = step_times(rows)
    predicted = predictions(times, rows[0]["workload"]) if args.predict and rows else {}
    if times:
        print("\n| hosts | link | hook | ms/step | model | compute | comm. only | overlap | spread | "
              "steps to target | s to target |\n|---|---|---|---|---|---|---|---|---|---|---|")
        for (world, rate, hook), t in sorted(times.items(), key=lambda kv: (kv[0][0], kv[0][1],
                                                                            kv[1]["step_seconds"])):
            steps = reached.get(hook, [])
            done = [s for s in steps if s is not None]
            to_target = (f"{statistics.mean(done) * t['step_seconds']:.0f}"
                         if done and len(done) == len(steps) else "never")
            model = predicted.get((world, rate, hook))
            print(f"| {world} | {rate} | {hook} | {1e3 * t['step_seconds']:.1f} | "
                  f"{'-' if model is None else f'{1e3 * model:.1f}'} | "
                  f"{1e3 * t['compute_seconds']:.1f} | {1e3 * t['communication_seconds']:.1f} | "
                  f"{t['overlap']:.2f} | {t['spread']:.2f} | "
                  f"{'/'.join(str(s) for s in steps) or '-'} | {to_target} |")
    if predicted:
        errors = [abs(predicted[k] / t["step_seconds"] - 1) for k, t in times.items()]
        print(f"\nα-β model against the measured step: mean |error| {statistics.mean(errors):.1%}, "
              f"max {max(errors):.1%} over {len(errors)} cells")
    if args.figure and times and reached:
        figure(times, reached, args.figure)


def figure(times, reached, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = sorted({(w, r) for w, r, _ in times})
    hooks = sorted({h for _, _, h in times})
    fig, axes = plt.subplots(1, len(configs), figsize=(4 * len(configs), 4), squeeze=False)
    for ax, (world, rate) in zip(axes[0], configs):
        names, values = [], []
        for hook in hooks:
            t = times.get((world, rate, hook))
            steps = [s for s in reached.get(hook, []) if s is not None]
            if t is None or not steps or len(steps) != len(reached.get(hook, [])):
                continue
            names.append(hook)
            values.append(statistics.mean(steps) * t["step_seconds"])
        order = sorted(range(len(values)), key=values.__getitem__)
        ax.barh([names[i] for i in order], [values[i] for i in order],
                color=["C1" if names[i] in ("allreduce", "torch-fp16") or
                       names[i].startswith("powersgd") else "C0" for i in order])
        ax.set_title(f"{world} hosts, {rate}")
        ax.set_xlabel("seconds to target")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
