#include "dsignsgd/compress/bit_pack.hpp"

#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <utility>

#include "dsignsgd/core/cpu_dispatch.hpp"
#include "dsignsgd/random/stream.hpp"

namespace dsignsgd {
namespace {

constexpr std::size_t kPrefetchFloats = 4096;

/// Replaces the bits of the zeros in a 64-coordinate word by coins.
inline std::uint64_t flip_zeros(std::uint64_t word, std::uint64_t zeros, RandomStream& coins) {
  return zeros == 0 ? word : (word & ~zeros) | (coins.next_u64() & zeros);
}

void pack_signs_scalar(const float* v, std::size_t begin, std::size_t d, std::uint8_t* out,
                       RandomStream& coins) {
  // begin is a multiple of 64.
  for (std::size_t j = begin; j < d; j += 64) {
    std::uint64_t word = 0;
    std::uint64_t zeros = 0;
    const std::size_t end = j + 64 < d ? j + 64 : d;
    for (std::size_t i = j; i < end; ++i) {
      word |= static_cast<std::uint64_t>(v[i] >= 0.0f ? 1u : 0u) << (i - j);
      zeros |= static_cast<std::uint64_t>(v[i] == 0.0f ? 1u : 0u) << (i - j);
    }
    word = flip_zeros(word, zeros, coins);
    std::memcpy(out + j / 8, &word, (end - j + 7) / 8);
  }
}

__attribute__((target("avx2"))) void pack_signs_avx2(const float* v, std::size_t d,
                                                     std::uint8_t* out, RandomStream& coins) {
  const __m256 zero = _mm256_setzero_ps();
  std::size_t j = 0;
  for (; j + 64 <= d; j += 64) {
    for (std::size_t line = 0; line < 64; line += 16) {
      _mm_prefetch(reinterpret_cast<const char*>(v + j + kPrefetchFloats + line), _MM_HINT_T0);
    }
    std::uint64_t word = 0;
    std::uint64_t zeros = 0;
    for (int block = 0; block < 8; ++block) {
      const __m256 x = _mm256_loadu_ps(v + j + 8 * block);
      const auto mask =
          static_cast<std::uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(x, zero, _CMP_GE_OQ)));
      const auto zero_mask =
          static_cast<std::uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(x, zero, _CMP_EQ_OQ)));
      word |= static_cast<std::uint64_t>(mask) << (8 * block);
      zeros |= static_cast<std::uint64_t>(zero_mask) << (8 * block);
    }
    word = flip_zeros(word, zeros, coins);
    std::memcpy(out + j / 8, &word, 8);
  }
  pack_signs_scalar(v, j, d, out, coins);
}

__attribute__((target("avx512f"))) void pack_signs_avx512(const float* v, std::size_t d,
                                                          std::uint8_t* out, RandomStream& coins) {
  const __m512 zero = _mm512_setzero_ps();
  std::size_t j = 0;
  for (; j + 64 <= d; j += 64) {
    // Software prefetch 16 KiB ahead: measured +30-40 % over the hardware prefetcher alone on
    // buffers beyond the cache (docs/BENCHMARKS.md). Prefetches past the end do not fault.
    for (std::size_t line = 0; line < 64; line += 16) {
      _mm_prefetch(reinterpret_cast<const char*>(v + j + kPrefetchFloats + line), _MM_HINT_T0);
    }
    const __m512 x0 = _mm512_loadu_ps(v + j);
    const __m512 x1 = _mm512_loadu_ps(v + j + 16);
    const __m512 x2 = _mm512_loadu_ps(v + j + 32);
    const __m512 x3 = _mm512_loadu_ps(v + j + 48);
    const std::uint64_t m0 = _mm512_cmp_ps_mask(x0, zero, _CMP_GE_OQ);
    const std::uint64_t m1 = _mm512_cmp_ps_mask(x1, zero, _CMP_GE_OQ);
    const std::uint64_t m2 = _mm512_cmp_ps_mask(x2, zero, _CMP_GE_OQ);
    const std::uint64_t m3 = _mm512_cmp_ps_mask(x3, zero, _CMP_GE_OQ);
    const std::uint64_t z0 = _mm512_cmp_ps_mask(x0, zero, _CMP_EQ_OQ);
    const std::uint64_t z1 = _mm512_cmp_ps_mask(x1, zero, _CMP_EQ_OQ);
    const std::uint64_t z2 = _mm512_cmp_ps_mask(x2, zero, _CMP_EQ_OQ);
    const std::uint64_t z3 = _mm512_cmp_ps_mask(x3, zero, _CMP_EQ_OQ);
    const std::uint64_t word = m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
    const std::uint64_t zeros = z0 | (z1 << 16) | (z2 << 32) | (z3 << 48);
    const std::uint64_t packed = flip_zeros(word, zeros, coins);
    std::memcpy(out + j / 8, &packed, 8);
  }
  pack_signs_scalar(v, j, d, out, coins);
}

}  // namespace

