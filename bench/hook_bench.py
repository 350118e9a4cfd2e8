"""DDP hooks against PyTorch's own (issue 27): the same workload, weights and batches for every hook.

Run on every rank (dsignsgd.launch locally, or mpirun on the emulated hosts of scripts/cluster.sh;
bench/hook_cluster.py drives that):

    PYTHONPATH=build/python /usr/bin/python3 -m dsignsgd.launch -n 2 bench/hook_bench.py \\
        train --workload fashion-mlp --hooks allreduce,powersgd-r2,ef-signsgd --lr 0.01,0.1 \\
        --warmup 0 --steps 400 --out OUT.jsonl
    … hook_bench.py time --workload fashion-mlp --hooks all --steps 20 --repeats 3 --out OUT.jsonl

`train` runs every (hook, lr, warm-up, seed) given — evaluating the held-out metric every
--eval-every steps, stopping at --steps or, with --stop-at-target, when the workload's target is
reached — and appends one JSON line per run to --out (rank 0). `time` measures, per hook and
repeat (hooks interleaved within a repeat): the median time of a training step, of the same step
without communication (DDP's no_sync: the compute-only step) and of the hook alone on the step's
buckets (the communication-only time), so that overlap = (compute + communication − step) /
communication is the fraction of the communication hidden behind the backward pass.

Hooks:
    allreduce       DDP's own fp32 allreduce (no hook)
    torch-fp16      torch's default_hooks.fp16_compress_hook
    powersgd-rR     torch's powerSGD_hook, matrix_approximation_rank R, its defaults otherwise
                    (error feedback and warm start on, min_compression_rate 2); the warm-up is its
                    start_powerSGD_iter (at least 2, its minimum with error feedback)
    dsignsgd, majority, ef-signsgd, qsgd, randk, natural   dsignsgd.torch's hooks (HookState)
    signum, signum-majority   the sign hooks with momentum β = 0.9 before the sign (each rank
                    signs its momentum; Bernstein et al.'s Signum and Signum with majority vote);
                    their optimizer has no momentum of its own (the others' SGD has 0.9)

Bytes per step and rank are what the rank sends: for the dsignsgd hooks the HookState's
counters; for the peers every all_reduce the hook issues is counted (torch.distributed.all_reduce
is wrapped) as a ring allreduce, 2 (N − 1) / N × its bytes — for PowerSGD that is its P and Q
matrices and the uncompressed 1-D tensors, warm-up included; plain DDP is 2 (N − 1) / N × 4 d.
"""

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from typing import Dict, List, Optional

import torch
import torch.distributed as dist
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks, powerSGD_hook

import dsignsgd.torch as dt
from dsignsgd.launch import init_process_group

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads  # noqa: E402

# dsignsgd hook name → (HookState method, compressor, momentum before the sign)
DSIGNSGD_HOOKS = {
    "dsignsgd": ("dsignsgd", None, None),
    "majority": ("majority", None, None),
    "ef-signsgd": ("ef-signsgd", None, None),
    "qsgd": ("dcsgd", "qsgd:16:512", None),
    "randk": ("dcsgd", "randk:0.1", None),
    "natural": ("dcsgd", "natural", None),
    "signum": ("signum", None, 0.9),
    "signum-majority": ("majority", None, 0.9),
}
PEERS = ["allreduce", "torch-fp16", "powersgd-r1", "powersgd-r2", "powersgd-r4"]
HOOKS = PEERS + list(DSIGNSGD_HOOKS)


# -- counting the peers' bytes ----------------------------------------------------------------

class AllreduceCounter:
    """Wraps torch.distributed.all_reduce: every call adds the ring allreduce's bytes sent by this
    rank, 2 (N − 1) / N × the tensor's bytes, while `active`."""

    def __init__(self) -> None:
        self.bytes_sent = 0
        self.active = False
        self._original = dist.all_reduce

        def counted(tensor, *args, **kwargs):
            if self.active:
                world = dist.get_world_size(kwargs.get("group"))
                self.bytes_sent += 2 * (world - 1) * tensor.numel() * tensor.element_size() // world
            return self._original(tensor, *args, **kwargs)

        dist.all_reduce = counted


COUNTER: Optional[AllreduceCounter] = None


# -- hooks --------------------------------------------------------------------------------------

