"""An SVAG check of the DSignSGD SDE on a real network (Li, Malladi, Arora 2021, "On the validity
of modeling SGD with stochastic differential equations").

    PYTHONPATH=build/python /usr/bin/python3 -m dsignsgd.launch -n 2 examples/torch_svag.py \\
        --data-dir data --out results/svag.json --figure docs/figures/svag.png

SVAG with factor ℓ replaces each rank's minibatch gradient by g = ((1+r)/2) g₁ + ((1−r)/2) g₂,
r = √(2ℓ−1), from two independent minibatches: the mean is unchanged and the noise covariance is
ℓ times larger. Run for ℓ× as many steps, an algorithm whose SDE is the true limit gives the
same curve for every ℓ, and the curves converge as ℓ grows.

For SGD the paper divides the step by ℓ. For DSignSGD that rule is wrong, by the papers' own SDE:
in the noise-dominated regime E[sign(∇f + √ℓ σ Z)] ≈ √(2/π) ∇f / (√ℓ σ) while the sign's variance
stays ≈ 1, so matching drift and diffusion per unit time over ℓ× the steps needs η/√ℓ, not η/ℓ
(with η/ℓ the drift per unit time falls like 1/√ℓ and the curves freeze as ℓ grows). The
script runs DSignSGD through the project's DDP hook under both rules, ℓ ∈ {1, 2, 4, 8}, and
reports the training loss on fixed rows at equal original times k/ℓ, and the test accuracy.
"""

from __future__ import annotations

import argparse
import json
import math
import os

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

import dsignsgd.torch as dt
from dsignsgd.launch import init_process_group

from torch_ddp_mnist import accuracy, load_mnist, make_model  # same folder


def run(rule, ell, train, test, args, rank):
    model = make_model()
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    state = dt.HookState(method="dsignsgd", seed=args.seed)
    ddp.register_comm_hook(state, dt.compressed_hook)
    lr = args.lr / (ell if rule == "sgd" else math.sqrt(ell))
    optimizer = torch.optim.SGD(ddp.parameters(), lr=lr)
    x, y = train
    eval_x, eval_y = x[:2000], y[:2000]  # fixed rows: the training loss curve
    r = math.sqrt(2 * ell - 1)
    weights = torch.cat([torch.full((args.batch,), (1 + r) / 2),
                         torch.full((args.batch,), (1 - r) / 2)])
    generator = torch.Generator().manual_seed(1000 * args.seed + rank)
    curve = []
    for step in range(args.steps * ell + 1):
        if step % (args.log_every * ell) == 0:
            with torch.no_grad():
                curve.append(F.cross_entropy(model(eval_x), eval_y).item())
        if step == args.steps * ell:
            break
        batch = torch.randint(len(x), (2 * args.batch,), generator=generator)
        optimizer.zero_grad()
        # One backward of the weighted sum: the gradient is (1+r)/2 g₁ + (1−r)/2 g₂.
        losses = F.cross_entropy(ddp(x[batch]), y[batch], reduction="none")
        ((weights * losses).sum() / args.batch).backward()
        optimizer.step()
    return {"rule": rule, "ell": ell, "lr": lr, "loss": curve,
            "test_accuracy": accuracy(model, *test) if rank == 0 else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--steps", type=int, default=300, help="original steps (ℓ = 1)")
    parser.add_argument("--log-every", type=int, default=30, help="in original steps")
    parser.add_argument("--batch", type=int, default=32, help="per rank and minibatch")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--ells", default="1,2,4,8")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None)
    parser.add_argument("--figure", default=None, help="PNG of both rules' curves (matplotlib)")
    args = parser.parse_args()
    ells = [int(e) for e in args.ells.split(",")]
    torch.set_num_threads(1)
    rank, world = init_process_group()
    train, test = load_mnist(os.path.join(args.data_dir, "mnist"))
    results = []
    for rule in ("sgd", "sign"):
        for ell in ells:
            result = run(rule, ell, train, test, args, rank)
            results.append(result)
            if rank == 0:
                print(f"rule η/{'ℓ' if rule == 'sgd' else '√ℓ'} ℓ={ell}: loss at k/ℓ = "
                      + " ".join(f"{v:.3f}" for v in result["loss"])
                      + f"  test accuracy {result['test_accuracy']:.4f}", flush=True)
    if rank == 0:
        summary = {}
        for rule in ("sgd", "sign"):
            curves = {r["ell"]: np.array(r["loss"]) for r in results if r["rule"] == rule}
            # How far each ℓ's curve is from the largest ℓ's (the would-be limit), in loss units.
            limit = curves[ells[-1]]
            summary[rule] = {str(ell): float(np.max(np.abs(c - limit))) for ell, c in curves.items()}
            print(f"rule {rule}: max |loss − loss(ℓ={ells[-1]})| per ℓ: {summary[rule]}")
        if args.out:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out, "w") as f:
                json.dump({"args": vars(args), "world": world, "results": results,
                           "distance_to_largest_ell": summary}, f, indent=2)
        if args.figure:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            colors = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00"]
            fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
            for ax, rule, title in zip(axes, ("sgd", "sign"),
                                       ("SGD's rule η/ℓ (the paper's)", "sign rule η/√ℓ (from the SDE)")):
                for color, r in zip(colors, [r for r in results if r["rule"] == rule]):
                    t = np.arange(len(r["loss"])) * args.log_every
                    ax.plot(t, r["loss"], "o-", color=color, ms=3,
                            label=f"ℓ = {r['ell']} (test acc. {r['test_accuracy']:.3f})")
                ax.set_title(f"DSignSGD (N = {world}), SVAG: {title}")
                ax.set_xlabel("original step k/ℓ")
                ax.legend()
            axes[0].set_ylabel("training loss on 2000 fixed rows")
            axes[0].set_yscale("log")
            fig.tight_layout()
            os.makedirs(os.path.dirname(os.path.abspath(args.figure)), exist_ok=True)
            fig.savefig(args.figure, dpi=100)
            print(f"figure: {args.figure}")
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