void pack_signs(std::span<const float> v, std::uint8_t* out, RandomStream& coins) {
  const CpuLevel level = cpu_level();
  if (level == CpuLevel::kAvx512) {
    pack_signs_avx512(v.data(), v.size(), out, coins);
  } else if (level == CpuLevel::kAvx2) {
    pack_signs_avx2(v.data(), v.size(), out, coins);
  } else {
    pack_signs_scalar(v.data(), 0, v.size(), out, coins);
  }
}

namespace {

__attribute__((target("avx512f"))) std::size_t unpack_signs_accumulate_avx512(
    const std::uint8_t* bits, float weight, std::span<float> acc) {
  const std::size_t d = acc.size();
  const __m512 plus = _mm512_set1_ps(weight);
  const __m512 minus = _mm512_set1_ps(-weight);
  std::size_t j = 0;
  for (; j + 16 <= d; j += 16) {
    std::uint16_t mask;
    std::memcpy(&mask, bits + j / 8, 2);
    const __m512 values = _mm512_mask_blend_ps(mask, minus, plus);
    _mm512_storeu_ps(acc.data() + j, _mm512_add_ps(_mm512_loadu_ps(acc.data() + j), values));
  }
  return j;
}

}  // namespace

void unpack_signs_accumulate(const std::uint8_t* bits, float weight, std::span<float> acc) {
  const std::size_t d = acc.size();
  if (cpu_level() == CpuLevel::kAvx512) {
    const std::size_t done = unpack_signs_accumulate_avx512(bits, weight, acc);
    const float values[2] = {-weight, weight};
    for (std::size_t j = done; j < d; ++j) acc[j] += values[(bits[j / 8] >> (j % 8)) & 1u];
    return;
  }
  const float values[2] = {-weight, weight};
  std::size_t j = 0;
  for (; j + 8 <= d; j += 8) {
    const std::uint8_t byte = bits[j / 8];
    for (unsigned i = 0; i < 8; ++i) acc[j + i] += values[(byte >> i) & 1u];
  }
  for (; j < d; ++j) acc[j] += values[(bits[j / 8] >> (j % 8)) & 1u];
}

void count_sign_bits(const std::uint8_t* bits, std::span<std::uint16_t> counts) {
  const std::size_t d = counts.size();
  std::size_t j = 0;
  for (; j + 8 <= d; j += 8) {
    const std::uint8_t byte = bits[j / 8];
    for (unsigned i = 0; i < 8; ++i) counts[j + i] += (byte >> i) & 1u;
  }
  for (; j < d; ++j) counts[j] += (bits[j / 8] >> (j % 8)) & 1u;
}

