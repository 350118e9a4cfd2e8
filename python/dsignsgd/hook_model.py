"""Time per step of every DDP hook and PyTorch peer before training (issue 27 item 6): the α-β
model of docs/BENCHMARKS.md applied to a model's gradient buckets.

    import dsignsgd
    dsignsgd.speedup(model, hosts=4, rate="1gbit", step_seconds=0.07)

    time per step = compute + codec + Σ_buckets Σ_collectives (rounds × α + bytes sent × 8 / B)

compute is the step without communication (measure it with DDP's no_sync(), or give an estimate);
codec the hook's own encode and aggregate work on this machine (measured here for the dsignsgd
hooks on a vector of the bucket's size, 0 for the peers); α the per-message latency, B the link
rate. Collectives as Gloo runs them: a ring allreduce sends 2 (N − 1) / N of the tensor in
2 (N − 1) rounds, an allgather (N − 1) messages in N − 1 rounds, an all-to-all N − 1 pieces.

Bytes per bucket and rank sent:
    allreduce       2 (N − 1) / N × 4 d
    torch-fp16      2 (N − 1) / N × 2 d
    powersgd-rR     three allreduces: the tensors PowerSGD leaves uncompressed (1-D ones and
                    matrices n × m with (n + m) R × 2 ≥ n m, its min_compression_rate), then
                    P (n × R) and Q (m × R) of every compressed matrix, fp32
    dsignsgd, ef-signsgd, qsgd, randk, natural   allgather of the message (wire_bytes)
    majority        all-to-all of the packed signs' shards and allgather of the 1-bit votes,
                    each (N − 1) × the widest shard
Buckets follow DDP's defaults: parameters in reverse order, 1 MB first, then 25 MB.
"""
from __future__ import annotations

import time
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from . import _core

PEERS = ("allreduce", "torch-fp16", "powersgd-r1", "powersgd-r2", "powersgd-r4")
# dsignsgd hook name → (aggregation method, compressor)
DSIGNSGD_HOOKS = {"dsignsgd": ("dsignsgd", "sign"), "majority": ("majority", "sign"),
                  "ef-signsgd": ("ef-signsgd", "scaled-sign"), "qsgd": ("dcsgd", "qsgd:16:512"),
                  "randk": ("dcsgd", "randk:0.1"), "natural": ("dcsgd", "natural"),
                  # momentum before the sign: Signum (mean) and Signum with majority vote
                  "signum": ("signum", "sign"), "signum-majority": ("majority", "sign")}
HOOKS = PEERS + tuple(DSIGNSGD_HOOKS)


