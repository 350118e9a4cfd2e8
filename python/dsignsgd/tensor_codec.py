"""The 1-bit wire formats in torch tensor arithmetic, on the tensor's own device (issue 27).

When a DDP bucket lives on a GPU, copying it to the host for the C++ kernels costs what the
compression saves. These functions compute the same messages and aggregates with torch operations
on the bucket's device, byte for byte what the library (`dsignsgd._core`) computes:

    encode_sign(v, seed, run, agent, step)          'sign': header + 1 bit per coordinate
    error_feedback_encode(v, error, seed, …)         'scaled-sign' of p = v + error; error = p − C(p)
    mean_of_signs(payloads, d) / mean_of_scaled_signs(messages, d)
    majority_vote(payloads, d, seed, run, step, offset=0)   ±1 with the server's tie coins
    pack_signs(values) / unpack_signs(bits, d)

The random bits come from the library's Philox4x32-10 streams computed in int64 tensor arithmetic
(`draws`): a zero coordinate's sign is the sender's coin (bit b of the k-th 64-bit draw for the
k-th 64-coordinate word holding a zero), a tied vote is the server's coin (bit c % 32 of draw
c / 32), as in include/dsignsgd/random/stream.hpp and src/compress/bit_pack.cpp.

Exactness: every operation is an integer operation or one IEEE float32 operation in the library's
order, except the scaled sign's ‖p‖₁, a float64 sum in eight lanes that the library adds
sequentially: `torch.cumsum` reproduces that order on CPU tensors (tested byte for byte); a GPU's
cumsum is a parallel scan, so there the float64 sum may differ in its last bits, and the float32
scale sent differs only when that lands on a rounding boundary of float32 (about 2⁻²⁹ per message).
"""
from typing import List, Sequence, Tuple

import torch

MAGIC = 0xD5
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
    """float32(Σ|v_j| / d) with the library's float64 sum: eight lanes added sequentially (lane
    j % 8), the tail into lane 0, then ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))."""
    d = v.numel()
    whole = d // 8 * 8
    lanes = torch.zeros(8, dtype=torch.float64, device=v.device)
    if whole:
        lanes = torch.cumsum(v[:whole].abs().to(torch.float64).view(-1, 8), dim=0)[-1].clone()
    for value in v[whole:].abs().to(torch.float64):
        lanes[0] += value
    total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + (
        (lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
    return (total / d).to(torch.float32)


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
    if compressor == "scaled-sign" and aggregation == "mean":
        return mean_of_scaled_signs(messages, d)
    raise ValueError(f"invalid compressor '{compressor}' for the tensor codec: must be sign or "
                     "scaled-sign (rand-k, QSGD and natural compression go through the library)")


SUPPORTED = ("sign", "scaled-sign")