namespace {

/// Coordinates per block: 64 words, whose count bit-planes (≤ 16 × 512 bytes) stay in L1.
constexpr std::size_t kVoteWords = 64;
constexpr std::size_t kVoteCoordinates = 64 * kVoteWords;
constexpr unsigned kMaxVotePlanes = 16;

/// planes[b][w] (bit b of the count of word w's 64 coordinates) += words[w]: a ripple-carry add
/// of one bit per coordinate, word-parallel (the loops over w vectorize).
DSIGNSGD_DISPATCHED(void, add_vote_words,
                    (const std::uint64_t* words, unsigned planes_used,
                     std::uint64_t (*planes)[kVoteWords]),
                    (words, planes_used, planes)) {
  std::uint64_t carry[kVoteWords];
  std::copy(words, words + kVoteWords, carry);
  for (unsigned b = 0; b < planes_used; ++b) {
    std::uint64_t* plane = planes[b];
    for (std::size_t w = 0; w < kVoteWords; ++w) {
      const std::uint64_t next = plane[w] & carry[w];
      plane[w] ^= carry[w];
      carry[w] = next;
    }
  }
}

/// count[i] = Σ_b bit i of planes[b][w] << b for the 32 coordinates of half `half` of word w.
DSIGNSGD_DISPATCHED(void, expand_vote_counts,
                    (const std::uint64_t (*planes)[kVoteWords], unsigned planes_used, std::size_t w,
                     unsigned half, std::int32_t* count),
                    (planes, planes_used, w, half, count)) {
  std::int32_t c[32] = {};
  for (unsigned b = 0; b < planes_used; ++b) {
    const auto bits = static_cast<std::uint32_t>(planes[b][w] >> (32 * half));
    for (std::uint32_t i = 0; i < 32; ++i) {
      c[i] |= static_cast<std::int32_t>(((bits >> i) & 1u) << b);
    }
  }
  std::copy(c, c + 32, count);
}

/// Counts the +1 votes block by block and hands each block's counts (int32, one per coordinate)
/// to emit(first coordinate, counts, length).
template <typename Emit>
void for_each_vote_block(std::span<const std::uint8_t* const> payloads, std::size_t d,
                         Emit&& emit) {
  if (payloads.size() > 65535) throw std::invalid_argument("sign votes: more than 65535 agents");
  const auto planes_used = static_cast<unsigned>(std::bit_width(payloads.size()));
  alignas(64) std::uint64_t planes[kMaxVotePlanes][kVoteWords];
  alignas(64) std::uint64_t words[kVoteWords];
  alignas(64) std::int32_t counts[kVoteCoordinates];
  const std::size_t bytes = (d + 7) / 8;
  for (std::size_t first = 0; first < d; first += kVoteCoordinates) {
    const std::size_t length = std::min(kVoteCoordinates, d - first);
    const std::size_t block_bytes = std::min(bytes - first / 8, 8 * kVoteWords);
    for (unsigned b = 0; b < planes_used; ++b) std::fill(planes[b], planes[b] + kVoteWords, 0u);
    for (const std::uint8_t* payload : payloads) {
      if (block_bytes < 8 * kVoteWords) std::fill(words, words + kVoteWords, 0u);
      std::memcpy(words, payload + first / 8, block_bytes);
      add_vote_words(words, planes_used, planes);
    }
    for (std::size_t w = 0; 64 * w < length; ++w) {
      expand_vote_counts(planes, planes_used, w, 0, counts + 64 * w);
      expand_vote_counts(planes, planes_used, w, 1, counts + 64 * w + 32);
    }
    emit(first, counts, length);
  }
}

DSIGNSGD_DISPATCHED(void, counts_to_sums,
                    (const std::int32_t* counts, std::int32_t agents, std::size_t length,
                     float* sums),
                    (counts, agents, length, sums)) {
  for (std::size_t j = 0; j < length; ++j) sums[j] = static_cast<float>(2 * counts[j] - agents);
}

}  // namespace

void count_sign_votes(std::span<const std::uint8_t* const> payloads,
                      std::span<std::uint16_t> counts) {
  for_each_vote_block(payloads, counts.size(),
                      [&](std::size_t first, const std::int32_t* block, std::size_t length) {
                        for (std::size_t j = 0; j < length; ++j) {
                          counts[first + j] = static_cast<std::uint16_t>(block[j]);
                        }
                      });
}

void sum_sign_votes(std::span<const std::uint8_t* const> payloads, std::span<float> sums) {
  const auto agents = static_cast<std::int32_t>(payloads.size());
  for_each_vote_block(payloads, sums.size(),
                      [&](std::size_t first, const std::int32_t* block, std::size_t length) {
                        counts_to_sums(block, agents, length, sums.data() + first);
                      });
}