class PerBucketPowerSGD:
    """torch's powerSGD_hook with one PowerSGDState (and process group) per bucket, all at the
    same iteration. Unchanged otherwise: its P allreduce is chained on the uncompressed one's
    future and its Q allreduce on P's, issued by the thread that completed the previous one, so
    with more than one bucket on a shared Gloo group the ranks can issue bucket i's Q and bucket
    i+1's P in different orders and Gloo pairs the wrong messages (seen here: "op.preamble.length
    <= op.nbytes"). With NCCL the same hook runs on one group."""

    def __init__(self, matrix_rank: int, start_iter: int, seed: int) -> None:
        self.matrix_rank, self.start_iter, self.seed = matrix_rank, start_iter, seed
        self.iter = 0
        self.states: Dict[int, powerSGD_hook.PowerSGDState] = {}

    @staticmethod
    def hook(self, bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
        index = bucket.index()
        if index not in self.states:  # made in bucket order on every rank
            self.states[index] = powerSGD_hook.PowerSGDState(
                process_group=dist.new_group(), matrix_approximation_rank=self.matrix_rank,
                start_powerSGD_iter=self.start_iter, random_seed=self.seed)
        state = self.states[index]
        state.iter = self.iter
        if bucket.is_last():
            self.iter += 1
        return powerSGD_hook.powerSGD_hook(state, bucket)

class Attached:
    """A hook attached to a DDP model: its state and a bytes-sent reading."""

    def __init__(self, name: str, ddp, warmup: int, seed: int, group) -> None:
        self.name, self.state = name, None
        if name in DSIGNSGD_HOOKS:
            method, compressor, momentum = DSIGNSGD_HOOKS[name]
            self.state = dt.HookState(method=method, compressor=compressor, seed=seed,
                                      warmup_steps=warmup, process_group=group,
                                      momentum=momentum)
            self.hook = dt.hook_for(method)
        elif name == "torch-fp16":
            self.state, self.hook = group, default_hooks.fp16_compress_hook
        elif name.startswith("powersgd-r"):
            self.state = PerBucketPowerSGD(int(name[len("powersgd-r"):]), max(warmup, 2), seed)
            self.hook = PerBucketPowerSGD.hook
        elif name != "allreduce":
            raise ValueError(f"invalid hook '{name}': must be one of {', '.join(HOOKS)}")
        if ddp is not None and self.state is not None:
            ddp.register_comm_hook(self.state, self.hook)
        self._start = COUNTER.bytes_sent

    def bytes_sent(self, parameters: int, steps: int, world: int) -> float:
        if isinstance(self.state, dt.HookState):
            return self.state.bytes_sent
        if self.name == "allreduce":
            return steps * 2 * (world - 1) * 4 * parameters / world
        return COUNTER.bytes_sent - self._start


def make_ddp(workload, seed: int):
    model = workload.make_model(seed)
    return torch.nn.parallel.DistributedDataParallel(model), model


# -- train ------------------------------------------------------------------------------------

def train_one(workload, hook: str, lr: float, warmup: int, seed: int, args, rank: int,
              world: int, group) -> Dict:
    ddp, model = make_ddp(workload, seed)
    attached = Attached(hook, ddp, warmup, seed, group)
    # Momentum 0.9 in the optimizer, after the hook — except for the hooks that keep it before
    # the sign (Signum): one momentum per method.
    momentum = 0.0 if DSIGNSGD_HOOKS.get(hook, (None, None, None))[2] else 0.9
    optimizer = torch.optim.SGD(ddp.parameters(), lr=lr, momentum=momentum,
                                weight_decay=args.weight_decay)
    d = sum(p.numel() for p in model.parameters())
    curve, reached, times = [], None, []
    COUNTER.active = True
    step = 0
    for step in range(1, args.steps + 1):
        x, y = workload.batch(seed, rank, step)
        if step == args.drop_step:
            for group_options in optimizer.param_groups:
                group_options["lr"] = lr * args.drop_factor
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = workload.loss(ddp, x, y)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
        # Every decision to stop is the ranks' together: a rank that left the loop alone would
        # leave the others waiting in a collective (its losses and, with BatchNorm, its
        # evaluation can differ from the others').
        diverged = torch.tensor([0.0 if torch.isfinite(loss) else 1.0])
        dist.all_reduce(diverged, op=dist.ReduceOp.MAX, group=group)
        if diverged.item():
            curve.append({"step": step, workload.metric: None, "diverged": True})
            break
        if step % args.eval_every == 0 or step == args.steps:
            shared = [workload.evaluate(model)]  # rank 0's evaluation is the one recorded
            dist.broadcast_object_list(shared, src=0, group=group)
            metrics = shared[0]
            curve.append({"step": step, "train_loss": loss.item(), **metrics})
            if reached is None and workload.reached(metrics):
                reached = step
                if args.stop_at_target:
                    break
    COUNTER.active = False
    steps = step
    return {"kind": "train", "workload": workload.name, "hook": hook, "lr": lr,
            "warmup": warmup, "lr_drop": args.lr_drop or None, "seed": seed, "world": world,
            "parameters": d, "steps": steps,
            "target": workload.target, "metric": workload.metric,
            "steps_to_target": reached, "final": curve[-1] if curve else None, "curve": curve,
            "seconds_per_step_median": statistics.median(times[5:] or times),
            "bytes_sent_per_step": attached.bytes_sent(d, steps, world) / steps}


# -- time -------------------------------------------------------------------------------------

class FakeBucket:
    """What the hooks read of a dist.GradBucket, over a given buffer: replays a step's buckets
    without a backward pass (the communication-only time)."""

    def __init__(self, index: int, last: bool, buffer: torch.Tensor, shapes, params) -> None:
        self._index, self._last, self._buffer, self._params = index, last, buffer, params
        self._grads, offset = [], 0
        for shape in shapes:
            n = int(torch.Size(shape).numel())
            self._grads.append(buffer[offset:offset + n].view(shape))
            offset += n

    def buffer(self): return self._buffer
    def index(self): return self._index
    def is_last(self): return self._last
    def gradients(self): return self._grads
    def parameters(self): return self._params


def record_buckets(ddp, workload, seed: int, rank: int) -> List[dict]:
    """The buckets of one step with DDP's default allreduce (their sizes and parameter shapes)."""
    seen = []

    def recorder(_, bucket):
        seen.append({"index": bucket.index(), "last": bucket.is_last(),
                     "numel": bucket.buffer().numel(),
                     "shapes": [tuple(g.shape) for g in bucket.gradients()],
                     "params": bucket.parameters()})
        return default_hooks.allreduce_hook(None, bucket)

    ddp.register_comm_hook(None, recorder)
    for step in range(2):  # the first step can rebuild the buckets
        seen.clear()
        x, y = workload.batch(seed, rank, step)
        workload.loss(ddp, x, y).backward()
    return list(seen)


def communication_only(hook: str, buckets: List[dict], steps: int, warmup_steps: int,
                       group, world: int) -> float:
    """Median seconds of one step's hook calls (every bucket) and their futures, after
    warmup_steps such steps (PowerSGD's warm-up and the warm start settle)."""
    attached = Attached(hook, None, 0, 1, group)
    if attached.state is None:  # plain allreduce: DDP's own, which is default_hooks.allreduce_hook
        state, hook_fn = group, default_hooks.allreduce_hook
    else:
        state, hook_fn = attached.state, attached.hook
    gen = torch.Generator().manual_seed(7)
    fakes = [FakeBucket(b["index"], b["last"], torch.empty(b["numel"]), b["shapes"], b["params"])
             for b in buckets]
    times = []
    for step in range(warmup_steps + steps):
        for fake in fakes:
            fake._buffer.normal_(generator=gen)
        dist.barrier(group)
        start = time.perf_counter()
        futures = [hook_fn(state, fake) for fake in fakes]
        for future in futures:
            future.wait()
        if step >= warmup_steps:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_steps(ddp, workload, seed: int, rank: int, steps: int, optimizer, sync: bool,
               group) -> float:
    times = []
    for step in range(steps):
        x, y = workload.batch(seed, rank, 100 + step)
        dist.barrier(group)
        start = time.perf_counter()
        optimizer.zero_grad()
        if sync:
            workload.loss(ddp, x, y).backward()
        else:
            with ddp.no_sync():
                workload.loss(ddp, x, y).backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_hook(workload, hook: str, args, rank: int, world: int, group, repeat: int) -> Dict:
    ddp, model = make_ddp(workload, 1)
    buckets = record_buckets(ddp, workload, 1, rank)
    ddp, model = make_ddp(workload, 1)
    Attached(hook, ddp, 0, 1, group)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=1e-6)
    settle = 3  # PowerSGD needs 2 steps before it compresses; the first steps build buckets
    time_steps(ddp, workload, 1, rank, settle, optimizer, True, group)
    step = time_steps(ddp, workload, 1, rank, args.steps, optimizer, True, group)
    compute = time_steps(ddp, workload, 1, rank, args.steps, optimizer, False, group)
    communication = communication_only(hook, buckets, args.steps, settle, group, world)
    return {"kind": "time", "workload": workload.name, "hook": hook, "world": world,
            "repeat": repeat, "steps": args.steps, "rate": os.environ.get("DSIGNSGD_LINK_RATE"),
            "buckets": len(buckets), "step_seconds": step, "compute_seconds": compute,
            "communication_seconds": communication,
            "overlap": (compute + communication - step) / communication}


