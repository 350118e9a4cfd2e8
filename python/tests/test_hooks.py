"""The DDP hooks against the library, bit for bit, at the world size in DSIGNSGD_TEST_WORLD
(CTest runs 1, 2 and 4 processes over Gloo)."""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict

import numpy as np
import pytest
import torch

import dsignsgd
import dsignsgd.torch as dt
from hook_workers import run_world

WORLD = int(os.environ.get("DSIGNSGD_TEST_WORLD", "2"))
CLI = os.environ.get("DSIGNSGD_CLI")
SEED = 7
print(f"world size {WORLD}, hook seed {SEED}")

COMPRESSED = [
    ("dsignsgd", None),
    ("majority", None),
    ("ef-signsgd", None),
    ("dcsgd", "randk:0.25"),
    ("dcsgd", "qsgd:4"),
    ("dcsgd", "natural"),
    ("signum", None),
]
MOMENTUM = {"signum": 0.9}  # the methods' default β
# The tensor codec (a CUDA bucket's path) encodes every compressor: forced on CPU tensors here.
TENSOR_CODEC = COMPRESSED


def values(results):
    for r, result in enumerate(results):
        assert result["ok"], f"rank {r}: {result.get('trace')}"
    return [result["value"] for result in results]


def replay_reference(method, compressor, per_rank_records, warmup_steps=0, momentum=None):
    """Recomputes every bucket's aggregate in one process from the ranks' gradients; EF memory
    and momentum kept per parameter here too. Yields (record on rank 0, expected) per bucket."""
    momentum = MOMENTUM.get(method, 0.0) if momentum is None else momentum
    kept = method == "ef-signsgd" or momentum > 0
    errors = [defaultdict(lambda: None) for _ in per_rank_records]  # per rank: param → memory
    keyed = [{(rec["step"], rec["index"]): rec for rec in recs} for recs in per_rank_records]
    for key in sorted(keyed[0]):
        records = [k[key] for k in keyed]
        step, index = key
        if step < warmup_steps:
            yield records, None
            continue
        memories = None
        if kept:
            memories = []
            for r, rec in enumerate(records):
                parts = []
                for position, numel in rec["layout"]:
                    old = errors[r][position]
                    parts.append(np.zeros(numel, np.float32) if old is None else old)
                memories.append(np.concatenate(parts).astype(np.float32))
        expected, _ = dt.reference_aggregate(
            method, [rec["before"].numpy() for rec in records], seed=SEED, run=index, step=step,
            compressor=compressor, errors=memories if method == "ef-signsgd" else None,
            momentum=momentum, momenta=memories if momentum > 0 else None)
        if memories is not None:
            for r, rec in enumerate(records):
                offset = 0
                for position, numel in rec["layout"]:
                    errors[r][position] = memories[r][offset:offset + numel].copy()
                    offset += numel
        yield records, expected


@pytest.mark.parametrize("method,compressor,codec", [
    (m, c, "library") for m, c in COMPRESSED] + [
    # The tensor codec (the path of a CUDA bucket), forced on CPU tensors: the same aggregates.
    (m, c, "tensor") for m, c in TENSOR_CODEC])
def test_each_hook_under_ddp_equals_the_librarys_aggregation_bit_for_bit(method, compressor,
                                                                         codec):
    results = values(run_world(WORLD, "ddp_training", method=method, compressor=compressor,
                               seed=SEED, codec=codec))
    checked = 0
    for records, expected in replay_reference(method, compressor,
                                              [v["records"] for v in results]):
        for r, rec in enumerate(records):
            assert rec["layout_matches"], "bucket buffer is not the gradients in order"
            assert torch.equal(rec["after"], torch.from_numpy(expected)), \
                f"{method} rank {r} step {rec['step']} bucket {rec['index']}"
        checked += 1
    # One bucket at step 0, then DDP's rebuild: two buckets in another parameter order.
    assert checked == 5
    for v in results[1:]:
        assert torch.equal(v["weights"], results[0]["weights"]), "replicas diverged"


@pytest.mark.parametrize("method,codec", [("majority", "library"), ("majority", "tensor"),
                                          ("dsignsgd", "library")])