namespace {

// Eight width-W codes fill exactly W bytes, so from a byte boundary each group of eight is one
// little-endian word of 8W bits: the layout of the serial writer, built without its carries.
template <unsigned W>
std::size_t pack_code_groups(const std::uint32_t* codes, std::size_t n, std::uint8_t* out) {
  const std::size_t groups = n / 8;
  for (std::size_t g = 0; g < groups; ++g) {
    std::uint64_t word = 0;
    for (unsigned k = 0; k < 8; ++k)
      word |= static_cast<std::uint64_t>(codes[8 * g + k]) << (k * W);
    // Eight-byte stores while they stay inside the groups' W·groups bytes (the bytes past W are
    // zeros that the next group overwrites); the last groups store their own W bytes only.
    if (W * g + 8 <= W * groups) {
      std::memcpy(out + W * g, &word, 8);
    } else {
      std::memcpy(out + W * g, &word, W);
    }
  }
  return 8 * groups;
}

template <unsigned W>
std::size_t unpack_code_groups(const std::uint8_t* in, std::size_t in_bytes, std::uint32_t* codes,
                               std::size_t n) {
  constexpr std::uint64_t kMask = (std::uint64_t{1} << W) - 1;
  const std::size_t groups = std::min(n / 8, in_bytes / W);
  for (std::size_t g = 0; g < groups; ++g) {
    std::uint64_t word = 0;
    if (W * g + 8 <= in_bytes) {
      std::memcpy(&word, in + W * g, 8);
    } else {
      std::memcpy(&word, in + W * g, W);
    }
    for (unsigned k = 0; k < 8; ++k)
      codes[8 * g + k] = static_cast<std::uint32_t>((word >> (k * W)) & kMask);
  }
  return 8 * groups;
}

/// body.template operator()<W>() for W = width when 1 ≤ width ≤ 8 (what it returns: the codes
/// done), 0 for wider codes.
template <class Body>
std::size_t for_width(unsigned width, Body&& body) {
  std::size_t done = 0;
  [&]<unsigned... W>(std::integer_sequence<unsigned, W...>) {
    ((width == W + 1 ? (done = body.template operator()<W + 1>(), true) : false) || ...);
  }
  (std::make_integer_sequence<unsigned, 8>{});
  return done;
}

}  // namespace

void pack_codes(std::span<const std::uint32_t> codes, unsigned width, std::uint8_t* out,
                std::size_t first_bit) {
  std::size_t i = 0;
  if (first_bit % 8 == 0) {
    i = for_width(width, [&]<unsigned W>() {
      return pack_code_groups<W>(codes.data(), codes.size(), out + first_bit / 8);
    });
    first_bit += i * width;
    if (i == codes.size()) return;
  }
  std::uint8_t* byte = out + first_bit / 8;
  auto filled = static_cast<unsigned>(first_bit % 8);
  std::uint64_t buffer = filled == 0 ? 0 : (*byte & ((1u << filled) - 1u));
  // Appends the low `bits` bits of value (1 ≤ bits ≤ 64, nothing above them).
  const auto put = [&](std::uint64_t value, unsigned bits) {
    buffer |= value << filled;
    filled += bits;
    if (filled >= 64) {
      std::memcpy(byte, &buffer, 8);
      byte += 8;
      filled -= 64;
      buffer = filled == 0 ? 0 : value >> (bits - filled);
    }
  };
  if (width <= 16) {  // four codes per step of the serial writer
    for (; i + 4 <= codes.size(); i += 4) {
      put(static_cast<std::uint64_t>(codes[i]) | static_cast<std::uint64_t>(codes[i + 1]) << width |
              static_cast<std::uint64_t>(codes[i + 2]) << (2 * width) |
              static_cast<std::uint64_t>(codes[i + 3]) << (3 * width),
          4 * width);
    }
  }
  for (; i < codes.size(); ++i) put(codes[i], width);
  std::memcpy(byte, &buffer, (filled + 7) / 8);
}

void unpack_codes(const std::uint8_t* in, std::size_t in_bytes, std::size_t first_bit,
                  unsigned width, std::span<std::uint32_t> codes) {
  std::size_t i = 0;
  if (first_bit % 8 == 0 && first_bit / 8 <= in_bytes) {
    const std::size_t at = first_bit / 8;
    i = for_width(width, [&]<unsigned W>() {
      return unpack_code_groups<W>(in + at, in_bytes - at, codes.data(), codes.size());
    });
  }
  const std::uint64_t mask = (std::uint64_t{1} << width) - 1;
  std::size_t bit = first_bit + i * width;
  for (; i < codes.size(); ++i) {
    const std::size_t at = bit / 8;
    std::uint64_t word = 0;
    if (at + 8 <= in_bytes) {
      std::memcpy(&word, in + at, 8);
    } else {
      std::memcpy(&word, in + at, in_bytes - at);
    }
    codes[i] = static_cast<std::uint32_t>((word >> (bit % 8)) & mask);
    bit += width;
  }
}

}  // namespace dsignsgd
