"""The wire formats in torch tensor arithmetic, on the tensor's own device (issue 27).

When a DDP bucket lives on a GPU, copying it to the host for the C++ kernels costs what the
compression saves. These functions compute the same messages and aggregates with torch operations
on the bucket's device, byte for byte what the library (`dsignsgd._core`) computes:

    encode_sign(v, seed, run, agent, step)          'sign': header + 1 bit per coordinate
    encode(compressor, v, seed, run, agent, step)   also 'qsgd:S[:B]', 'natural', 'randk:F'
    error_feedback_encode(v, error, seed, …)         'scaled-sign' of p = v + error; error = p − C(p)
    mean_of_signs(payloads, d) / mean_of_scaled_signs(messages, d)
    majority_vote(payloads, d, seed, run, step, offset=0)   ±1 with the server's tie coins
    pack_signs(values) / unpack_signs(bits, d)

The random bits come from the library's Philox4x32-10 streams computed in int64 tensor arithmetic
(`draws`): a zero coordinate's sign is the sender's coin (bit b of the k-th 64-bit draw for the
k-th 64-coordinate word holding a zero), a tied vote is the server's coin (bit c % 32 of draw
c / 32), as in include/dsignsgd/random/stream.hpp and src/compress/bit_pack.cpp.

QSGD and natural compression take draw j of the sender's stream for coordinate j.

Exactness: every operation is an integer operation or one IEEE operation in the library's order,
except the float64 sums (the scaled sign's ‖p‖₁, QSGD's bucket norms), eight lanes that the
library adds sequentially: `torch.cumsum` reproduces that order on CPU tensors (tested byte for
byte); a GPU's cumsum is a parallel scan, so there the float64 sum may differ in its last bits,
and the float32 value sent differs only when that lands on a rounding boundary of float32 (about
2⁻²⁹ per message).

Rand-k's indices come from Floyd's algorithm, a sequential chain of draws: they are drawn on the
host by the library (`_core.randk_indices`; they depend on the address only, not on the data) and
copied to the device, 4k bytes, while the values stay on the device.
"""
from typing import List, Sequence, Tuple

import torch

from . import _core

MAGIC = 0xD5
CODE_RANDK = 2
CODE_QSGD = 3
CODE_NATURAL = 4
CODE_SIGN = 5
CODE_SCALED_SIGN = 7
HEADER_BYTES = 8

_MASK32 = 0xFFFFFFFF
_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
PURPOSE_COMPRESSION = 2
PURPOSE_SERVER = 4
SERVER_AGENT = 0xFFFFFF


# -- random streams ---------------------------------------------------------------------------