def test_momentum_before_the_sign_equals_the_reference_bit_for_bit(method, codec):
    """Signum with majority vote (Bernstein et al.) and DSignSGD with momentum β = 0.5: each rank
    signs its momentum, kept per parameter across DDP's bucket rebuild."""
    results = values(run_world(WORLD, "ddp_training", method=method, seed=SEED, codec=codec,
                               momentum=0.5))
    checked = 0
    for records, expected in replay_reference(method, None, [v["records"] for v in results],
                                              momentum=0.5):
        for r, rec in enumerate(records):
            assert torch.equal(rec["after"], torch.from_numpy(expected)), \
                f"{method} rank {r} step {rec['step']} bucket {rec['index']}"
        checked += 1
    assert checked == 5
    # Without the momentum the same gradients give other aggregates after step 0.
    plain = list(replay_reference(method, None, [v["records"] for v in results], momentum=0.0))
    assert any(not torch.equal(records[0]["after"], torch.from_numpy(expected))
               for records, expected in plain[1:])


@pytest.mark.parametrize("codec", ["library", "tensor"])
def test_sharded_majority_equals_the_whole_vote_even_with_empty_shards(codec):
    results = values(run_world(WORLD, "small_majority", codec=codec))
    for index in range(len(results[0])):
        grads = [results[r][index][0].numpy() for r in range(WORLD)]
        expected, _ = dt.reference_aggregate("majority", grads, seed=9, run=index, step=0)
        for r in range(WORLD):
            assert torch.equal(results[r][index][1], torch.from_numpy(expected)), \
                f"d = {len(grads[0])}, rank {r}"


@pytest.mark.parametrize("method,compressor,codec", [
    (m, c, "library") for m, c in COMPRESSED + [("fp16", None), ("bf16", None)]] + [
    (m, c, "tensor") for m, c in TENSOR_CODEC])
def test_no_hook_blocks_the_autograd_thread(method, compressor, codec):
    """Issue 27 item 4: with the peers 1 s late, rank 0's hook calls return at once (every
    collective asynchronous, the majority's second exchange chained on the first's future) and
    their futures complete only when the peers arrive."""
    if WORLD < 2:
        pytest.skip("needs a peer")
    delay = 1.0
    results = values(run_world(WORLD, "hook_does_not_block", method=method,
                               compressor=compressor, delay=delay, codec=codec))
    called, done, finished, _, added = results[0]
    print(f"{method}: calls took {called:.3f} s, {done} futures done, all done after "
          f"{finished:.3f} s (peers {delay} s late); references the pending callbacks added "
          f"to the state and its groups: {added}")
    assert called < 0.25 * delay, f"the hook calls blocked for {called:.3f} s"
    assert done == 0
    # A pending callback holding the state (and so its groups) or a group could be released
    # last by the group's own worker thread after destroy_process_group, whose destructor then
    # joins that thread: an abort ("Resource deadlock avoided") at the end of training.
    assert added == [0] * len(added)
    assert finished > 0.5 * delay
    for r in range(1, WORLD):  # and the late step still aggregates the same on every rank
        for mine, theirs in zip(results[0][3], results[r][3]):
            assert torch.equal(mine, theirs)


@pytest.mark.parametrize("hook", ["torch-fp16", "powersgd-r1", "powersgd-r4", "dsignsgd",
                                  "majority", "qsgd"])
def test_the_step_time_models_bytes_are_the_bytes_the_hooks_send(hook):
    """Issue 27 item 6: dsignsgd.hook_model's bytes per step (PowerSGD's P and Q and its
    uncompressed tensors; fp16; the dsignsgd hooks' messages) equal what the hooks send under
    DDP, counted at every all_reduce (PyTorch's hooks) or by the HookState."""
    from dsignsgd import hook_model

    if WORLD < 2:
        pytest.skip("needs a peer")
    for per_step, buckets in values(run_world(WORLD, "counted_bytes", hook=hook)):
        predicted = sum(b for bucket in buckets for _, b in
                        hook_model.collectives(hook, bucket, WORLD))
        print(f"{hook}: {len(buckets)} buckets, counted {per_step[-1]} bytes/step, "
              f"model {predicted:.0f}")
        assert per_step[-1] == pytest.approx(predicted, rel=1e-9, abs=2 * len(buckets))


def test_every_hook_registers_with_ddp_as_users_do():
    for value in values(run_world(WORLD, "direct_registration")):
        assert value == ["dsignsgd", "majority", "ef-signsgd", "dcsgd", "fp16", "bf16"]


@pytest.mark.parametrize("method,compressor,codec", [
    (m, c, "library") for m, c in COMPRESSED] + [
    (m, c, "tensor") for m, c in TENSOR_CODEC])