# -- main -------------------------------------------------------------------------------------

def emit(record: Dict, out: Optional[str], rank: int) -> None:
    if rank != 0:
        return
    line = json.dumps(record)
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")
    summary = {k: v for k, v in record.items() if k not in ("curve",)}
    print(json.dumps(summary), flush=True)


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__)
    parser.add_argument("mode", choices=["train", "time"])
    parser.add_argument("--workload", required=True, choices=list(workloads.WORKLOADS))
    parser.add_argument("--hooks", default="all", help="comma-separated, or all: " + ", ".join(HOOKS))
    parser.add_argument("--lr", default="0.01", help="comma-separated learning rates (train)")
    parser.add_argument("--warmup", default="0", help="comma-separated warm-up steps (train)")
    parser.add_argument("--seeds", default="1", help="comma-separated seeds (train)")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--stop-at-target", action="store_true")
    parser.add_argument("--target", type=float,
                        help="train: the target of the held-out metric (default: the workload's)")
    parser.add_argument("--lr-drop", default="",
                        help="train: STEP:FACTOR — multiply the learning rate by FACTOR from STEP "
                             "on (a step decay; default none)")
    parser.add_argument("--lr-file",
                        help="train: HOOK=LR lines (bench/hook_report.py --lr-out); each hook "
                             "runs its own rate, --lr is ignored for the hooks listed")
    parser.add_argument("--prune", action="store_true",
                        help="train: stop a hook's learning-rate scan two below its best")
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--repeats", type=int, default=3, help="time: repeats, hooks interleaved")
    parser.add_argument("--data-dir", default=os.path.join(os.path.dirname(__file__), "..", "data"))
    parser.add_argument("--out", help="append one JSON line per run here (rank 0)")
    args = parser.parse_args(argv)
    args.hooks = HOOKS if args.hooks == "all" else args.hooks.split(",")
    for hook in args.hooks:
        if hook not in HOOKS:
            parser.error(f"invalid --hooks entry '{hook}': must be one of {', '.join(HOOKS)}")
    try:
        args.lr = [float(v) for v in args.lr.split(",")]
        args.warmup = [int(v) for v in args.warmup.split(",")]
        args.seeds = [int(v) for v in args.seeds.split(",")]
    except ValueError as error:
        parser.error(f"invalid --lr/--warmup/--seeds: {error}")
    args.drop_step, args.drop_factor = 0, 1.0
    if args.lr_drop:
        try:
            step_text, factor_text = args.lr_drop.split(":")
            args.drop_step, args.drop_factor = int(step_text), float(factor_text)
        except ValueError:
            parser.error(f"invalid --lr-drop '{args.lr_drop}': must be STEP:FACTOR, e.g. 1000:0.3")
        if args.drop_step < 1 or not 0 < args.drop_factor <= 1:
            parser.error(f"invalid --lr-drop '{args.lr_drop}': STEP must be >= 1 and FACTOR in (0, 1]")
    args.lr_of = {}
    if args.lr_file:
        try:
            with open(args.lr_file) as f:
                for line in f:
                    if line.strip():
                        hook, _, value = line.strip().partition("=")
                        args.lr_of[hook] = float(value)
        except (OSError, ValueError) as error:
            parser.error(f"invalid --lr-file '{args.lr_file}': {error} (must hold HOOK=LR lines)")
    if args.steps < 1 or args.eval_every < 1 or args.repeats < 1:
        parser.error("invalid --steps/--eval-every/--repeats: must be >= 1")
    return args


