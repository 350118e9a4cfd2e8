"""What each process of the hook tests runs (spawned by run_world; results back through files)."""

from __future__ import annotations

import datetime
import os
import socket
import tempfile
import traceback

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import dsignsgd.torch as dt


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(rank, world, port, directory, case, kwargs):
    teardown = kwargs.pop("teardown", True)
    early = kwargs.pop("state_before_init", None)
    if early is not None:  # a HookState made before init_process_group, with this timeout
        kwargs["state"] = dt.HookState(method="dsignsgd", timeout=datetime.timedelta(seconds=early))
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=kwargs.pop("group_timeout", 30)))
    try:
        result = {"ok": True, "value": CASES[case](rank, world, **kwargs)}
    except Exception as e:  # the parent asserts on it
        result = {"ok": False, "type": type(e).__name__, "message": str(e),
                  "trace": traceback.format_exc()}
    torch.save(result, os.path.join(directory, f"{rank}.pt"))
    if teardown:
        dist.barrier()  # no rank leaves while another still talks to it
        dist.destroy_process_group()
    else:
        # A case that breaks the group on purpose: leave without tearing down (the destructors
        # of a broken group may abort).
        os._exit(0)


def run_world(world: int, case: str, **kwargs):
    """Runs CASES[case](rank, world, **kwargs) in `world` processes over Gloo; returns the
    per-rank results ({"ok", "value"} or {"ok": False, "type", "message"})."""
    with tempfile.TemporaryDirectory() as directory:
        mp.start_processes(_entry, args=(world, free_port(), directory, case, kwargs),
                           nprocs=world, join=True, start_method="spawn")
        return [torch.load(os.path.join(directory, f"{r}.pt")) for r in range(world)]


def _model():
    torch.manual_seed(0)  # the same initial weights on every rank
    # ~0.5 M parameters (1.9 MB of gradients): more than DDP's 1 MB first bucket, so that every
    # step has several buckets.
    return torch.nn.Sequential(torch.nn.Linear(200, 800), torch.nn.Tanh(), torch.nn.Linear(800, 400),
                               torch.nn.Tanh(), torch.nn.Linear(400, 5))


def ddp_training(rank, world, method, steps=3, warmup_steps=0, compressor=None, seed=7,
                 codec="auto", momentum=None):
    """A small model under DDP with the hook. DDP puts everything in one bucket at step 0 and
    rebuilds them (two buckets, another parameter order) before step 1. Records each bucket's
    buffer before and after the hook, with the step, index and parameter layout."""
    model = _model()
    positions = {id(p): i for i, p in enumerate(model.parameters())}
    ddp = torch.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.5)
    state = dt.HookState(method=method, compressor=compressor, seed=seed,
                         warmup_steps=warmup_steps, codec=codec, momentum=momentum)
    hook = dt.hook_for(method)
    records = []

    def recording(state, bucket):
        before = bucket.buffer().detach().clone()
        index, step = bucket.index(), state.step
        layout = [(positions[id(p)], p.numel()) for p in bucket.parameters()]
        # The buffer holds the gradients back to back in parameters() order (the EF memory's
        # layout relies on it): check against DDP's own per-gradient views.
        offset, layout_matches = 0, True
        for g in bucket.gradients():
            layout_matches &= torch.equal(g.reshape(-1), before[offset:offset + g.numel()])
            offset += g.numel()
        future = hook(state, bucket)

        def record(fut):
            after = fut.value()
            records.append({"step": step, "index": index, "layout": layout, "before": before,
                            "layout_matches": layout_matches and offset == before.numel(),
                            "after": after.detach().clone()})
            return after

        return future.then(record)

    ddp.register_comm_hook(state, recording)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(100 + rank)
    for _ in range(steps):
        x = torch.randn(16, 200, generator=generator)
        y = torch.randn(16, 5, generator=generator)
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(ddp(x), y).backward()
        optimizer.step()
    weights = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return {"records": records, "stats": state.stats(), "weights": weights,
            "compressor": state.compressor}


class FakeBucket:
    """A GradBucket stand-in (the hooks only call these methods)."""

    def __init__(self, index, params, buffer, last=True):
        self._index, self._params, self._buffer, self._last = index, params, buffer, last

    def buffer(self):
        return self._buffer

    def index(self):
        return self._index

    def is_last(self):
        return self._last

    def parameters(self):
        return self._params

    def gradients(self):
        out, offset = [], 0
        for p in self._params:
            out.append(self._buffer[offset:offset + p.numel()].view_as(p))
            offset += p.numel()
        return out