def test_wire_bytes_equal_the_librarys_and_the_clis(method, compressor, codec):
    results = values(run_world(WORLD, "ddp_training", method=method, compressor=compressor,
                               seed=SEED, steps=1, codec=codec))
    spec = results[0]["compressor"]
    records = results[0]["records"]
    declared = sum(dsignsgd.wire_bytes(spec, rec["before"].numel()) for rec in records)
    stats = results[0]["stats"]
    assert stats["steps"] == 1 and stats["compressed_steps"] == 1  # no warm-up: every step
    if method == "majority":
        # 1 bit each way: rank 0 sends the other ranks their shards of its packed signs (no
        # header), then its own shard's vote to everyone (shards padded to the widest).
        sent, payload = 0, 0
        for rec in records:
            d = rec["before"].numel()
            offsets, nbytes = dt.shard_layout(d, WORLD)
            assert sum(nbytes) == (d + 7) // 8
            payload += (d + 7) // 8
            sent += 2 * (WORLD - 1) * max(max(nbytes), 1)
            assert offsets[-1] == d and all(o % 64 == 0 for o in offsets[:-1])
        assert stats["message_bytes"] == payload
        assert stats["bytes_sent"] == sent
        dims = sum(rec["before"].numel() for rec in records)
        # At most 2 bits per coordinate whatever N (plus padding), not the allgather's N − 1.
        assert stats["bytes_sent"] * 8 <= 2 * dims + 64 * WORLD * len(records)
        return
    assert stats["message_bytes"] == declared
    assert stats["bytes_sent"] == (WORLD - 1) * declared
    dense = sum(4 * rec["before"].numel() for rec in records)
    if WORLD > 1:
        assert stats["compression_rate"] == pytest.approx(
            2 * (WORLD - 1) * dense // WORLD / ((WORLD - 1) * declared), rel=1e-3)
    if CLI:
        d = records[0]["before"].numel()
        out = subprocess.run([CLI, "compressor", "--compressor", spec, "--dim", str(d),
                              "--trials", "2"], check=True, capture_output=True, text=True)
        measured = json.loads(out.stdout)["wire_bits_measured"]
        assert dsignsgd.wire_bytes(spec, d) * 8 == measured
    if spec == "sign":
        d = records[0]["before"].numel()
        assert dsignsgd.wire_bytes(spec, d) == 8 + (d + 7) // 8, "1 bit per coordinate"


def test_warm_up_is_plain_allreduce_until_step_k_then_compression():
    k = 2
    results = values(run_world(WORLD, "ddp_training", method="majority", seed=SEED, steps=4,
                               warmup_steps=k))
    seen = set()
    for records, expected in replay_reference("majority", None,
                                              [v["records"] for v in results], warmup_steps=k):
        step = records[0]["step"]
        seen.add(step)
        mean = torch.stack([rec["before"] for rec in records]).mean(0)
        for rec in records:
            if step < k:
                assert torch.allclose(rec["after"], mean, rtol=1e-5, atol=1e-7), f"step {step}"
                assert not torch.equal(rec["after"].abs(), torch.ones_like(mean))
            else:
                assert torch.equal(rec["after"], torch.from_numpy(expected)), f"step {step}"
    assert seen == {0, 1, 2, 3}


@pytest.mark.parametrize("method", ["fp16", "bf16"])
def test_half_precision_baselines_average_within_their_rounding(method):
    results = values(run_world(WORLD, "ddp_training", method=method, seed=SEED, steps=2))
    eps = {"fp16": 2.0**-11, "bf16": 2.0**-8}[method]
    ordered = [sorted(v["records"], key=lambda rec: (rec["step"], rec["index"])) for v in results]
    for records in zip(*ordered):
        befores = torch.stack([rec["before"] for rec in records])
        mean = befores.mean(0)
        bound = (WORLD + 1) * eps * befores.abs().max(0).values + 1e-7
        for rec in records:
            assert torch.all((rec["after"] - mean).abs() <= bound)
    stats = results[0]["stats"]
    if WORLD > 1:
        # fp16: a ring allreduce of 2-byte values, half of fp32's. bf16 on Gloo (which cannot
        # reduce bf16) is an allgather of 2-byte values: (N − 1)·2d against fp32's 2(N − 1)/N·4d.
        expected = 2.0 if method == "fp16" else 4.0 / WORLD
        assert stats["compression_rate"] == pytest.approx(expected, rel=1e-3)


def test_error_memory_survives_a_bucket_rebuild():
    results = values(run_world(WORLD, "error_feedback_rebuild", seed=3))
    memories = [[np.zeros(7, np.float32), np.zeros(5, np.float32)] for _ in range(WORLD)]
    for step in range(4):
        layout = results[0][step]["layout"]
        for index, members in enumerate(layout):
            grads = [np.concatenate([results[r][step]["grads"][m].numpy() for m in members])
                     for r in range(WORLD)]
            errors = [np.concatenate([memories[r][m] for m in members]) for r in range(WORLD)]
            expected, _ = dt.reference_aggregate("ef-signsgd", grads, seed=3, run=index,
                                                 step=step, errors=errors)
            for r in range(WORLD):
                got = results[r][step]["outputs"][index]
                assert torch.equal(got, torch.from_numpy(expected)), f"step {step} rank {r}"
                offset = 0
                for m in members:
                    n = memories[r][m].size
                    memories[r][m] = errors[r][offset:offset + n].copy()
                    offset += n
    # The memory is not zero: had the rebuild dropped it, step 2 would differ from the replay.
    assert any(np.abs(memories[0][m]).sum() > 0 for m in range(2))


@pytest.mark.parametrize("kind,error,words", [
    ("float64", "TypeError", "float64"),
    ("noncontiguous", "TypeError", "contiguous"),
    ("sparse", "TypeError", "sparse"),
    ("world", "RuntimeError", "world size changed"),
])
def test_bad_buckets_are_refused_with_a_message(kind, error, words):
    for r, result in enumerate(run_world(WORLD, "bad_bucket", kind=kind)):
        assert not result["ok"], f"rank {r} accepted a {kind} bucket"
        assert result["type"] == error and words in result["message"], result["message"]


def test_bad_configurations_raise_value_errors_naming_them():
    with pytest.raises(ValueError, match="invalid method 'nosuch'"):
        dt.HookState(method="nosuch")
    with pytest.raises(ValueError, match="must be sign"):
        dt.HookState(method="majority", compressor="randk:0.1")
    with pytest.raises(ValueError, match="must be unbiased"):
        dt.HookState(method="dcsgd", compressor="topk:0.1")
    with pytest.raises(ValueError, match="invalid --compressor 'randk:2'"):
        dt.HookState(method="dcsgd", compressor="randk:2")
    with pytest.raises(ValueError, match="warmup_steps"):
        dt.HookState(warmup_steps=-1)
    with pytest.raises(ValueError, match="invalid warmup_steps 1.5: must be an integer"):
        dt.HookState(warmup_steps=1.5)
    with pytest.raises(ValueError, match="invalid warmup_steps None: must be an integer"):
        dt.HookState(warmup_steps=None)
    with pytest.raises(ValueError, match="invalid seed 1.5: must be an integer"):
        dt.HookState(seed=1.5)
    with pytest.raises(TypeError, match="hook_for\\('fp16'\\)"):
        dt.compressed_hook(dt.HookState(method="fp16"), None)
    with pytest.raises(ValueError, match="invalid momentum 1.0: must be in"):
        dt.HookState(method="signum", momentum=1.0)
    with pytest.raises(ValueError, match="momentum before the sign is for"):
        dt.HookState(method="ef-signsgd", momentum=0.9)
    with pytest.raises(ValueError, match="momentum before the sign is for"):
        dt.HookState(method="dcsgd", compressor="qsgd:4", momentum=0.5)
    assert dt.HookState(method="signum").momentum == 0.9
    assert dt.HookState(method="majority").momentum == 0.0


@pytest.mark.skipif(WORLD < 2, reason="needs two ranks")
def test_ranks_with_different_configurations_refuse_to_start():
    for r, result in enumerate(run_world(WORLD, "mismatched_configuration")):
        assert not result["ok"] and result["type"] == "ValueError", f"rank {r}"
        assert "ranks [1] run another configuration" in result["message"] or \
            "run another configuration" in result["message"]


@pytest.mark.skipif(WORLD < 2, reason="needs two ranks")
def test_a_missing_peer_raises_within_the_timeout_instead_of_hanging():
    import time
    start = time.monotonic()
    results = run_world(WORLD, "missing_peer", timeout=3, teardown=False)
    assert not results[0]["ok"], "rank 0 waited for a peer that never came, and returned"
    assert time.monotonic() - start < 60


@pytest.mark.skipif(WORLD < 2, reason="needs two ranks")
def test_a_state_made_before_init_process_group_keeps_its_timeout():
    # Issue 30: such a state kept process_group=None and waited out the default group's timeout.
    results = run_world(WORLD, "missing_peer_elapsed", state_before_init=3, group_timeout=20,
                        linger=25, teardown=False)
    second = results[0]["value"]
    assert second["error"] is not None, "rank 0 waited for a silent peer, and returned"
    assert second["elapsed"] < 12, \
        f"raised after {second['elapsed']:.1f} s: the default group's 20 s, not the state's 3 s"
