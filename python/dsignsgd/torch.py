"""DDP communication hooks with dsignsgd's compressors (docs/PYTHON.md).

    import dsignsgd.torch as dt
    state = dt.HookState(method="majority", warmup_steps=100)
    model = DistributedDataParallel(model)
    model.register_comm_hook(state, dt.compressed_hook)
    ...
    print(state.stats())   # bytes per step, compression rate

Every message is the C++ library's wire format (an 8-byte header and the payload: 1 bit per
coordinate for signs), encoded and aggregated by the library's own kernels on the bucket's memory
(NumPy views of the CPU tensors, no copies through Python). Random draws come from the core's
streams at address (seed, run = bucket index, agent = rank, step = the state's step counter), so a
message is byte for byte the one `dsignsgd train` sends for the same vector and address.

Methods (the update direction each rank gets; the optimizer then applies its learning rate):

    dsignsgd     mean of the agents' signs                               (sign, 1 bit up)
    majority     sign of the sum of signs, ties by the server's coin      (sign, 1 bit each way:
                 rank r votes on shard r of the coordinates and the 1-bit votes are gathered)
    ef-signsgd   error feedback: p = g + e, send (‖p‖₁/d) sign p, e = p − C(p), mean
    signum       momentum before the sign: m ← β m + (1 − β) g, mean of the signs of m
                 (β = `momentum`, 0.9 by default; `momentum` > 0 with majority is Bernstein et
                 al.'s Signum with majority vote, with dsignsgd the same as signum)
    dcsgd        mean of unbiased compressions: compressor randk:F (indices from the shared
                 seed, not sent), qsgd:S[:bucket] or natural

fp16_hook and bf16_hook are the usual half-precision allreduce baselines, with the same counters.
"""

# No `from __future__ import annotations` here: DDP's register_comm_hook checks the hooks'
# annotations as objects (bucket: dist.GradBucket, -> torch.futures.Future[torch.Tensor]).
import dataclasses
import datetime
import hashlib
import weakref
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist

from . import _core
from . import tensor_codec


def _hook_methods() -> Dict[str, dict]:
    """The registered methods (dsignsgd._core.methods(), the library's one table) a hook runs:
    those that compress (a method of fp32 messages is DDP's own allreduce), with a fixed step —
    dsignsgd, majority, dcsgd, ef-signsgd, signum."""
    return {row["name"]: row for row in _core.methods()
            if row["compressors"] != "identity" and row["step"] == "fixed"
            and row["filter"] in ("none", "error-feedback", "momentum")}


# method → its registry row (default_compressor, compressors, aggregation, filter, model, …)
METHODS: Dict[str, dict] = _hook_methods()