def error_feedback_rebuild(rank, world, seed=3):
    """EF-SignSGD with two parameters in one bucket for two steps, then (a rebuild) one bucket
    each, in the other order, for two steps. Returns the gradients and outputs per step."""
    params = [torch.nn.Parameter(torch.zeros(7)), torch.nn.Parameter(torch.zeros(5))]
    state = dt.HookState(method="ef-signsgd", seed=seed)
    generator = torch.Generator().manual_seed(200 + rank)
    steps = []
    layouts = [[[0, 1]], [[0, 1]], [[1], [0]], [[1], [0]]]
    for layout in layouts:
        grads = [torch.randn(p.numel(), generator=generator) for p in params]
        outputs = []
        for index, members in enumerate(layout):
            buffer = torch.cat([grads[m] for m in members]).clone()
            bucket = FakeBucket(index, [params[m] for m in members], buffer,
                                last=index == len(layout) - 1)
            outputs.append(dt.compressed_hook(state, bucket).wait().clone())
        steps.append({"layout": layout, "grads": grads, "outputs": outputs})
    return steps


def bad_bucket(rank, world, kind):
    """Hands the hook a bucket it must refuse; returns nothing (the error is the result)."""
    state = dt.HookState(method="dsignsgd")
    param = torch.nn.Parameter(torch.zeros(8))
    buffers = {
        "float64": torch.zeros(8, dtype=torch.float64),
        "noncontiguous": torch.zeros(16)[::2],
        "sparse": torch.zeros(8).to_sparse(),
    }
    if kind == "world":
        dt.compressed_hook(state, FakeBucket(0, [param], torch.zeros(8))).wait()
        state._world = world + 1  # as if the group had changed size since the first step
        buffer = torch.zeros(8)
    else:
        buffer = buffers[kind]
    dt.compressed_hook(state, FakeBucket(0, [param], buffer)).wait()


def mismatched_configuration(rank, world):
    """Rank 1 uses another seed: every rank's first hook call must refuse."""
    state = dt.HookState(method="majority", seed=1 if rank == 1 else 0)
    dt.compressed_hook(state, FakeBucket(0, [torch.nn.Parameter(torch.zeros(8))],
                                         torch.ones(8))).wait()


def missing_peer(rank, world, timeout, state=None):
    """Rank 0 keeps stepping after the first step; the others stop: rank 0 must raise within
    the state's timeout instead of hanging."""
    state = state or dt.HookState(method="dsignsgd", timeout=datetime.timedelta(seconds=timeout))
    param = torch.nn.Parameter(torch.zeros(8))
    dt.compressed_hook(state, FakeBucket(0, [param], torch.ones(8))).wait()
    if rank == 0:
        import time
        start = time.monotonic()
        try:
            dt.compressed_hook(state, FakeBucket(0, [param], torch.ones(8))).wait()
        finally:
            elapsed = time.monotonic() - start
            print(f"rank 0: second step ended after {elapsed:.1f} s", flush=True)
    else:
        import time
        time.sleep(timeout + 5)


def missing_peer_elapsed(rank, world, linger, state):
    """As missing_peer, with the peers alive but silent for `linger` s (a peer that exits ends
    the collective at once, whatever the timeout): rank 0 returns how long its second step took
    to raise."""
    import time
    param = torch.nn.Parameter(torch.zeros(8))
    dt.compressed_hook(state, FakeBucket(0, [param], torch.ones(8))).wait()
    if rank != 0:
        time.sleep(linger)
        return None
    start = time.monotonic()
    try:
        dt.compressed_hook(state, FakeBucket(0, [param], torch.ones(8))).wait()
    except Exception as e:  # the timeout
        return {"elapsed": time.monotonic() - start, "error": str(e)[:200]}
    return {"elapsed": time.monotonic() - start, "error": None}


def direct_registration(rank, world):
    """Each hook function registered with DDP as users do (DDP checks its annotations), one
    step each; returns the methods that ran."""
    ran = []
    for method in ["dsignsgd", "majority", "ef-signsgd", "dcsgd", "fp16", "bf16"]:
        model = _model()
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        state = dt.HookState(method=method)
        ddp.register_comm_hook(state, dt.hook_for(method))
        ddp(torch.randn(4, 200)).sum().backward()
        assert state.step == 1
        ran.append(method)
    return ran