def _mulhilo(multiplier: int, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(high, low) 32-bit halves of multiplier × x for x < 2^32, without int64 overflow: x is
    split in 16-bit halves, every partial product stays below 2^49."""
    low_part = multiplier * (x & 0xFFFF)
    high_part = multiplier * (x >> 16)
    middle = low_part + ((high_part & 0xFFFF) << 16)
    return ((high_part >> 16) + (middle >> 32)) & _MASK32, middle & _MASK32


def philox4x32_10(blocks: torch.Tensor, step: int, lane2: int, run: int,
                  seed: int) -> torch.Tensor:
    """Philox4x32-10 of the counters (block, step, lane2, run) for an int64 tensor of block indices,
    key = the 64-bit seed: a (len(blocks), 4) int64 tensor of 32-bit outputs."""
    c0 = blocks & _MASK32
    c1 = torch.full_like(c0, step & _MASK32)
    c2 = torch.full_like(c0, lane2 & _MASK32)
    c3 = torch.full_like(c0, run & _MASK32)
    k0, k1 = seed & _MASK32, (seed >> 32) & _MASK32
    for _ in range(10):
        hi0, lo0 = _mulhilo(_M0, c0)
        hi1, lo1 = _mulhilo(_M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    return torch.stack((c0, c1, c2, c3), dim=1)


def draws(count: int, seed: int, run: int, agent: int, step: int, purpose: int,
          device: torch.device, first: int = 0) -> torch.Tensor:
    """Draws first … first + count − 1 of the stream (seed, run, agent, step, purpose), as the
    library's next_u32() gives them (int64 tensor of values < 2^32)."""
    if count <= 0:
        return torch.zeros(0, dtype=torch.int64, device=device)
    first_block, last_block = first // 4, (first + count - 1) // 4
    blocks = torch.arange(first_block, last_block + 1, dtype=torch.int64, device=device)
    lane2 = (agent & 0xFFFFFF) | (purpose << 24)
    out = philox4x32_10(blocks, step, lane2, run, seed).reshape(-1)
    return out[first - 4 * first_block:first - 4 * first_block + count]


# -- bits -------------------------------------------------------------------------------------

_BIT_WEIGHTS = {}


def _weights(device: torch.device) -> torch.Tensor:
    if device not in _BIT_WEIGHTS:
        _BIT_WEIGHTS[device] = torch.tensor([1 << i for i in range(8)], dtype=torch.uint8,
                                            device=device)
    return _BIT_WEIGHTS[device]


def pack_bits(bits: torch.Tensor) -> torch.Tensor:
    """Bool tensor → uint8 bytes, coordinate j at bit j % 8 of byte j / 8 (the last byte's high
    bits zero)."""
    d = bits.numel()
    padded = torch.zeros(-(-d // 8) * 8, dtype=torch.uint8, device=bits.device)
    padded[:d] = bits.to(torch.uint8)
    return (padded.view(-1, 8) * _weights(bits.device)).sum(dim=1, dtype=torch.uint8)


def unpack_bits(payload: torch.Tensor, d: int) -> torch.Tensor:
    """uint8 bytes → bool tensor of the first d bits."""
    return ((payload.view(-1, 1) & _weights(payload.device)) != 0).reshape(-1)[:d]


def pack_signs(values: torch.Tensor) -> torch.Tensor:
    """The bits of ±1 values (bit 1 ⇔ value ≥ 0; no zero, so no coin), as _core.pack_signs."""
    return pack_bits(values >= 0)


def unpack_signs(payload: torch.Tensor, d: int) -> torch.Tensor:
    """±1.0 float32 values of d packed signs, as _core.unpack_signs."""
    return unpack_bits(payload, d).to(torch.float32) * 2 - 1


def sign_bits(v: torch.Tensor, seed: int, run: int, agent: int, step: int) -> torch.Tensor:
    """The sign of every coordinate (bit 1 ⇔ v ≥ 0), a zero's bit from the sender's coins: the
    k-th 64-coordinate word holding a zero takes the k-th 64-bit draw (high word first)."""
    bits = v >= 0
    zeros = v == 0
    if not bool(zeros.any()):
        return bits
    d = v.numel()
    words = -(-d // 64)
    padded = torch.zeros(words * 64, dtype=torch.bool, device=v.device)
    padded[:d] = zeros
    with_zero = padded.view(words, 64).any(dim=1)
    ordinal = torch.cumsum(with_zero.to(torch.int64), dim=0) - 1  # the word's coin index
    coins = draws(2 * int(with_zero.sum()), seed, run, agent, step, PURPOSE_COMPRESSION, v.device)
    coins = coins.view(-1, 2)  # (high 32 bits, low 32 bits) of each 64-bit coin
    word_of = torch.arange(d, device=v.device) // 64
    position = torch.arange(d, device=v.device) % 64
    index = ordinal[word_of].clamp(min=0)
    half = torch.where(position < 32, coins[index, 1], coins[index, 0])
    coin = ((half >> (position % 32)) & 1).bool()
    return torch.where(zeros, coin, bits)


def _header(code: int, d: int, device: torch.device) -> torch.Tensor:
    return torch.tensor([MAGIC, code, 0, 0, d & 0xFF, (d >> 8) & 0xFF, (d >> 16) & 0xFF,
                         (d >> 24) & 0xFF], dtype=torch.uint8, device=device)


def _check(message: torch.Tensor, code: int, d: int, payload_bytes: int) -> torch.Tensor:
    if message.numel() != HEADER_BYTES + payload_bytes:
        raise ValueError(f"malformed message: {message.numel()} bytes, expected "
                         f"{HEADER_BYTES + payload_bytes}")
    head = message[:HEADER_BYTES].tolist()
    if head[0] != MAGIC or head[1] != code:
        raise ValueError("malformed message: wrong magic or compressor code")
    if head[4] | head[5] << 8 | head[6] << 16 | head[7] << 24 != d:
        raise ValueError(f"malformed message: dimension does not match {d}")
    return message[HEADER_BYTES:]


# -- messages ---------------------------------------------------------------------------------

def encode_sign(v: torch.Tensor, seed: int, run: int, agent: int, step: int) -> torch.Tensor:
    """The 'sign' message of v (float32, 1-D) at address (seed, run, agent, step)."""
    return torch.cat((_header(CODE_SIGN, v.numel(), v.device),
                      pack_bits(sign_bits(v, seed, run, agent, step))))


def l1_mean(v: torch.Tensor) -> torch.Tensor:
    """float32(Σ|v_j| / d) with the library's float64 sum (_lane_sum's order)."""
    return (_lane_sum(v.abs().to(torch.float64)) / v.numel()).to(torch.float32)


def encode_scaled_sign(v: torch.Tensor, seed: int, run: int, agent: int,
                       step: int) -> torch.Tensor:
    """The 'scaled-sign' message: header, float32 ‖v‖₁/d (little-endian), 1 bit per coordinate."""
    scale = l1_mean(v).reshape(1)
    return torch.cat((_header(CODE_SCALED_SIGN, v.numel(), v.device),
                      _float_bytes(scale), pack_bits(sign_bits(v, seed, run, agent, step))))


def _float_bytes(x: torch.Tensor) -> torch.Tensor:
    """The little-endian bytes of float32 values (the machine's order; every platform torch
    runs on here is little-endian)."""
    return x.contiguous().view(torch.uint8)


def error_feedback_encode(v: torch.Tensor, error: torch.Tensor, seed: int, run: int, agent: int,
                          step: int) -> torch.Tensor:
    """EF-SignSGD: p = v + error, the scaled-sign message of p, error = p − C(p) (in place)."""
    p = v + error
    message = encode_scaled_sign(p, seed, run, agent, step)
    scale = message[HEADER_BYTES:HEADER_BYTES + 4].view(torch.float32)
    # 0 + (±scale), as the library decodes (accumulating onto zeros: no negative zero).
    decoded = torch.where(unpack_bits(message[HEADER_BYTES + 4:], v.numel()), scale, -scale) + 0.0
    torch.sub(p, decoded, out=error)
    return message


def pack_codes(codes: torch.Tensor, width: int) -> torch.Tensor:
    """width-bit codes (int64 tensor), LSB first, back to back from bit 0 (the library's
    BitWriter layout): code i at bits i·width … (i + 1)·width − 1."""
    shifts = torch.arange(width, device=codes.device)
    return pack_bits(((codes.view(-1, 1) >> shifts) & 1).bool().reshape(-1))


def unpack_codes(payload: torch.Tensor, width: int, n: int) -> torch.Tensor:
    """The first n width-bit codes of a packed bitstream (int64)."""
    bits = unpack_bits(payload, n * width).view(n, width).to(torch.int64)
    return (bits << torch.arange(width, device=payload.device)).sum(dim=1)


def _lane_sums(rows: torch.Tensor) -> torch.Tensor:
    """Σ of each row of a (rows, n) float64 tensor as the library adds a vector: eight lanes, each
    sequential (element j into lane j % 8), the n % 8 tail into lane 0 in order, then
    ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))."""
    count, n = rows.shape
    whole = n // 8 * 8
    lanes = torch.zeros(count, 8, dtype=torch.float64, device=rows.device)
    if whole:
        lanes = torch.cumsum(rows[:, :whole].reshape(count, -1, 8), dim=1)[:, -1, :].clone()
    for j in range(whole, n):
        lanes[:, 0] += rows[:, j]
    return ((lanes[:, 0] + lanes[:, 1]) + (lanes[:, 2] + lanes[:, 3])) + (
        (lanes[:, 4] + lanes[:, 5]) + (lanes[:, 6] + lanes[:, 7]))


def _lane_sum(x: torch.Tensor) -> torch.Tensor:
    """Σ x (float64, 1-D) in the library's order (_lane_sums of one row)."""
    return _lane_sums(x.view(1, -1))[0]


def _bucket_sums(x: torch.Tensor, b: int) -> torch.Tensor:
    """The library's Σ over each bucket of b consecutive values (the last may be shorter)."""
    full = x.numel() // b
    sums = [_lane_sums(x[:full * b].view(full, b))] if full else []
    if full * b < x.numel():
        sums.append(_lane_sum(x[full * b:]).view(1))
    return torch.cat(sums)


def _qsgd_shape(compressor: str, d: int) -> Tuple[int, int, int]:
    """(levels s, bucket size, code width 1 + bit_width(s)) of 'qsgd:S[:B]' for dimension d."""
    parts = compressor.split(":")
    levels = int(parts[1])
    bucket = int(parts[2]) if len(parts) > 2 else 0
    return levels, d if bucket == 0 or bucket > d else bucket, 1 + levels.bit_length()


def encode_qsgd(compressor: str, v: torch.Tensor, seed: int, run: int, agent: int,
                step: int) -> torch.Tensor:
    """QSGD: per bucket the float32 norm, then per coordinate sign | level << 1, the level
    s|v_j|/‖v_b‖ rounded up with probability its fractional part (draw j of the sender's stream
    · 2⁻³² below it), at most s."""
    d = v.numel()
    levels, b, width = _qsgd_shape(compressor, d)
    x = v.to(torch.float64)
    norms = _bucket_sums(x * x, b).sqrt().to(torch.float32)
    inv_norm = torch.where(norms > 0, 1.0 / norms.to(torch.float64),
                           torch.zeros((), dtype=torch.float64, device=v.device))
    per_coordinate = inv_norm.repeat_interleave(b)[:d]
    scaled = levels * x.abs() * per_coordinate
    floor_level = scaled.floor()
    draw = draws(d, seed, run, agent, step, PURPOSE_COMPRESSION, v.device).to(torch.float64)
    level = torch.clamp(floor_level + (draw * 2.0**-32 < scaled - floor_level), max=levels)
    codes = (level.to(torch.int64) << 1) | (v < 0).to(torch.int64)
    return torch.cat((_header(CODE_QSGD, d, v.device), _float_bytes(norms),
                      pack_codes(codes, width)))


def qsgd_accumulate(compressor: str, message: torch.Tensor, acc: torch.Tensor) -> None:
    """acc += the decoded QSGD message: ±(norm_b / s) · level, in float32."""
    d = acc.numel()
    levels, b, width = _qsgd_shape(compressor, d)
    buckets = -(-d // b)
    payload = _check(message, CODE_QSGD, d, 4 * buckets + -(-width * d // 8))
    unit = payload[:4 * buckets].view(torch.float32) / float(levels)
    codes = unpack_codes(payload[4 * buckets:], width, d)
    magnitude = unit.repeat_interleave(b)[:d] * (codes >> 1).to(torch.float32)
    acc += torch.where((codes & 1).bool(), -magnitude, magnitude)


def encode_natural(v: torch.Tensor, seed: int, run: int, agent: int, step: int) -> torch.Tensor:
    """Natural compression: 9-bit codes sign << 8 | biased exponent, rounded up to the next power
    of two when the top 23 bits of draw j fall below the mantissa (infinity stays)."""
    d = v.numel()
    bits = v.view(torch.int32).to(torch.int64) & _MASK32
    exponent = (bits >> 23) & 0xFF
    mantissa = bits & 0x7FFFFF
    draw = draws(d, seed, run, agent, step, PURPOSE_COMPRESSION, v.device)
    rounded = torch.where(exponent == 0xFF, exponent, exponent + ((draw >> 9) < mantissa))
    return torch.cat((_header(CODE_NATURAL, d, v.device),
                      pack_codes(((bits >> 31) << 8) | rounded, 9)))


def natural_accumulate(message: torch.Tensor, acc: torch.Tensor) -> None:
    """acc += the decoded natural-compression message (powers of two, zeros, infinities)."""
    d = acc.numel()
    codes = unpack_codes(_check(message, CODE_NATURAL, d, -(-9 * d // 8)), 9, d)
    bits = ((codes >> 8) << 31) | ((codes & 0xFF) << 23)
    acc += (bits - ((bits >> 31) << 32)).to(torch.int32).view(torch.float32)


def randk_indices(compressor: str, d: int, seed: int, run: int, agent: int, step: int,
                  device: torch.device) -> torch.Tensor:
    """rand-k's kept coordinates (int64, increasing) at an address, drawn by the library on the
    host and copied to the device."""
    indices = _core.randk_indices(compressor, d, seed, run, agent, step)
    return torch.from_numpy(indices.astype("int64")).to(device)


def encode_randk(compressor: str, v: torch.Tensor, seed: int, run: int, agent: int,
                 step: int) -> torch.Tensor:
    """rand-k: the float32 values at the kept coordinates (the indices are not sent)."""
    d = v.numel()
    kept = v[randk_indices(compressor, d, seed, run, agent, step, v.device)]
    return torch.cat((_header(CODE_RANDK, d, v.device), _float_bytes(kept)))


def randk_accumulate(compressor: str, message: torch.Tensor, seed: int, run: int, agent: int,
                     step: int, acc: torch.Tensor) -> None:
    """acc[kept] += float32(d / k) × the sent values (the sender's indices, from its address)."""
    d = acc.numel()
    indices = randk_indices(compressor, d, seed, run, agent, step, acc.device)
    k = indices.numel()
    values = _check(message, CODE_RANDK, d, 4 * k).view(torch.float32)
    scale = torch.tensor(d / k, dtype=torch.float32).item()
    acc[indices] += scale * values


def encode(compressor: str, v: torch.Tensor, seed: int, run: int, agent: int,
           step: int) -> torch.Tensor:
    """The message of v for a compressor this module encodes (SUPPORTED), as _core.encode."""
    if compressor == "sign":
        return encode_sign(v, seed, run, agent, step)
    if compressor == "scaled-sign":
        return encode_scaled_sign(v, seed, run, agent, step)
    if compressor.startswith("qsgd:"):
        return encode_qsgd(compressor, v, seed, run, agent, step)
    if compressor == "natural":
        return encode_natural(v, seed, run, agent, step)
    if compressor.startswith("randk:"):
        return encode_randk(compressor, v, seed, run, agent, step)
    raise ValueError(f"invalid compressor '{compressor}' for the tensor codec: must be one of "
                     "sign, scaled-sign, qsgd:S[:B], natural, randk:F")


def supports(compressor: str) -> bool:
    """Whether the tensor codec encodes this (canonical) compressor name."""
    return compressor in ("sign", "scaled-sign", "natural") or compressor.startswith(
        ("qsgd:", "randk:"))


# -- aggregation ------------------------------------------------------------------------------

def sign_payloads(messages: Sequence[torch.Tensor], d: int) -> List[torch.Tensor]:
    """The packed bits of 'sign' messages (headers checked)."""
    return [_check(m, CODE_SIGN, d, -(-d // 8)) for m in messages]


def plus_votes(payloads: Sequence[torch.Tensor], d: int) -> torch.Tensor:
    """How many agents' bits are 1 at each of the d coordinates (int32)."""
    plus = torch.zeros(d, dtype=torch.int32, device=payloads[0].device)
    for payload in payloads:
        plus += unpack_bits(payload, d)
    return plus


def mean_of_signs(payloads: Sequence[torch.Tensor], d: int) -> torch.Tensor:
    """The mean of the agents' signs: float32(2 plus − N) × float32(1/N), as the library."""
    n = len(payloads)
    sums = (2 * plus_votes(payloads, d) - n).to(torch.float32)
    return sums * torch.tensor(1.0, dtype=torch.float32).div(n).item()


def majority_vote(payloads: Sequence[torch.Tensor], d: int, seed: int, run: int, step: int,
                  offset: int = 0) -> torch.Tensor:
    """±1: the sign of the vote sum at coordinates offset … offset + d − 1, the server's coin
    (bit c % 32 of draw c / 32 of its stream) where the sum is 0."""
    sums = 2 * plus_votes(payloads, d) - len(payloads)
    first, last = offset // 32, (offset + d - 1) // 32
    coins = draws(last - first + 1, seed, run, SERVER_AGENT, step, PURPOSE_SERVER,
                  sums.device, first=first)
    c = torch.arange(offset, offset + d, device=sums.device)
    coin = ((coins[c // 32 - first] >> (c % 32)) & 1).bool()
    positive = torch.where(sums == 0, coin, sums > 0)
    return positive.to(torch.float32) * 2 - 1


def mean_of_scaled_signs(messages: Sequence[torch.Tensor], d: int) -> torch.Tensor:
    """The mean of 'scaled-sign' messages: acc += ±scale_i in agent order, then × float32(1/N)."""
    acc = torch.zeros(d, dtype=torch.float32, device=messages[0].device)
    for message in messages:
        payload = _check(message, CODE_SCALED_SIGN, d, 4 + -(-d // 8))
        scale = payload[:4].view(torch.float32)
        acc += torch.where(unpack_bits(payload[4:], d), scale, -scale)
    return acc * torch.tensor(1.0, dtype=torch.float32).div(len(messages)).item()


def aggregate(aggregation: str, compressor: str, messages: Sequence[torch.Tensor], seed: int,
              run: int, step: int, d: int) -> torch.Tensor:
    """What _core.aggregate writes, for the compressors this module encodes."""
    if compressor == "sign":
        payloads = sign_payloads(messages, d)
        if aggregation == "majority":
            return majority_vote(payloads, d, seed, run, step)
        return mean_of_signs(payloads, d)
    if aggregation == "mean" and compressor == "scaled-sign":
        return mean_of_scaled_signs(messages, d)
    if aggregation == "mean" and supports(compressor):
        acc = torch.zeros(d, dtype=torch.float32, device=messages[0].device)
        for agent, message in enumerate(messages):  # in agent order, as the library adds
            if compressor == "natural":
                natural_accumulate(message, acc)
            elif compressor.startswith("randk:"):
                randk_accumulate(compressor, message, seed, run, agent, step, acc)
            else:
                qsgd_accumulate(compressor, message, acc)
        return acc * torch.tensor(1.0, dtype=torch.float32).div(len(messages)).item()
    raise ValueError(f"invalid compressor '{compressor}' for the tensor codec with {aggregation} "
                     "aggregation: must be one of sign, scaled-sign, qsgd:S[:B], natural, randk:F")