@dataclasses.dataclass
class HookState:
    """What a hook needs and what it counts.

    method         dsignsgd | majority | ef-signsgd | dcsgd | signum (see the module's text)
    compressor     the wire format (a `dsignsgd compressor` spec); default per method
    seed           the streams' seed, the same on every rank
    warmup_steps   steps of plain fp32 allreduce before compression starts (step < K)
    momentum       β of the momentum each rank keeps before the sign (per parameter, as the EF
                   memory): signum's (default 0.9), or > 0 for dsignsgd and majority; default 0
                   for them (no momentum)
    process_group  default: a new group over the default one's ranks with `timeout`
    timeout        a collective that does not complete within it raises
    codec          where messages are encoded and aggregated: "library" (the C++ kernels on host
                   memory; a CUDA bucket is copied to the host and back), "tensor" (torch
                   operations on the bucket's device, dsignsgd.tensor_codec: the same bytes;
                   sign, scaled-sign, QSGD and natural messages), "auto" (tensor for a bucket off the CPU when
                   the compressor allows, library otherwise)
    """

    method: str = "dsignsgd"
    compressor: Optional[str] = None
    seed: int = 0
    warmup_steps: int = 0
    process_group: Optional[dist.ProcessGroup] = None
    timeout: datetime.timedelta = datetime.timedelta(seconds=60)
    codec: str = "auto"
    momentum: Optional[float] = None
    # Counters (per rank, since construction).
    step: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    dense_bytes: int = 0  # what fp32 ring allreduce would have sent for the same buckets
    message_bytes: int = 0  # this rank's own messages (one per bucket and step)
    compressed_steps: int = 0
    # Per-parameter memories (EF's error, the momentum), so that they survive DDP's bucket
    # rebuilds: kind → parameter id → view, and kind → bucket index → (parameter ids, flat).
    _memory: Dict[str, Dict[int, torch.Tensor]] = dataclasses.field(default_factory=dict,
                                                                    repr=False)
    _bucket_memory: Dict[str, Dict[int, Tuple[Tuple[int, ...], torch.Tensor]]] = \
        dataclasses.field(default_factory=dict, repr=False)
    _world: Optional[int] = dataclasses.field(default=None, repr=False)
    _bucket_groups: Dict[int, dist.ProcessGroup] = dataclasses.field(default_factory=dict,
                                                                     repr=False)
    _checked: bool = dataclasses.field(default=False, repr=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS and self.method not in ("fp16", "bf16"):
            raise ValueError(f"invalid method '{self.method}': must be one of "
                             f"{', '.join(list(METHODS) + ['fp16', 'bf16'])}")
        if self.method in METHODS:
            info = METHODS[self.method]
            self.aggregation = info["aggregation"]
            self.error_feedback = info["filter"] == "error-feedback"
            self.compressor = _core.compressor_name(self.compressor or info["default_compressor"])
            if info["compressors"] == "sign" and self.compressor != "sign":
                raise ValueError(f"invalid compressor '{self.compressor}' for method "
                                 f"{self.method}: must be sign")
            self.momentum = self._resolve_momentum(info)
            if info["model"] == "gradient" and _core.omega(self.compressor, 1000) != _core.omega(
                    self.compressor, 1000):  # NaN: biased
                raise ValueError(f"invalid compressor '{self.compressor}' for method "
                                 f"{self.method}: must be unbiased (randk:F, qsgd:S, natural)")
        if self.codec not in ("auto", "library", "tensor"):
            raise ValueError(f"invalid codec '{self.codec}': must be auto, library or tensor")
        if self.codec == "tensor" and self.method in METHODS and \
                not tensor_codec.supports(self.compressor):
            raise ValueError(f"invalid codec 'tensor' for compressor '{self.compressor}': the "
                             "tensor codec encodes sign, scaled-sign, qsgd:S[:B] and natural")
        for name in ("warmup_steps", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"invalid {name} {value!r}: must be an integer")
        if self.warmup_steps < 0:
            raise ValueError(f"invalid warmup_steps {self.warmup_steps}: must be >= 0")
        if not 0 <= self.seed < 2**64:
            raise ValueError(f"invalid seed {self.seed}: must be in [0, 2^64)")
        if self.process_group is None and dist.is_initialized():
            self.process_group = dist.new_group(timeout=self.timeout)

    def _resolve_momentum(self, info: dict) -> float:
        """β: signum's default 0.9; 0 (none) for the other methods, where only the sign methods
        without a filter of their own accept β > 0."""
        beta = self.momentum if self.momentum is not None else (
            0.9 if info["filter"] == "momentum" else 0.0)
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"invalid momentum {beta}: must be in [0, 1)")
        if beta > 0 and (info["compressors"] != "sign" or info["filter"] == "error-feedback"):
            raise ValueError(f"invalid momentum {beta} for method {self.method}: momentum before "
                             "the sign is for signum, dsignsgd and majority")
        return float(beta)

    # -- reporting -------------------------------------------------------------------------
    def stats(self) -> Dict[str, float]:
        """Counters and the compression rate (dense fp32 allreduce bytes / bytes sent)."""
        steps = max(self.step, 1)
        return {
            "method": self.method,
            "compressor": self.compressor,
            "steps": self.step,
            "compressed_steps": self.compressed_steps,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "bytes_sent_per_step": self.bytes_sent / steps,
            "message_bytes": self.message_bytes,
            "dense_bytes": self.dense_bytes,
            "compression_rate": self.dense_bytes / self.bytes_sent if self.bytes_sent else 1.0,
        }

    def _count(self, nbytes: int) -> None:
        """Bytes this rank sends and receives in a collective (every exchange here is symmetric)."""
        self.bytes_sent += nbytes
        self.bytes_received += nbytes

    # -- checks ----------------------------------------------------------------------------
    def _fingerprint(self) -> int:
        text = f"{self.method}|{self.compressor}|{self.seed}|{self.warmup_steps}"
        if self.momentum:
            text += f"|momentum={self.momentum!r}"
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:7], "little")

    def _check(self, buffer: torch.Tensor) -> Tuple[int, int]:
        if buffer.is_sparse:
            raise TypeError("dsignsgd hooks need a dense gradient bucket, got a sparse one")
        if not buffer.is_contiguous():
            raise TypeError("dsignsgd hooks need a contiguous gradient bucket")
        if buffer.dtype != torch.float32 and self.method not in ("fp16", "bf16"):
            raise TypeError(f"dsignsgd hooks encode float32 gradients, got {buffer.dtype}")
        if self.process_group is None:
            # Made before init_process_group: the group with this state's timeout is made now,
            # by every rank at its first bucket (the same point of the same step on every rank).
            self.process_group = dist.new_group(timeout=self.timeout)
        group = self.process_group
        world = dist.get_world_size(group)
        rank = dist.get_rank(group)
        if self._world is None:
            self._world = world
        elif world != self._world:
            raise RuntimeError(f"world size changed from {self._world} to {world}: "
                               "make a new HookState for the new group")
        if not self._checked:
            # Every rank must run the same method: compare fingerprints once.
            mine = torch.tensor([self._fingerprint()], dtype=torch.int64)
            every = [torch.zeros_like(mine) for _ in range(world)]
            dist.all_gather(every, mine, group=group)
            differing = [r for r, f in enumerate(every) if int(f) != int(mine)]
            if differing:
                raise ValueError(f"rank {rank} runs method={self.method} compressor="
                                 f"{self.compressor} seed={self.seed} warmup_steps="
                                 f"{self.warmup_steps} momentum={self.momentum}; ranks "
                                 f"{differing} run another configuration")
            self._checked = True
        return rank, world

    def _bucket_group(self, index: int) -> dist.ProcessGroup:
        """A process group of its own for bucket `index`, for a protocol that chains a second
        collective on the first one's future: the chained collective is issued by the thread
        that completed the first, so on a shared group its order against the next bucket's
        collectives could differ between ranks (Gloo pairs collectives by the order they are
        issued in). Made on first use, in bucket order, on every rank."""
        if index not in self._bucket_groups:
            self._bucket_groups[index] = dist.new_group(
                dist.get_process_group_ranks(self.process_group), timeout=self.timeout)
        return self._bucket_groups[index]

    # -- error memory ----------------------------------------------------------------------
    def _on_device(self, buffer: torch.Tensor) -> bool:
        """Whether this bucket is encoded by the tensor codec on its own device."""
        if self.codec == "auto":
            return buffer.device.type != "cpu" and tensor_codec.supports(self.compressor)
        return self.codec == "tensor"

    def _error_memory(self, bucket: dist.GradBucket, buffer: torch.Tensor,
                      kind: str = "error") -> torch.Tensor:
        """The bucket's memory of `kind` (EF's "error", "momentum") as one flat tensor whose
        slices are the per-parameter memories; reassembled (not lost) when DDP rebuilds its
        buckets."""
        params = bucket.parameters()
        key = tuple(id(p) for p in params)
        per_param = self._memory.setdefault(kind, {})
        per_bucket = self._bucket_memory.setdefault(kind, {})
        cached = per_bucket.get(bucket.index())
        if cached is not None and cached[0] == key and cached[1].numel() == buffer.numel() \
                and cached[1].device == buffer.device:
            return cached[1]
        flat = torch.zeros(buffer.numel(), dtype=torch.float32, device=buffer.device)
        # The bucket's buffer is its parameters' gradients back to back, in parameters() order.
        offset = 0
        for p in params:
            view = flat[offset:offset + p.numel()]
            old = per_param.get(id(p))
            if old is not None:
                view.copy_(old.reshape(-1))  # (across devices too, if the codec changed)
            per_param[id(p)] = view
            offset += p.numel()
        if offset != buffer.numel():
            raise RuntimeError(f"bucket {bucket.index()} holds {buffer.numel()} values, its "
                               f"parameters {offset}: cannot place the {kind} memory")
        per_bucket[bucket.index()] = (key, flat)
        return flat

    def _signed(self, bucket: dist.GradBucket, values: torch.Tensor) -> torch.Tensor:
        """What a sign method encodes: the gradient, or with momentum β the updated momentum
        m ← β m + (1 − β) g (the library's momentum filter, in float32)."""
        if not self.momentum:
            return values
        memory = self._error_memory(bucket, values, "momentum")
        memory.mul_(self.momentum).add_(values, alpha=1.0 - self.momentum)
        return memory