def small_majority(rank, world, sizes=(1, 7, 100, 200), codec="auto"):
    """Majority votes on buckets so small that some ranks' shards are empty (d < 64·(N − 1)),
    and one of odd length. Returns each size's gradient and output on this rank."""
    state = dt.HookState(method="majority", seed=9, codec=codec)
    generator = torch.Generator().manual_seed(300 + rank)
    out = []
    for index, d in enumerate(sizes):
        grad = torch.randn(d, generator=generator)
        grad[: d // 3] = 0.0  # exact zeros: coin-packed signs, and ties in the vote
        bucket = FakeBucket(index, [torch.nn.Parameter(torch.zeros(d))], grad.clone(),
                            last=index == len(sizes) - 1)
        out.append((grad, dt.compressed_hook(state, bucket).wait().clone()))
    return out


def hook_does_not_block(rank, world, method, compressor=None, delay=1.0, d=5000, buckets=3,
                        codec="auto"):
    """Rank 0 calls the hook on `buckets` buckets while the other ranks join `delay` seconds late:
    a hook that does not block the autograd thread returns at once with futures not yet done.
    Returns (seconds the calls took, futures done right after the calls, seconds until the
    last future was done) on rank 0; the aggregates on every rank; and the references the
    pending callbacks added to the HookState and to each of its process groups (none may: a
    callback released last by a group's worker thread would destroy the group there)."""
    import sys
    import time
    state = dt.HookState(method=method, compressor=compressor, seed=5, codec=codec)
    hook = dt.hook_for(method)
    generator = torch.Generator().manual_seed(400 + rank)
    fakes = [FakeBucket(i, [torch.nn.Parameter(torch.zeros(d))], torch.randn(d, generator=generator),
                        last=i == buckets - 1) for i in range(buckets)]
    # The first call of every bucket makes the groups and checks the ranks' configurations
    # (collectives that wait for every rank): one step together first.
    for future in [hook(state, b) for b in fakes]:
        future.wait()
    dist.barrier()
    if rank != 0:
        time.sleep(delay)
    held = [state, *({state.process_group} | set(state._bucket_groups.values()))]
    before = [sys.getrefcount(o) for o in held]
    start = time.perf_counter()
    futures = [hook(state, b) for b in fakes]
    called = time.perf_counter() - start
    done = sum(f.done() for f in futures)
    pending = [sys.getrefcount(o) for o in held]  # (measured as `before` was)
    added = [p - b for p, b in zip(pending, before)] if done == 0 else None
    outputs = [f.wait().clone() for f in futures]
    return called, done, time.perf_counter() - start, outputs, added


def counted_bytes(rank, world, hook, steps=4):
    """DDP on the small model with a PyTorch hook (torch-fp16, powersgd-rR) or a dsignsgd one:
    bytes sent per step by this rank as counted at the collectives (every all_reduce wrapped,
    or the HookState's counters), and the shapes of each bucket's gradients at the last step."""
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks, powerSGD_hook
    from dsignsgd import hook_model

    ddp = torch.nn.parallel.DistributedDataParallel(_model(), bucket_cap_mb=0.5)
    sent, original = [0], dist.all_reduce

    def counting(tensor, *args, **kwargs):
        sent[0] += 2 * (world - 1) * tensor.numel() * tensor.element_size() // world
        return original(tensor, *args, **kwargs)

    if hook == "torch-fp16":
        state, hook_fn = None, default_hooks.fp16_compress_hook
    elif hook.startswith("powersgd-r"):  # compressing from step 2 on; one bucket per call order
        state = powerSGD_hook.PowerSGDState(process_group=None, start_powerSGD_iter=2,
                                            matrix_approximation_rank=int(hook[10:]))
        hook_fn = powerSGD_hook.powerSGD_hook
    else:
        method, compressor = hook_model.DSIGNSGD_HOOKS[hook]
        state = dt.HookState(method=method, compressor=compressor)
        hook_fn = dt.hook_for(method)
    buckets = {}

    def recording(state, bucket):  # no annotations: this module postpones them to strings
        buckets[bucket.index()] = [tuple(g.shape) for g in bucket.gradients()]
        future = hook_fn(state, bucket)
        future.wait()  # one bucket at a time: PowerSGD's chained allreduces stay in order
        return future

    ddp.register_comm_hook(state, recording)
    generator = torch.Generator().manual_seed(500 + rank)
    per_step = []
    for _ in range(steps):
        before = state.bytes_sent if isinstance(state, dt.HookState) else sent[0]
        dist.all_reduce = counting
        try:
            ddp(torch.randn(16, 200, generator=generator)).square().sum().backward()
        finally:
            dist.all_reduce = original
        after = state.bytes_sent if isinstance(state, dt.HookState) else sent[0]
        per_step.append(after - before)
    return per_step, [buckets[i] for i in sorted(buckets)]


CASES = {
    "counted_bytes": counted_bytes,
    "hook_does_not_block": hook_does_not_block,
    "small_majority": small_majority,
    "direct_registration": direct_registration,
    "ddp_training": ddp_training,
    "error_feedback_rebuild": error_feedback_rebuild,
    "bad_bucket": bad_bucket,
    "mismatched_configuration": mismatched_configuration,
    "missing_peer": missing_peer,
    "missing_peer_elapsed": missing_peer_elapsed,
}