def score(record: Dict, workload) -> float:
    """The tuning rule's score (higher is better): the held-out metric at the last evaluation,
    negated for a loss; −inf for a diverged run."""
    final = record["final"] or {}
    value = final.get(workload.metric)
    if value is None or final.get("diverged"):
        return float("-inf")
    return value if workload.higher_is_better else -value


def scan_learning_rates(workload, hook: str, warmup: int, seed: int, args, rank: int,
                        world: int, group) -> None:
    """Runs the learning rates in increasing order; with --prune, stops after two in a row score
    below the best so far (or one diverges): past the optimum of a unimodal curve."""
    best, worse = float("-inf"), 0
    for lr in [args.lr_of[hook]] if hook in args.lr_of else sorted(args.lr):
        record = train_one(workload, hook, lr, warmup, seed, args, rank, world, group)
        emit(record, args.out, rank)
        value = score(record, workload)
        worse = 0 if value > best else worse + 1
        best = max(best, value)
        if args.prune and (worse >= 2 or value == float("-inf")):
            break


def main() -> None:
    global COUNTER
    args = parse()
    torch.set_num_threads(1)
    rank, world = init_process_group()
    group = dist.new_group()
    COUNTER = AllreduceCounter()
    workload = workloads.load(args.workload, args.data_dir)
    if args.target is not None:
        workload = dataclasses.replace(workload, target=args.target)
    if args.mode == "train":
        for seed in args.seeds:
            for hook in args.hooks:
                for warmup in args.warmup:
                    scan_learning_rates(workload, hook, warmup, seed, args, rank, world, group)
    else:
        for repeat in range(args.repeats):
            for hook in args.hooks:
                emit(time_hook(workload, hook, args, rank, world, group, repeat), args.out, rank)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
