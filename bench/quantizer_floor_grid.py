"""Issue 26 item 1: `predict`'s DCSGD floor for the state-dependent quantizers (QSGD, natural)
against long simulations of the method, over a grid (docs/THEORY.md §3):

    /usr/bin/python3 bench/quantizer_floor_grid.py [--cli build/apps/dsignsgd/dsignsgd]
        [--steps 4000] [--runs 64] [--out grid.csv]

For each compressor (qsgd:1, 2, 4, 16, natural), N ∈ {1, 2, 8}, noise (Gaussian σ = 0.3,
Student-t ν = 3 with the same scale) and η (η λ_max = 0.05 and 0.3, and 0.5, 0.8, 0.9, 0.95 of
predict's lr_max), on the quadratic d = 24, λ ∈ linspace(0.2, 2): predict's floor, `train`'s
tail loss (x0 at the optimum, the second half of the steps, mean ± s.e. over the runs), their
ratio and z. Prints a summary: the largest |error| where predict says `valid`, and where not.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROBLEM = ["--dim", "24", "--hessian", "linspace:0.2:2", "--x0", "0"]
LAMBDA_MAX = 2.0
FRACTIONS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)  # of predict's lr_max


def cli_json(cli, args):
    out = subprocess.run([cli] + args, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def predicted(cli, compressor, workers, noise, lr):
    r = cli_json(cli, ["predict", "--method", "dcsgd", "--compressor", compressor, "--noise",
                       noise, "--workers", str(workers), "--lr", repr(lr)] + PROBLEM)
    m = r["methods"]["dcsgd"]
    return m.get("stationary_loss"), m["regime"]["valid"], m["stability"]["lr_max"]


def measured(cli, compressor, workers, noise, lr, steps, runs, seed):
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([cli, "train", "--method", "dcsgd", "--compressor", compressor, "--noise",
                        noise, "--workers", str(workers), "--lr", repr(lr), "--steps", str(steps),
                        "--runs", str(runs), "--seed", str(seed), "--out", out] + PROBLEM,
                       check=True, capture_output=True)
        with open(os.path.join(out, "summary.json")) as f:
            s = json.load(f)
    return s["tail_loss_mean"], s["tail_loss_stderr"], s.get("status", "ok")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cli", default=os.path.join(HERE, "..", "build", "apps", "dsignsgd", "dsignsgd"))
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--runs", type=int, default=64)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--compressors", default="qsgd:1,qsgd:2,qsgd:4,qsgd:16,natural")
    p.add_argument("--workers", default="1,2,8")
    p.add_argument("--noises", default="gaussian:0.3,student:3:0.3")
    p.add_argument("--out", default="quantizer_floor_grid.csv")
    a = p.parse_args()
    print(f"seed {a.seed}, {a.steps} steps, {a.runs} runs", flush=True)
    rows = []
    for compressor in a.compressors.split(","):
        for workers in map(int, a.workers.split(",")):
            for noise in a.noises.split(","):
                _, _, lr_max = predicted(a.cli, compressor, workers, noise, 0.01)
                lrs = [x / LAMBDA_MAX for x in (0.05, 0.3) if x / LAMBDA_MAX < 0.3 * lr_max]
                lrs += [f * lr_max for f in FRACTIONS]
                for lr in lrs:
                    floor, valid, _ = predicted(a.cli, compressor, workers, noise, lr)
                    mean, se, status = measured(a.cli, compressor, workers, noise, lr, a.steps,
                                                a.runs, a.seed)
                    ok = floor is not None and mean is not None and se
                    ratio = floor / mean if ok else float("nan")
                    z = (floor - mean) / se if ok else float("nan")
                    row = dict(compressor=compressor, workers=workers, noise=noise, lr=lr,
                               lr_over_lr_max=lr / lr_max, eta_lambda_max=lr * LAMBDA_MAX,
                               predicted=floor, valid=valid, measured=mean, stderr=se,
                               status=status, ratio=ratio, z=z)
                    rows.append(row)
                    print(f"{compressor:8} N={workers} {noise:15} ηλ={lr * LAMBDA_MAX:.3f} "
                          f"({lr / lr_max:.2f} lr_max) predict {floor} measured {mean} ± "
                          f"{se} ratio {ratio:.4f} z {z:+.1f} valid {valid}", flush=True)
    with open(a.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    for label, pick in (("valid", True), ("not valid", False)):
        sel = [r for r in rows if r["valid"] == pick and r["ratio"] == r["ratio"]]
        if sel:
            worst = max(sel, key=lambda r: abs(r["ratio"] - 1))
            print(f"{label}: {len(sel)} points, max |ratio − 1| = {abs(worst['ratio'] - 1):.4f} "
                  f"({worst['compressor']}, N={worst['workers']}, {worst['noise']}, "
                  f"{worst['lr_over_lr_max']:.2f} lr_max)")


if __name__ == "__main__":
    sys.exit(main())