def parse_rate(rate) -> float:
    """"1gbit", "100mbit", "500kbit" or a number of bits per second."""
    if isinstance(rate, (int, float)):
        return float(rate)
    text = str(rate).lower()
    for suffix, scale in (("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)):
        if text.endswith(suffix):
            try:
                value = float(text[:-len(suffix)]) * scale
            except ValueError:
                break
            if value > 0 and np.isfinite(value):
                return value
    raise ValueError(f"invalid rate '{rate}': must be like 10gbit, 1gbit or 100mbit")


def buckets_of(shapes: Sequence[Tuple[int, ...]], first_mb: float = 1.0,
               cap_mb: float = 25.0) -> List[List[Tuple[int, ...]]]:
    """DDP's default bucketing of parameters of these shapes (in model order): reverse order,
    the first bucket up to first_mb, the others up to cap_mb (a tensor never split)."""
    buckets, current, size, cap = [], [], 0, first_mb * 2**20
    for shape in reversed(list(shapes)):
        nbytes = 4 * int(np.prod(shape))
        if current and size + nbytes > cap:
            buckets.append(current)
            current, size, cap = [], 0, cap_mb * 2**20
        current.append(tuple(shape))
        size += nbytes
    if current:
        buckets.append(current)
    return buckets


def _allreduce(nbytes: float, world: int) -> Tuple[int, float]:
    return 2 * (world - 1), 2 * (world - 1) * nbytes / world


def _powersgd_sizes(shapes: Iterable[Tuple[int, ...]], rank: int) -> Tuple[int, int]:
    """(uncompressed coordinates, P and Q coordinates) of one bucket, by PowerSGD's rule."""
    uncompressed, low_rank = 0, 0
    for shape in shapes:
        numel = int(np.prod(shape))
        if len(shape) <= 1:
            uncompressed += numel
            continue
        n, m = shape[0], numel // shape[0]
        r = min(n, m, rank)
        if (n + m) * r * 2 < n * m:
            low_rank += (n + m) * r
        else:
            uncompressed += numel
    return uncompressed, low_rank


def collectives(hook: str, bucket: Sequence[Tuple[int, ...]], world: int) -> List[Tuple[int, float]]:
    """(rounds, bytes sent by one rank) of each collective the hook runs on one bucket."""
    d = sum(int(np.prod(s)) for s in bucket)
    if world < 2:
        return []
    if hook == "allreduce":
        return [_allreduce(4 * d, world)]
    if hook == "torch-fp16":
        return [_allreduce(2 * d, world)]
    if hook.startswith("powersgd-r"):
        uncompressed, low_rank = _powersgd_sizes(bucket, int(hook[len("powersgd-r"):]))
        # P and Q are each about half of the low-rank coordinates (n R and m R).
        return [_allreduce(4 * uncompressed, world), _allreduce(2 * low_rank, world),
                _allreduce(2 * low_rank, world)]
    if DSIGNSGD_HOOKS.get(hook, ("",))[0] == "majority":
        width = max(((d + world - 1) // world + 63) // 64 * 8, 1)
        return [(world - 1, (world - 1) * width), (world - 1, (world - 1) * width)]
    if hook in DSIGNSGD_HOOKS:
        message = _core.wire_bytes(DSIGNSGD_HOOKS[hook][1], d)
        return [(world - 1, (world - 1) * message)]
    raise ValueError(f"invalid hook '{hook}': must be one of {', '.join(HOOKS)}")


def _median_seconds(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _torch_codec_seconds(hook: str, bucket: Sequence[Tuple[int, ...]], world: int,
                         repeats: int) -> float:
    """The peers' arithmetic, timed with the same torch operations they run: fp16's conversions
    and the ring's (N − 1) / N × d half-precision additions (Gloo adds fp16 on the CPU); PowerSGD's
    error feedback, M Q, the orthogonalization of P, Mᵀ P and P Qᵀ per compressed matrix."""
    import torch

    d = sum(int(np.prod(s)) for s in bucket)
    if hook == "torch-fp16":
        g = torch.randn(d)
        k = (world - 1) * d // world

        def work():
            half = g.to(torch.float16)
            half[:k].add_(half[:k])
            g.copy_(half)

        return _median_seconds(work, repeats)
    if not hook.startswith("powersgd-r"):
        return 0.0
    rank = int(hook[len("powersgd-r"):])
    matrices = []
    for shape in bucket:
        if len(shape) <= 1:
            continue
        n, m = shape[0], int(np.prod(shape)) // shape[0]
        r = min(n, m, rank)
        if (n + m) * r * 2 < n * m:
            matrices.append((torch.randn(n, m), torch.randn(m, r), torch.zeros(n, m)))
    flat, error = torch.randn(d), torch.zeros(d)

    def work():
        flat.add_(error)  # error feedback on the whole bucket
        error.copy_(flat)
        for matrix, q, _ in matrices:
            p = matrix @ q
            p, _ = torch.linalg.qr(p)  # PowerSGD orthogonalizes by Gram-Schmidt: comparable
            q = matrix.t() @ p
            matrix.sub_(p @ q.t())
        error.sub_(flat)

    return _median_seconds(work, repeats)


def codec_seconds(hook: str, bucket: Sequence[Tuple[int, ...]], world: int,
                  repeats: int = 3) -> float:
    """This machine's arithmetic of a hook on one bucket with `world` ranks (median of
    `repeats`): the dsignsgd hooks' encode and aggregate (the library's kernels), the peers' torch
    operations (_torch_codec_seconds); 0 for plain allreduce (its additions are the collective's)."""
    d = sum(int(np.prod(s)) for s in bucket)
    if hook not in DSIGNSGD_HOOKS or d == 0:
        return _torch_codec_seconds(hook, bucket, world, repeats) if d else 0.0
    method, compressor = DSIGNSGD_HOOKS[hook]
    aggregation = {row["name"]: row["aggregation"] for row in _core.methods()}[method]
    g = np.random.default_rng(1).standard_normal(d).astype(np.float32)
    # The majority vote aggregates one shard (d / N coordinates) and unpacks the whole vote.
    shard = g[:max(1, d // world)] if aggregation == "majority" else g
    out = np.empty(shard.size, dtype=np.float32)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        message = _core.encode(compressor, g, 0, 0, 0, 0)
        if aggregation == "majority":
            _core.unpack_signs(message[8:], np.empty(d, dtype=np.float32))
            message = _core.encode(compressor, shard, 0, 0, 0, 0)
        _core.aggregate(aggregation, compressor, [message] * world, 0, 0, 0, out)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def predict(shapes: Sequence[Tuple[int, ...]], hosts: int, rate, step_seconds: float,
            latency_us: float = 25.0, hooks: Optional[Sequence[str]] = None,
            measure_codec: bool = True) -> Dict[str, Dict[str, float]]:
    """hook → {compute, codec, communication, total (seconds per step), bytes_sent, ratio
    (to allreduce)} for parameters of these shapes on `hosts` hosts with links of `rate`."""
    if not isinstance(hosts, int) or hosts < 1:
        raise ValueError(f"invalid hosts {hosts!r}: must be an integer >= 1")
    if not (np.isfinite(step_seconds) and step_seconds >= 0):
        raise ValueError(f"invalid step_seconds {step_seconds!r}: must be a finite number >= 0")
    if not (np.isfinite(latency_us) and latency_us >= 0):
        raise ValueError(f"invalid latency_us {latency_us!r}: must be a finite number >= 0")
    bits = parse_rate(rate)
    buckets = buckets_of(shapes)
    out = {}
    for hook in hooks or HOOKS:
        rounds = sent = 0.0
        codec = 0.0
        for bucket in buckets:
            for r, b in collectives(hook, bucket, hosts):
                rounds += r
                sent += b
            if measure_codec:
                codec += codec_seconds(hook, bucket, hosts)
        communication = rounds * latency_us * 1e-6 + 8 * sent / bits
        out[hook] = {"compute": step_seconds, "codec": codec, "communication": communication,
                     "total": step_seconds + codec + communication, "bytes_sent": sent}
    if "allreduce" in out:
        for row in out.values():
            row["ratio"] = row["total"] / out["allreduce"]["total"]
    return out


def predict_for_model(model, hosts: int, rate, step_seconds: float, **kwargs):
    """predict() for a torch.nn.Module's trainable parameters."""
    shapes = [tuple(p.shape) for p in model.parameters() if p.requires_grad]
    return predict(shapes, hosts, rate, step_seconds, **kwargs)
