"""The tensor codec (dsignsgd.tensor_codec) against the C++ library, byte for byte: messages,
error memories and aggregates, on CPU tensors (the path a CUDA bucket takes, forced here), and on
a CUDA device when there is one (marker `gpu`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dsignsgd._core as core
import dsignsgd.tensor_codec as tc

SEED = 20261204
print(f"tensor codec seed {SEED}")

# Sizes around the 8-bit byte, the 64-bit coin word and the 8-lane float64 sum.
SIZES = [1, 7, 8, 9, 63, 64, 65, 127, 1000, 4099]
# Addresses with every counter word and both halves of the key in use.
ADDRESSES = [(0, 0, 0, 0), (2**64 - 1, 3, 5, 11), (0x123456789ABCDEF0, 2**32 - 1, 2**24 - 2, 2**31 + 7)]


def gradient(d: int, rng: np.random.Generator, zeros: float = 0.3) -> np.ndarray:
    """Student-t values with a fraction of exact zeros (negative zeros among them)."""
    v = rng.standard_t(2.5, d).astype(np.float32)
    v[rng.random(d) < zeros] = 0.0
    v[rng.random(d) < 0.05] = -0.0
    return v


def as_bytes(t: torch.Tensor) -> bytes:
    return bytes(t.cpu().numpy().tobytes())


@pytest.mark.parametrize("d", SIZES)
@pytest.mark.parametrize("address", ADDRESSES)
def test_sign_messages_are_the_librarys_bytes(d, address):
    rng = np.random.default_rng([SEED, d])
    v = gradient(d, rng)
    for values in (v, np.zeros(d, np.float32)):  # all zeros: every bit is a coin
        expected = core.encode("sign", values, *address)
        got = tc.encode_sign(torch.from_numpy(values), *address)
        assert as_bytes(got) == bytes(expected.tobytes()), f"d={d} address={address}"


@pytest.mark.parametrize("d", SIZES)
def test_scaled_sign_and_error_memory_are_the_librarys(d):
    rng = np.random.default_rng([SEED, d, 1])
    address = ADDRESSES[1]
    error_lib = (0.1 * rng.standard_normal(d)).astype(np.float32)
    error_tensor = torch.from_numpy(error_lib.copy())
    for step in range(3):  # the memory carries over steps
        v = gradient(d, rng)
        expected = core.error_feedback_encode("scaled-sign", v, error_lib, address[0], address[1],
                                              address[2], step)
        got = tc.error_feedback_encode(torch.from_numpy(v), error_tensor, address[0], address[1],
                                       address[2], step)
        assert as_bytes(got) == bytes(expected.tobytes()), f"d={d} step={step}"
        assert error_tensor.numpy().tobytes() == error_lib.tobytes(), f"d={d} step={step}"


QUANTIZERS = ["qsgd:1", "qsgd:4", "qsgd:16:512", "qsgd:255:64", "natural", "randk:0.25",
              "randk:0.01"]


@pytest.mark.parametrize("compressor", QUANTIZERS)
@pytest.mark.parametrize("d", SIZES)
def test_quantizer_and_randk_messages_are_the_librarys_bytes(compressor, d):
    rng = np.random.default_rng([SEED, d, 2])
    v = gradient(d, rng)
    v[rng.random(d) < 0.02] = np.float32(1e-40)  # subnormals: natural compression's lowest code
    for address in ADDRESSES:
        expected = core.encode(compressor, v, *address)
        got = tc.encode(compressor, torch.from_numpy(v), *address)
        assert as_bytes(got) == bytes(expected.tobytes()), f"{compressor} d={d} {address}"


@pytest.mark.parametrize("compressor", QUANTIZERS)
@pytest.mark.parametrize("agents", [1, 3])
def test_quantizer_and_randk_aggregates_are_the_librarys(compressor, agents):
    rng = np.random.default_rng([SEED, agents, 3])
    d, seed, run, step = 1000, 12, 1, 4
    messages = [core.encode(compressor, gradient(d, rng), seed, run, a, step)
                for a in range(agents)]
    expected = np.empty(d, np.float32)
    core.aggregate("mean", compressor, messages, seed, run, step, expected)
    got = tc.aggregate("mean", compressor, [torch.from_numpy(m) for m in messages], seed, run,
                       step, d)
    assert got.numpy().tobytes() == expected.tobytes(), compressor


@pytest.mark.parametrize("agents", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("d", [1, 9, 65, 1000])
def test_aggregates_are_the_librarys(agents, d):
    rng = np.random.default_rng([SEED, d, agents])
    seed, run, step = 2**63 + 5, 2, 9
    gradients = [gradient(d, rng, zeros=0.5) for _ in range(agents)]
    for aggregation, compressor in [("mean", "sign"), ("majority", "sign"),
                                    ("mean", "scaled-sign")]:
        messages = [core.encode(compressor, g, seed, run, a, step)
                    for a, g in enumerate(gradients)]
        expected = np.empty(d, np.float32)
        core.aggregate(aggregation, compressor, messages, seed, run, step, expected)
        got = tc.aggregate(aggregation, compressor, [torch.from_numpy(m) for m in messages],
                           seed, run, step, d)
        assert got.dtype == torch.float32
        assert got.numpy().tobytes() == expected.tobytes(), f"{aggregation} {compressor}"


def test_tied_votes_take_the_servers_coins_at_any_offset():
    # Two agents voting opposite ways tie everywhere: the vote is the server's coin stream.
    d, seed, run, step = 3000, 99, 4, 17
    plus, minus = np.ones(d, np.float32), -np.ones(d, np.float32)
    payloads = [core.pack_signs(plus), core.pack_signs(minus)]
    for offset in (0, 64, 1024, 2048):
        n = d - offset
        expected = np.empty(n, np.float32)
        core.majority_vote_shard([p[offset // 8:] for p in payloads], offset, seed, run, step,
                                 expected)
        got = tc.majority_vote([torch.from_numpy(p[offset // 8:]) for p in payloads], n, seed,
                               run, step, offset=offset)
        assert got.numpy().tobytes() == expected.tobytes(), f"offset {offset}"
        assert 0.45 < (expected > 0).mean() < 0.55  # coins, not a constant


def test_pack_and_unpack_signs_match_the_library():
    rng = np.random.default_rng([SEED, 5])
    values = np.where(rng.random(77) < 0.5, 1.0, -1.0).astype(np.float32)
    packed = tc.pack_signs(torch.from_numpy(values))
    assert as_bytes(packed) == bytes(core.pack_signs(values).tobytes())
    assert torch.equal(tc.unpack_signs(packed, 77), torch.from_numpy(values))


def test_malformed_messages_are_refused():
    message = tc.encode_sign(torch.ones(10), 0, 0, 0, 0)
    with pytest.raises(ValueError, match="bytes, expected"):
        tc.aggregate("mean", "sign", [message[:-1]], 0, 0, 0, 10)
    with pytest.raises(ValueError, match="dimension"):
        tc.aggregate("mean", "sign", [message], 0, 0, 0, 9)
    with pytest.raises(ValueError, match="invalid compressor 'topk:0.1'"):
        tc.aggregate("mean", "topk:0.1", [message], 0, 0, 0, 10)
    with pytest.raises(ValueError, match="invalid compressor 'topk:0.1'"):
        tc.encode("topk:0.1", torch.ones(10), 0, 0, 0, 0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_a_cuda_device_the_messages_are_the_librarys():
    rng = np.random.default_rng([SEED, 6])
    v = gradient(100_003, rng)
    address = ADDRESSES[2]
    expected = core.encode("sign", v, *address)
    got = tc.encode_sign(torch.from_numpy(v).cuda(), *address)
    assert got.device.type == "cuda"
    assert as_bytes(got) == bytes(expected.tobytes())
    messages = [core.encode("sign", gradient(100_003, rng), 1, 2, a, 3) for a in range(3)]
    expected_vote = np.empty(100_003, np.float32)
    core.aggregate("majority", "sign", messages, 1, 2, 3, expected_vote)
    got_vote = tc.aggregate("majority", "sign", [torch.from_numpy(m).cuda() for m in messages],
                            1, 2, 3, 100_003)
    assert got_vote.cpu().numpy().tobytes() == expected_vote.tobytes()


def test_the_hook_state_names_a_wrong_codec():
    import dsignsgd.torch as dt
    with pytest.raises(ValueError, match="invalid codec 'gpu': must be auto, library or tensor"):
        dt.HookState(method="dsignsgd", codec="gpu")
    assert dt.HookState(method="dcsgd", compressor="randk:0.25", codec="tensor").codec == "tensor"
    assert dt.HookState(method="ef-signsgd", codec="tensor").compressor == "scaled-sign"


def test_randk_indices_are_increasing_distinct_and_refuse_other_compressors():
    indices = core.randk_indices("randk:0.25", 1000, 1, 2, 3, 4)
    assert indices.dtype == np.uint32 and len(indices) == 250
    assert np.all(np.diff(indices.astype(np.int64)) > 0) and indices[-1] < 1000
    with pytest.raises(ValueError, match="compressor 'sign' is not randk:F"):
        core.randk_indices("sign", 10, 0, 0, 0, 0)