def _ring_allreduce_bytes(nbytes: int, world: int) -> int:
    """Bytes one rank sends (and receives) in a ring allreduce of nbytes."""
    return 2 * (world - 1) * nbytes // world


def _advance(state: HookState, bucket: dist.GradBucket) -> None:
    if bucket.is_last():
        state.step += 1


def allreduce_mean(state: HookState, buffer: torch.Tensor,
                   world: int) -> torch.futures.Future[torch.Tensor]:
    """Plain fp32 allreduce (the warm-up), divided by the world size."""
    nbytes = buffer.numel() * 4
    state._count(_ring_allreduce_bytes(nbytes, world))
    state.dense_bytes += _ring_allreduce_bytes(nbytes, world)
    work = dist.all_reduce(buffer, group=state.process_group, async_op=True)
    return work.get_future().then(lambda fut: fut.value()[0].div_(world))


def compressed_hook(state: HookState,
                    bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
    """The DDP communication hook of state.method: encode this rank's bucket with the library,
    allgather the messages, aggregate them with the library in rank order."""
    if state.method not in METHODS:
        raise TypeError(f"compressed_hook cannot run method {state.method}: register "
                        f"hook_for('{state.method}') (dsignsgd.torch.{state.method}_hook)")
    buffer = bucket.buffer()
    rank, world = state._check(buffer)
    if state.step < state.warmup_steps:
        future = allreduce_mean(state, buffer, world)
        _advance(state, bucket)
        return future
    run, step = bucket.index(), state.step
    on_device = state._on_device(buffer)
    host = buffer.detach()
    if host.device.type != "cpu" and not on_device:
        host = host.cpu()
    source = state._signed(bucket, host)
    if state.aggregation == "majority":
        future = _sharded_majority(state, buffer, host, source, rank, world, run, step,
                                   on_device)
        state.dense_bytes += _ring_allreduce_bytes(buffer.numel() * 4, world)
        state.compressed_steps += bucket.is_last()
        _advance(state, bucket)
        return future
    if on_device:
        return _tensor_codec_exchange(state, bucket, buffer, source, rank, world, run, step)
    values = source.numpy()
    if state.error_feedback:
        message = _core.error_feedback_encode(state.compressor, values,
                                              state._error_memory(bucket, host).numpy(),
                                              state.seed, run, rank, step)
    else:
        message = _core.encode(state.compressor, values, state.seed, run, rank, step)
    send = torch.from_numpy(message).to(buffer.device)
    received = [torch.empty_like(send) for _ in range(world)]
    work = dist.all_gather(received, send, group=state.process_group, async_op=True)
    state.message_bytes += message.size
    state._count((world - 1) * message.size)
    state.dense_bytes += _ring_allreduce_bytes(buffer.numel() * 4, world)
    state.compressed_steps += bucket.is_last()
    _advance(state, bucket)

    aggregation, compressor, seed = state.aggregation, state.compressor, state.seed

    def aggregate(fut: torch.futures.Future) -> torch.Tensor:
        # Holds no HookState (see _callback_holds_no_group).
        fut.value()  # raises what the collective raised
        messages = [m.cpu().numpy() for m in received]
        out = host if host.data_ptr() == buffer.data_ptr() else torch.empty_like(host)
        _core.aggregate(aggregation, compressor, messages, seed, run, step, out.numpy())
        return _write_back(out, buffer)

    return work.get_future().then(aggregate)


def _tensor_codec_exchange(state: HookState, bucket: dist.GradBucket, buffer: torch.Tensor,
                           values: torch.Tensor, rank: int, world: int, run: int,
                           step: int) -> torch.futures.Future[torch.Tensor]:
    """compressed_hook on the bucket's device: the tensor codec's messages (the library's bytes)
    of `values` (the bucket, or signum's momentum), an allgather of uint8 tensors, the aggregate
    computed where the bucket lives."""
    if state.error_feedback:
        send = tensor_codec.error_feedback_encode(values, state._error_memory(bucket, values),
                                                  state.seed, run, rank, step)
    else:
        send = tensor_codec.encode(state.compressor, values, state.seed, run, rank, step)
    received = [torch.empty_like(send) for _ in range(world)]
    work = dist.all_gather(received, send, group=state.process_group, async_op=True)
    state.message_bytes += send.numel()
    state._count((world - 1) * send.numel())
    state.dense_bytes += _ring_allreduce_bytes(buffer.numel() * 4, world)
    state.compressed_steps += bucket.is_last()
    _advance(state, bucket)

    aggregation, compressor, seed = state.aggregation, state.compressor, state.seed

    def aggregate(fut: torch.futures.Future) -> torch.Tensor:
        # Holds no HookState (see _callback_holds_no_group).
        fut.value()  # raises what the collective raised
        buffer.copy_(tensor_codec.aggregate(aggregation, compressor, received, seed, run, step,
                                            buffer.numel()))
        return buffer

    return work.get_future().then(aggregate)


def _callback_holds_no_group(group_ref: weakref.ref) -> dist.ProcessGroup:
    """The group a chained callback issues its collective on, held weakly by the callback.

    A callback chained on a collective's future runs on, and is released by, a worker thread of
    that collective's process group, possibly after the training loop has moved on. Were the
    callback the last holder of a group (directly, or through the HookState after the model,
    the state and `destroy_process_group` are gone), the group's destructor would run on its own
    worker thread and join it: "Resource deadlock avoided", an abort at the end of training. So
    the callbacks capture plain values and weak references only; while a callback runs, DDP still
    waits for it and the state holds its groups."""
    group = group_ref()
    if group is None:
        raise RuntimeError("the majority vote's process group was destroyed while a bucket's "
                           "exchange was in flight")
    return group


def _write_back(out: torch.Tensor, buffer: torch.Tensor) -> torch.Tensor:
    """The bucket's buffer holding `out` (a host copy when the buffer is not on the CPU)."""
    if out.data_ptr() != buffer.data_ptr():
        buffer.copy_(out)
    return buffer


def shard_layout(d: int, world: int) -> Tuple[List[int], List[int]]:
    """The majority vote's shards: rank r votes on coordinates offsets[r] … offsets[r+1], whole
    blocks of 64 (so every shard but the last is whole bytes of the packed signs); nbytes[r] is
    its packed size. On the wire every shard is padded to the widest (at least 1 byte)."""
    per = ((d + world - 1) // world + 63) // 64 * 64
    offsets = [min(d, r * per) for r in range(world + 1)]
    return offsets, [(offsets[r + 1] - offsets[r] + 7) // 8 for r in range(world)]


def _sharded_majority(state: HookState, buffer: torch.Tensor, host: torch.Tensor,
                      source: torch.Tensor, rank: int, world: int, run: int, step: int,
                      on_device: bool) -> torch.futures.Future[torch.Tensor]:
    """Majority vote with 1 bit each way: rank r votes on its shard of the coordinates. Each rank
    sends shard r of its packed signs to rank r (all_to_all), rank r votes (the library's vote,
    with the whole vote's tie coins) and the 1-bit results are gathered by every rank. Both
    exchanges are asynchronous: the hook returns at once, the vote and the gather are chained on
    the first exchange's future. `source` is what is signed (the bucket or its momentum), `host`
    where the vote is written."""
    d = host.numel()
    offsets, nbytes = shard_layout(d, world)
    # The header stays home: shards are raw bits.
    if on_device:
        payload = tensor_codec.pack_bits(tensor_codec.sign_bits(source, state.seed, run, rank,
                                                                step))
    else:
        payload = torch.from_numpy(_core.encode("sign", source.numpy(), state.seed, run, rank,
                                                step)[8:])
    mine = nbytes[rank]
    # Every shard padded to the widest (at least 1 byte: Gloo does not exchange empty pieces).
    width = max(max(nbytes), 1)
    send = torch.zeros(world * width, dtype=torch.uint8, device=payload.device)
    for r in range(world):
        send[r * width:r * width + nbytes[r]] = payload[offsets[r] // 8:offsets[r] // 8 + nbytes[r]]
    received = torch.empty_like(send)
    group = state._bucket_group(run)
    exchange = dist.all_to_all_single(received, send, group=group, async_op=True)
    state.message_bytes += payload.numel()
    state._count(2 * (world - 1) * width)
    out = host if host.data_ptr() == buffer.data_ptr() else torch.empty_like(host)
    seed, group_ref = state.seed, weakref.ref(group)  # (see _callback_holds_no_group)

    def vote_and_gather(fut: torch.futures.Future) -> torch.Tensor:
        # Runs on the thread that completed the exchange, not the autograd thread: the second
        # collective is chained here (as PyTorch's PowerSGD hook chains its Q allreduce).
        fut.value()  # raises what the exchange raised
        group = _callback_holds_no_group(group_ref)
        if on_device:
            return vote_and_gather_on_device(group)
        shard = np.empty(offsets[rank + 1] - offsets[rank], dtype=np.float32)
        if shard.size:  # a rank past the end of a small bucket has nothing to vote on
            _core.majority_vote_shard(
                [received[i * width:i * width + mine].numpy() for i in range(world)],
                offsets[rank], seed, run, step, shard)
        vote = torch.zeros(width, dtype=torch.uint8)
        vote[:mine] = torch.from_numpy(_core.pack_signs(shard))
        gathered = [torch.empty_like(vote) for _ in range(world)]
        dist.all_gather(gathered, vote, group=group, async_op=True).wait()
        values = out.numpy()
        for r in range(world):
            if offsets[r + 1] > offsets[r]:
                _core.unpack_signs(gathered[r].numpy(), values[offsets[r]:offsets[r + 1]])
        return _write_back(out, buffer)

    def vote_and_gather_on_device(group: dist.ProcessGroup) -> torch.Tensor:
        vote = torch.zeros(width, dtype=torch.uint8, device=send.device)
        if offsets[rank + 1] > offsets[rank]:
            shard = tensor_codec.majority_vote(
                [received[i * width:i * width + mine] for i in range(world)],
                offsets[rank + 1] - offsets[rank], seed, run, step, offset=offsets[rank])
            vote[:mine] = tensor_codec.pack_signs(shard)
        gathered = [torch.empty_like(vote) for _ in range(world)]
        dist.all_gather(gathered, vote, group=group, async_op=True).wait()
        for r in range(world):
            if offsets[r + 1] > offsets[r]:
                buffer[offsets[r]:offsets[r + 1]] = tensor_codec.unpack_signs(
                    gathered[r], offsets[r + 1] - offsets[r])
        return buffer

    return exchange.get_future().then(vote_and_gather)


def _half_hook(state: HookState, bucket: dist.GradBucket,
               dtype: torch.dtype) -> torch.futures.Future[torch.Tensor]:
    buffer = bucket.buffer()
    _, world = state._check(buffer)
    half = buffer.to(dtype).div_(world)
    nbytes = half.numel() * half.element_size()
    state.message_bytes += nbytes
    state.dense_bytes += _ring_allreduce_bytes(buffer.numel() * 4, world)
    _advance(state, bucket)
    if dtype == torch.bfloat16 and dist.get_backend(state.process_group) == "gloo":
        # Gloo cannot reduce bf16: gather the 2-byte values (raw bits, carried as fp16: a gather
        # does no arithmetic) and sum them in fp32.
        send = half.view(torch.float16)
        received = [torch.empty_like(send) for _ in range(world)]
        state._count((world - 1) * nbytes)
        work = dist.all_gather(received, send, group=state.process_group, async_op=True)

        def total(fut: torch.futures.Future) -> torch.Tensor:
            fut.value()
            buffer.zero_()
            for r in received:
                buffer.add_(r.view(torch.bfloat16).to(torch.float32))
            return buffer

        return work.get_future().then(total)
    state._count(_ring_allreduce_bytes(nbytes, world))
    work = dist.all_reduce(half, group=state.process_group, async_op=True)

    def back(fut: torch.futures.Future) -> torch.Tensor:
        buffer.copy_(fut.value()[0])
        return buffer

    return work.get_future().then(back)


def fp16_hook(state: HookState,
              bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
    """Baseline: allreduce in fp16 (2 bytes per coordinate), mean in fp32."""
    return _half_hook(state, bucket, torch.float16)


def bf16_hook(state: HookState,
              bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
    """Baseline: allreduce in bf16 (2 bytes per coordinate), mean in fp32."""
    return _half_hook(state, bucket, torch.bfloat16)


def hook_for(method: str):
    """The hook function for a method name (fp16 and bf16 included)."""
    return {"fp16": fp16_hook, "bf16": bf16_hook}.get(method, compressed_hook)


def reference_aggregate(method: str, gradients: List, seed: int = 0, run: int = 0,
                        step: int = 0, compressor: Optional[str] = None,
                        errors: Optional[List] = None, momentum: float = 0.0,
                        momenta: Optional[List] = None):
    """What N ranks' hooks produce for the given per-rank float32 gradients, computed in one
    process (the tests compare the distributed hooks against it). `errors`: per-rank EF memories,
    `momenta`: per-rank momenta for β = `momentum` (signum, or a sign method with momentum);
    both updated in place."""
    info = METHODS[method]
    aggregation, error_feedback = info["aggregation"], info["filter"] == "error-feedback"
    spec = _core.compressor_name(compressor or info["default_compressor"])
    messages = []
    for agent, g in enumerate(gradients):
        g = np.ascontiguousarray(g, dtype=np.float32)
        if momenta is not None:  # the hook's own torch operations, so the same bits
            m = torch.from_numpy(momenta[agent])
            m.mul_(momentum).add_(torch.from_numpy(g), alpha=1.0 - momentum)
            g = momenta[agent]
        if error_feedback:
            messages.append(_core.error_feedback_encode(spec, g, errors[agent], seed, run, agent, step))
        else:
            messages.append(_core.encode(spec, g, seed, run, agent, step))
    out = np.empty(len(gradients[0]), dtype=np.float32)
    _core.aggregate(aggregation, spec, messages, seed, run, step, out)
    return out, messages
