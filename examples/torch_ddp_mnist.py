"""A small CNN on MNIST trained with DDP and each of dsignsgd's hooks, side by side.

    PYTHONPATH=build/python /usr/bin/python3 -m dsignsgd.launch -n 2 \\
        examples/torch_ddp_mnist.py --data-dir data --steps 1000 --out results/ddp_n2.json

For every hook (plain DDP allreduce first, as the reference) the same model starts from the same
weights, each rank draws its own minibatches (seeded by rank and step), and after --steps steps
rank 0 evaluates the full test set. Printed (and written to --out as JSON): test accuracy, time
per step and its ratio to plain allreduce measured in the same run, bytes sent per step and rank,
and the compression rate. docs/PYTHON.md holds the measured tables.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

import dsignsgd.torch as dt
from dsignsgd.launch import init_process_group

# hook name → (HookState method or None for plain DDP, compressor, optimizer settings). The
# learning rates were chosen once at 1000 steps from {1, 2, 3}×10^k (docs/PYTHON.md).
HOOKS = {
    "allreduce": (None, None, dict(lr=0.05, momentum=0.9)),
    "fp16": ("fp16", None, dict(lr=0.05, momentum=0.9)),
    "bf16": ("bf16", None, dict(lr=0.05, momentum=0.9)),
    "dsignsgd": ("dsignsgd", None, dict(lr=1e-4, momentum=0.9)),
    "majority": ("majority", None, dict(lr=1e-4, momentum=0.9)),
    "ef-signsgd": ("ef-signsgd", None, dict(lr=0.01, momentum=0.9)),
    "randk": ("dcsgd", "randk:0.1", dict(lr=0.005, momentum=0.9)),
    "qsgd": ("dcsgd", "qsgd:16:512", dict(lr=0.03, momentum=0.9)),
    "natural": ("dcsgd", "natural", dict(lr=0.05, momentum=0.9)),
}


def read_idx(path: str) -> np.ndarray:
    with open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_mnist(directory: str):
    def part(images, labels):
        x = read_idx(os.path.join(directory, images)).astype(np.float32) / 255.0
        x = (x - 0.1307) / 0.3081
        y = read_idx(os.path.join(directory, labels)).astype(np.int64)
        return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)

    return (part("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
            part("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))


def make_model() -> torch.nn.Module:
    torch.manual_seed(0)  # the same initial weights on every rank and for every hook
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(512, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


def accuracy(model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        correct = sum((model(x[i:i + 2000]).argmax(1) == y[i:i + 2000]).sum().item()
                      for i in range(0, len(x), 2000))
    model.train()
    return correct / len(x)


def run(name, train, test, args, rank, world):
    method, compressor, optimizer_settings = HOOKS[name]
    model = make_model()
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    state = None
    if method is not None:
        state = dt.HookState(method=method, compressor=compressor, seed=args.seed,
                             warmup_steps=args.warmup)
        ddp.register_comm_hook(state, dt.hook_for(method))
    optimizer = torch.optim.SGD(ddp.parameters(), weight_decay=args.weight_decay,
                                **optimizer_settings)
    x, y = train
    generator = torch.Generator().manual_seed(1000 * args.seed + rank)
    times = []
    for step in range(args.steps):
        batch = torch.randint(len(x), (args.batch,), generator=generator)
        start = time.perf_counter()
        optimizer.zero_grad()
        F.cross_entropy(ddp(x[batch]), y[batch]).backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    dist.barrier()
    result = {"hook": name, "steps": args.steps, "world": world,
              "test_accuracy": accuracy(model, *test) if rank == 0 else None,
              "seconds_per_step": float(np.median(times[10:] or times))}
    if state is not None:
        stats = state.stats()
        result.update(bytes_sent_per_step=stats["bytes_sent"] / args.steps,
                      compression_rate=stats["compression_rate"])
    else:
        d = sum(p.numel() for p in model.parameters())
        result.update(bytes_sent_per_step=2 * (world - 1) * 4 * d / world, compression_rate=1.0)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=32, help="per rank")
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--warmup", type=int, default=0, help="plain allreduce steps first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hooks", default=",".join(HOOKS), help="comma-separated, from: " +
                        ", ".join(HOOKS))
    parser.add_argument("--lr", action="append", default=[], metavar="HOOK=LR",
                        help="another learning rate for a hook (repeatable)")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    for item in args.lr:
        name, _, value = item.partition("=")
        if name not in HOOKS or not value:
            parser.error(f"invalid --lr '{item}': must be HOOK=LR with HOOK one of {', '.join(HOOKS)}")
        HOOKS[name][2]["lr"] = float(value)
    hooks = args.hooks.split(",")
    for name in hooks:
        if name not in HOOKS:
            parser.error(f"invalid --hooks entry '{name}': must be one of {', '.join(HOOKS)}")
    torch.set_num_threads(1)
    rank, world = init_process_group()
    train, test = load_mnist(os.path.join(args.data_dir, "mnist"))
    results = []
    for name in hooks:
        r = run(name, train, test, args, rank, world)
        results.append(r)
        if rank == 0:
            reference = results[0]["seconds_per_step"]
            print(f"{name:11s} N={world} accuracy {r['test_accuracy']:.4f}  "
                  f"{1e3 * r['seconds_per_step']:6.2f} ms/step "
                  f"({r['seconds_per_step'] / reference:.2f}× {results[0]['hook']})  "
                  f"{r['bytes_sent_per_step'] / 1e3:8.1f} kB/step/rank  "
                  f"compression {r['compression_rate']:.1f}×", flush=True)
    if rank == 0 and args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out + ".tmp", "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=2)
        os.replace(args.out + ".tmp", args.out)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
