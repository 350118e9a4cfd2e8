"""The algorithm and its SDE from Python, overlaid with matplotlib, next to the predicted floor.

    PYTHONPATH=build/python /usr/bin/python3 examples/python_sde_overlay.py --out overlay.png

DSignSGD and DCSGD (rand-k) on a quadratic under Student-t noise: mean loss over the runs with a
95 % band, for `dsignsgd.train` (the algorithm) and `dsignsgd.simulate_sde` (its SDE, stability
drift correction), and the closed-form stationary loss of `dsignsgd.predict` as a dashed line.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import dsignsgd  # noqa: E402


def band(ax, steps, loss, label, color, style):
    mean = np.nanmean(loss, axis=0)
    stderr = np.nanstd(loss, axis=0, ddof=1) / np.sqrt(np.sum(np.isfinite(loss), axis=0))
    ax.plot(steps, mean, style, color=color, label=label)
    ax.fill_between(steps, mean - 1.96 * stderr, mean + 1.96 * stderr, color=color, alpha=0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="overlay.png")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    common = dict(dim=10, hessian="linspace:0.5:2", x0=1, noise="student:3:1", workers=4,
                  lr=0.02, steps=1500, log_every=25, runs=args.runs, seed=args.seed)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, (title, method) in zip(axes, [("DSignSGD", dict(method="dsignsgd")),
                                          ("DCSGD rand-k 0.5", dict(method="dcsgd",
                                                                    compressor="randk:0.5"))]):
        config = dict(common, **method)
        run = dsignsgd.train(**config)
        sde = dsignsgd.simulate_sde(drift_correction="stability", substeps=4, **config)
        floor = dsignsgd.predict(**config)["methods"][config["method"]]["stationary_loss"]
        band(ax, run["steps"], run["loss"], "algorithm", "#0072B2", "-")
        band(ax, sde["steps"], sde["loss"], f"SDE ({sde['summary']['sde']['model']})",
             "#D55E00", "--")
        ax.axhline(floor, color="black", linestyle=":", label="predicted floor")
        ax.set_yscale("log")
        ax.set_xlabel("step k")
        ax.set_title(f"{title}, Student-t ν = 3, N = 4, η = 0.02")
        ax.legend()
        print(f"{title}: algorithm tail {run['summary']['tail_loss_mean']:.4g}, SDE tail "
              f"{sde['summary']['tail_loss_mean']:.4g}, predicted {floor:.4g}")
    axes[0].set_ylabel("mean loss f − f* (95 % band)")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
