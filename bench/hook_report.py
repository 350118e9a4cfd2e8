#!/usr/bin/python3
"""Tables and a figure from bench/hook_bench.py's JSON lines (issue 27): the tuned learning rate
of every hook, steps to target, time per step on each emulated link and their product, time to
target, with the α-β model's prediction beside each measured step.

    /usr/bin/python3 bench/hook_report.py --tune T.jsonl [--target G.jsonl] [--time M.jsonl] \\
        [--figure F.png] [--lr-out LR.txt]

The tuning rule (the same for every hook and peer): the learning rate on the grid whose run
ends with the best held-out metric (accuracy up, loss down) after the tuning horizon, diverged
runs excluded; ties go to the smaller rate. --lr-out writes HOOK=LR lines for the target runs.
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


def steps_to_target(rows):
    """hook → list of steps to target over seeds (None: not reached within its steps)."""
    out = collections.defaultdict(list)
    for r in rows:
        out[r["hook"]].append(r["steps_to_target"])
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
    args = parser.parse_args()
    chosen = tuned(read(args.tune))
    print("| hook | learning rate | held-out metric at the tuning horizon |\n|---|---|---|")
    for hook, (lr, warmup, value) in chosen.items():
        print(f"| {hook} | {lr:g} | {value:.4f} |")
    if args.lr_out:
        with open(args.lr_out, "w") as f:
            for hook, (lr, _, _) in chosen.items():
                f.write(f"{hook}={lr:g}\n")
    reached = steps_to_target(read(args.target)) if args.target else {}
    times = step_times(read(args.time)) if args.time else {}
    if times:
        print("\n| hosts | link | hook | ms/step | compute | comm. only | overlap | spread | "
              "steps to target | s to target |\n|---|---|---|---|---|---|---|---|---|---|")
        for (world, rate, hook), t in sorted(times.items(), key=lambda kv: (kv[0][0], kv[0][1],
                                                                            kv[1]["step_seconds"])):
            steps = reached.get(hook, [])
            done = [s for s in steps if s is not None]
            to_target = (f"{statistics.mean(done) * t['step_seconds']:.0f}"
                         if done and len(done) == len(steps) else "never")
            print(f"| {world} | {rate} | {hook} | {1e3 * t['step_seconds']:.1f} | "
                  f"{1e3 * t['compute_seconds']:.1f} | {1e3 * t['communication_seconds']:.1f} | "
                  f"{t['overlap']:.2f} | {t['spread']:.2f} | "
                  f"{'/'.join(str(s) for s in steps) or '-'} | {to_target} |")
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
