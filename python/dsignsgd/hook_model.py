"""Time per step of every DDP hook and PyTorch peer before training (issue 27 item 6): the α-β
model of docs/BENCHMARKS.md applied to a model's gradient buckets — the library's
(include/dsignsgd/theory/hook_model.hpp, also `dsignsgd speedup --shapes`), called here.

    import dsignsgd
    dsignsgd.speedup(model, hosts=4, rate="1gbit", step_seconds=0.07)

    time per step = compute + codec + Σ_buckets Σ_collectives (rounds × α + bytes sent × 8 / B)

compute is the step without communication (measure it with DDP's no_sync(), or give an estimate);
codec the hook's own arithmetic on this machine (the library's encode and aggregate for the
dsignsgd hooks; for the peers fp16's conversions and half additions, PowerSGD's error feedback,
matrix products and orthogonalization); α the per-message latency, B the link rate. Collectives
as Gloo runs them: a ring allreduce sends 2 (N − 1) / N of the tensor in 2 (N − 1) rounds, an
allgather (N − 1) messages in N − 1 rounds, an all-to-all N − 1 pieces.

Bytes per bucket and rank sent:
    allreduce       2 (N − 1) / N × 4 d
    torch-fp16      2 (N − 1) / N × 2 d
    powersgd-rR     three allreduces: the tensors PowerSGD leaves uncompressed (1-D ones and
                    matrices n × m with (n + m) R × 2 ≥ n m, its min_compression_rate), then
                    P (n × R) and Q (m × R) of every compressed matrix, fp32
    dsignsgd, ef-signsgd, qsgd, randk, natural, signum   allgather of the message (wire_bytes)
    majority, signum-majority   all-to-all of the packed signs' shards and allgather of the
                    1-bit votes, each (N − 1) × the widest shard
Buckets follow DDP's defaults: parameters in reverse order, 1 MB first, then 25 MB.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from . import _core

PEERS = ("allreduce", "torch-fp16", "powersgd-r1", "powersgd-r2", "powersgd-r4")
# dsignsgd hook name → (method, compressor): the library's table (theory/hook_model.hpp)
DSIGNSGD_HOOKS = {"dsignsgd": ("dsignsgd", "sign"), "majority": ("majority", "sign"),
                  "ef-signsgd": ("ef-signsgd", "scaled-sign"), "qsgd": ("dcsgd", "qsgd:16:512"),
                  "randk": ("dcsgd", "randk:0.1"), "natural": ("dcsgd", "natural"),
                  # momentum before the sign: Signum (mean) and Signum with majority vote
                  "signum": ("signum", "sign"), "signum-majority": ("majority", "sign")}
HOOKS = PEERS + tuple(DSIGNSGD_HOOKS)

Shape = Tuple[int, ...]


def buckets_of(shapes: Sequence[Shape], first_mb: float = 1.0,
               cap_mb: float = 25.0) -> List[List[Shape]]:
    """DDP's default bucketing of parameters of these shapes (in model order): reverse order,
    the first bucket up to first_mb, the others up to cap_mb (a tensor never split)."""
    return [[tuple(s) for s in bucket]
            for bucket in _core.ddp_buckets([list(s) for s in shapes], first_mb, cap_mb)]


def collectives(hook: str, bucket: Sequence[Shape], world: int) -> List[Tuple[int, float]]:
    """(rounds, bytes sent by one rank) of each collective the hook runs on one bucket."""
    return _core.hook_collectives(hook, [list(s) for s in bucket], world)


def codec_seconds(hook: str, bucket: Sequence[Shape], world: int, repeats: int = 3) -> float:
    """This machine's arithmetic of a hook on one bucket with `world` ranks (median of
    `repeats`); 0 for plain allreduce (its additions are the collective's)."""
    return _core.hook_codec_seconds(hook, [list(s) for s in bucket], world, repeats)


def predict(shapes: Sequence[Shape], hosts: int, rate, step_seconds: float,
            latency_us: float = 25.0, hooks: Optional[Sequence[str]] = None,
            measure_codec: bool = True) -> Dict[str, Dict[str, float]]:
    """hook → {compute, codec, communication, total (seconds per step), bytes_sent, ratio
    (to allreduce)} for parameters of these shapes on `hosts` hosts with links of `rate` (e.g.
    "1gbit", "100mbit", or bits per second)."""
    if isinstance(hosts, bool) or not isinstance(hosts, int):
        raise ValueError(f"invalid hosts {hosts!r}: must be an integer >= 1")
    rate_text = f"{float(rate) / 1e3!r}kbit" if isinstance(rate, (int, float)) else str(rate)
    report = _core.hook_speedup([list(s) for s in shapes], list(hooks or HOOKS), [hosts],
                                [rate_text], float(latency_us), float(step_seconds),
                                bool(measure_codec))
    keys = ("compute", "codec", "communication", "total", "bytes_sent", "ratio")
    return {row["hook"]: {k: row[k] for k in keys} for row in report["predictions"]}


def predict_for_model(model, hosts: int, rate, step_seconds: float, **kwargs):
    """predict() for a torch.nn.Module's trainable parameters."""
    shapes = [tuple(p.shape) for p in model.parameters() if p.requires_grad]
    return predict(shapes, hosts, rate, step_seconds, **kwargs)
