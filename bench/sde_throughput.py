#!/usr/bin/python3
"""SDE ensemble throughput: dsignsgd's DSignSGD SDE against a vectorized NumPy Euler–Maruyama of
the same model, on the same machine, in one run.

Model (docs/THEORY.md §2): dX = −erf(∇f/(√2σ)) dt + √(η/N) √(1 − erf²) dW on f = ½ Σ λ_j x_j²,
λ = linspace(1, 10, d), Gaussian noise σ, N agents, dt = η. Throughput is path-coordinate-steps
per second. NumPy computes erf with Abramowitz–Stegun 7.1.26 (NumPy has no erf), in float32 —
the same arithmetic dsignsgd uses — and draws its normals with numpy's default generator.

Usage: /usr/bin/python3 bench/sde_throughput.py [--binary build/apps/dsignsgd/dsignsgd]
       (Debian's interpreter, which sees python3-numpy.)
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np

P, A1, A2, A3, A4, A5 = 0.3275911, 0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429


def erf(x):
    a = np.abs(x)
    t = 1.0 / (1.0 + np.float32(P) * a)
    poly = t * (A1 + t * (A2 + t * (A3 + t * (A4 + t * A5))))
    return np.sign(x) * (1.0 - poly.astype(np.float32) * np.exp(-a * a))


def numpy_sde(d, paths, steps, lr, sigma, agents, seed):
    rng = np.random.default_rng(seed)
    lam = np.linspace(1.0, 10.0, d, dtype=np.float32)
    x = np.ones((paths, d), dtype=np.float32)
    inv = np.float32(1.0 / (np.sqrt(2.0) * sigma))
    scale = np.float32(np.sqrt(lr / agents) * np.sqrt(lr))
    losses = np.empty(steps, dtype=np.float64)
    start = time.perf_counter()
    for k in range(steps):
        g = lam * x
        losses[k] = 0.5 * float(np.mean(np.sum(g * x, axis=1)))
        m = erf(g * inv)
        dw = rng.standard_normal((paths, d), dtype=np.float32)
        x += -np.float32(lr) * m + scale * np.sqrt(np.maximum(0.0, 1.0 - m * m)) * dw
    elapsed = time.perf_counter() - start
    return elapsed, losses[-1]


def dsignsgd_sde(binary, d, paths, steps, lr, sigma, agents, seed):
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([binary, "sde", "--method", "dsignsgd", "--problem", "quadratic",
                        "--dim", str(d), "--hessian", "linspace:1:10", "--noise",
                        f"gaussian:{sigma}", "--workers", str(agents), "--lr", str(lr),
                        "--steps", str(steps), "--runs", str(paths), "--seed", str(seed),
                        "--x0", "1", "--drift-correction", "none", "--out", out],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
    return summary["wall_seconds"], summary["final_loss_mean"], summary["threads"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="build/apps/dsignsgd/dsignsgd")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    lr, sigma, agents = 0.01, 1.0, 4
    work = args.dim * args.paths * args.steps
    rows = []
    for r in range(args.repeats):
        t_np, loss_np = numpy_sde(args.dim, args.paths, args.steps, lr, sigma, agents, r)
        t_c, loss_c, threads = dsignsgd_sde(args.binary, args.dim, args.paths, args.steps, lr,
                                            sigma, agents, r + 1)
        rows.append((work / t_np, work / t_c, t_np / t_c, loss_np, loss_c, threads))
    print(f"d = {args.dim}, {args.paths} paths, {args.steps} steps "
          f"({work:.2e} path-coordinate-steps per run)")
    print(f"{'numpy /s':>12} {'dsignsgd /s':>12} {'ratio':>7} {'final loss numpy':>17} "
          f"{'dsignsgd':>9} threads")
    for row in rows:
        print(f"{row[0]:12.3e} {row[1]:12.3e} {row[2]:7.2f} {row[3]:17.5f} {row[4]:9.5f} {row[5]}")
    print(json.dumps({"numpy_rate": [r[0] for r in rows], "dsignsgd_rate": [r[1] for r in rows],
                      "ratio": [r[2] for r in rows], "numpy_version": np.__version__}))


if __name__ == "__main__":
    main()
