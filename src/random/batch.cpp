#include "dsignsgd/random/batch.hpp"

#include <immintrin.h>

#include "dsignsgd/core/cpu_dispatch.hpp"

// GCC 12's AVX-512 intrinsics headers trip -Wuninitialized through _mm512_undefined_epi32()
// (a known false positive); nothing here reads an uninitialized value.
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

namespace dsignsgd {
namespace {

constexpr std::size_t kLanes = 16;

/// Philox4x32-10 on kLanes consecutive block indices, written block after block.
#define DSIGNSGD_PHILOX_LANES_BODY                                              \
  std::uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];                 \
  for (std::size_t l = 0; l < kLanes; ++l) {                                    \
    c0[l] = first_block + static_cast<std::uint32_t>(l);                        \
    c1[l] = ctr[1];                                                             \
    c2[l] = ctr[2];                                                             \
    c3[l] = ctr[3];                                                             \
  }                                                                             \
  std::uint32_t k0 = key[0], k1 = key[1];                                       \
  for (int round = 0; round < 10; ++round) {                                    \
    for (std::size_t l = 0; l < kLanes; ++l) {                                  \
      const std::uint64_t p0 = static_cast<std::uint64_t>(0xD2511F53u) * c0[l]; \
      const std::uint64_t p1 = static_cast<std::uint64_t>(0xCD9E8D57u) * c2[l]; \
      const auto hi0 = static_cast<std::uint32_t>(p0 >> 32);                    \
      const auto lo0 = static_cast<std::uint32_t>(p0);                          \
      const auto hi1 = static_cast<std::uint32_t>(p1 >> 32);                    \
      const auto lo1 = static_cast<std::uint32_t>(p1);                          \
      c0[l] = hi1 ^ c1[l] ^ k0;                                                 \
      c1[l] = lo1;                                                              \
      c2[l] = hi0 ^ c3[l] ^ k1;                                                 \
      c3[l] = lo0;                                                              \
    }                                                                           \
    k0 += 0x9E3779B9u;                                                          \
    k1 += 0xBB67AE85u;                                                          \
  }                                                                             \
  for (std::size_t l = 0; l < kLanes; ++l) {                                    \
    out[4 * l] = c0[l];                                                         \
    out[4 * l + 1] = c1[l];                                                     \
    out[4 * l + 2] = c2[l];                                                     \
    out[4 * l + 3] = c3[l];                                                     \
  }

}  // namespace

void detail::philox16_generic(const PhiloxCounter& ctr, const PhiloxKey& key,
                              std::uint32_t first_block, std::uint32_t* out) {
  DSIGNSGD_PHILOX_LANES_BODY
}

namespace {

/// The same 16 blocks with AVX-512: 32×32→64-bit products of even and odd lanes, recombined.
__attribute__((target("avx512f"))) void philox_lanes_avx512(const PhiloxCounter& ctr,
                                                            const PhiloxKey& key,
                                                            std::uint32_t first_block,
                                                            std::uint32_t* out) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512i c0 = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(first_block)), lane);
  __m512i c1 = _mm512_set1_epi32(static_cast<int>(ctr[1]));
  __m512i c2 = _mm512_set1_epi32(static_cast<int>(ctr[2]));
  __m512i c3 = _mm512_set1_epi32(static_cast<int>(ctr[3]));
  const __m512i m0 = _mm512_set1_epi64(0xD2511F53u);
  const __m512i m1 = _mm512_set1_epi64(0xCD9E8D57u);
  std::uint32_t k0 = key[0], k1 = key[1];
  constexpr __mmask16 kOdd = 0xAAAA;
  for (int round = 0; round < 10; ++round) {
    const __m512i p0_even = _mm512_mul_epu32(c0, m0);
    const __m512i p0_odd = _mm512_mul_epu32(_mm512_srli_epi64(c0, 32), m0);
    const __m512i p1_even = _mm512_mul_epu32(c2, m1);
    const __m512i p1_odd = _mm512_mul_epu32(_mm512_srli_epi64(c2, 32), m1);
    const __m512i hi0 = _mm512_mask_blend_epi32(kOdd, _mm512_srli_epi64(p0_even, 32), p0_odd);
    const __m512i lo0 = _mm512_mask_blend_epi32(kOdd, p0_even, _mm512_slli_epi64(p0_odd, 32));
    const __m512i hi1 = _mm512_mask_blend_epi32(kOdd, _mm512_srli_epi64(p1_even, 32), p1_odd);
    const __m512i lo1 = _mm512_mask_blend_epi32(kOdd, p1_even, _mm512_slli_epi64(p1_odd, 32));
    c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32(static_cast<int>(k0)));
    c1 = lo1;
    c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32(static_cast<int>(k1)));
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  // Transpose the four 16-lane words into 16 consecutive blocks (c0 c1 c2 c3 per block).
  const __m512i a = _mm512_unpacklo_epi32(c0, c1);  // c0_0 c1_0 c0_1 c1_1 | per 128-bit lane
  const __m512i b = _mm512_unpackhi_epi32(c0, c1);
  const __m512i c = _mm512_unpacklo_epi32(c2, c3);
  const __m512i d = _mm512_unpackhi_epi32(c2, c3);
  const __m512i blocks0 = _mm512_unpacklo_epi64(a, c);  // blocks 0,4,8,12 (one per 128 lane)
  const __m512i blocks1 = _mm512_unpackhi_epi64(a, c);  // blocks 1,5,9,13
  const __m512i blocks2 = _mm512_unpacklo_epi64(b, d);  // blocks 2,6,10,14
  const __m512i blocks3 = _mm512_unpackhi_epi64(b, d);  // blocks 3,7,11,15
  // Gather 128-bit lanes into order: out block 4q + r is lane q of blocks_r.
  const __m512i lo01 = _mm512_shuffle_i64x2(blocks0, blocks1, 0x44);      // b0 b4 | b1 b5
  const __m512i lo23 = _mm512_shuffle_i64x2(blocks2, blocks3, 0x44);      // b2 b6 | b3 b7
  const __m512i hi01 = _mm512_shuffle_i64x2(blocks0, blocks1, 0xEE);      // b8 b12 | b9 b13
  const __m512i hi23 = _mm512_shuffle_i64x2(blocks2, blocks3, 0xEE);      // b10 b14 | b11 b15
  _mm512_storeu_si512(out, _mm512_shuffle_i64x2(lo01, lo23, 0x88));       // b0 b1 b2 b3
  _mm512_storeu_si512(out + 16, _mm512_shuffle_i64x2(lo01, lo23, 0xDD));  // b4 b5 b6 b7
  _mm512_storeu_si512(out + 32, _mm512_shuffle_i64x2(hi01, hi23, 0x88));  // b8 .. b11
  _mm512_storeu_si512(out + 48, _mm512_shuffle_i64x2(hi01, hi23, 0xDD));  // b12 .. b15
}

/// One Philox round on 8 lanes (AVX2): 32×32→64-bit products of even and odd lanes, recombined.
__attribute__((target("avx2"))) inline void philox_round_avx2(__m256i& c0, __m256i& c1, __m256i& c2,
                                                              __m256i& c3, __m256i k0, __m256i k1) {
  const __m256i m0 = _mm256_set1_epi64x(0xD2511F53u);
  const __m256i m1 = _mm256_set1_epi64x(0xCD9E8D57u);
  constexpr int kOdd = 0xAA;
  const __m256i p0_even = _mm256_mul_epu32(c0, m0);
  const __m256i p0_odd = _mm256_mul_epu32(_mm256_srli_epi64(c0, 32), m0);
  const __m256i p1_even = _mm256_mul_epu32(c2, m1);
  const __m256i p1_odd = _mm256_mul_epu32(_mm256_srli_epi64(c2, 32), m1);
  const __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(p0_even, 32), p0_odd, kOdd);
  const __m256i lo0 = _mm256_blend_epi32(p0_even, _mm256_slli_epi64(p0_odd, 32), kOdd);
  const __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(p1_even, 32), p1_odd, kOdd);
  const __m256i lo1 = _mm256_blend_epi32(p1_even, _mm256_slli_epi64(p1_odd, 32), kOdd);
  c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), k0);
  c1 = lo1;
  c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), k1);
  c3 = lo0;
}

/// Writes the 8 blocks of lanes (c0, c1, c2, c3) in block order: 32 words.
__attribute__((target("avx2"))) inline void store_blocks_avx2(__m256i c0, __m256i c1, __m256i c2,
                                                              __m256i c3, std::uint32_t* out) {
  const __m256i a = _mm256_unpacklo_epi32(c0, c1);  // per 128-bit half: c0_0 c1_0 c0_1 c1_1
  const __m256i b = _mm256_unpackhi_epi32(c0, c1);
  const __m256i c = _mm256_unpacklo_epi32(c2, c3);
  const __m256i d = _mm256_unpackhi_epi32(c2, c3);
  const __m256i blocks0 = _mm256_unpacklo_epi64(a, c);  // blocks 0 | 4
  const __m256i blocks1 = _mm256_unpackhi_epi64(a, c);  // blocks 1 | 5
  const __m256i blocks2 = _mm256_unpacklo_epi64(b, d);  // blocks 2 | 6
  const __m256i blocks3 = _mm256_unpackhi_epi64(b, d);  // blocks 3 | 7
  auto* target = reinterpret_cast<__m256i*>(out);
  _mm256_storeu_si256(target, _mm256_permute2x128_si256(blocks0, blocks1, 0x20));      // b0 b1
  _mm256_storeu_si256(target + 1, _mm256_permute2x128_si256(blocks2, blocks3, 0x20));  // b2 b3
  _mm256_storeu_si256(target + 2, _mm256_permute2x128_si256(blocks0, blocks1, 0x31));  // b4 b5
  _mm256_storeu_si256(target + 3, _mm256_permute2x128_si256(blocks2, blocks3, 0x31));  // b6 b7
}

/// The 16 blocks with AVX2: two independent sets of 8 lanes, interleaved round by round (one set
/// alone waits on the multiplier's latency).
__attribute__((target("avx2"))) void philox_lanes_avx2(const PhiloxCounter& ctr,
                                                       const PhiloxKey& key,
                                                       std::uint32_t first_block,
                                                       std::uint32_t* out) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i first = _mm256_set1_epi32(static_cast<int>(first_block));
  __m256i a0 = _mm256_add_epi32(first, lane);
  __m256i b0 = _mm256_add_epi32(a0, _mm256_set1_epi32(8));
  __m256i a1 = _mm256_set1_epi32(static_cast<int>(ctr[1])), b1 = a1;
  __m256i a2 = _mm256_set1_epi32(static_cast<int>(ctr[2])), b2 = a2;
  __m256i a3 = _mm256_set1_epi32(static_cast<int>(ctr[3])), b3 = a3;
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    const __m256i key0 = _mm256_set1_epi32(static_cast<int>(k0));
    const __m256i key1 = _mm256_set1_epi32(static_cast<int>(k1));
    philox_round_avx2(a0, a1, a2, a3, key0, key1);
    philox_round_avx2(b0, b1, b2, b3, key0, key1);
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  store_blocks_avx2(a0, a1, a2, a3, out);
  store_blocks_avx2(b0, b1, b2, b3, out + 32);
}

}  // namespace

void detail::philox16(const PhiloxCounter& ctr, const PhiloxKey& key, std::uint32_t first_block,
                      std::uint32_t* out) {
  const CpuLevel level = cpu_level();
  if (level == CpuLevel::kAvx512) {
    philox_lanes_avx512(ctr, key, first_block, out);
  } else if (level == CpuLevel::kAvx2) {
    philox_lanes_avx2(ctr, key, first_block, out);
  } else {
    detail::philox16_generic(ctr, key, first_block, out);
  }
}

namespace {

#undef DSIGNSGD_PHILOX_LANES_BODY

// ---- single-precision Box–Muller -------------------------------------------------------------

/// ln(x) for x in (0, 1]: x = m 2^e with m in [√½, √2), ln m = 2 atanh(s), s = (m−1)/(m+1).
inline float log_unit(float x) {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  // Move m into [√½, √2): subtract the exponent of (x / √½).
  const std::uint32_t adjusted = bits + (0x3F800000u - 0x3F3504F3u);
  const int exponent = static_cast<int>(adjusted >> 23) - 127;
  bits = (adjusted & 0x007FFFFFu) + 0x3F3504F3u;
  const float m = std::bit_cast<float>(bits);
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  const float poly =
      2.0f + s2 * (0.666666667f + s2 * (0.4f + s2 * (0.285714286f + s2 * 0.222222222f)));
  return static_cast<float>(exponent) * 0.693147181f + s * poly;
}

/// sin and cos of 2π t for t in [0, 1), reduced exactly to a quarter turn.
inline void sincos_turns(float t, float& sine, float& cosine) {
  const float quarter = static_cast<float>(static_cast<int>(t * 4.0f + 0.5f));  // 0..4
  const float r = t - 0.25f * quarter;                                          // [−1/8, 1/8]
  const float a = 6.28318531f * r;                                              // [−π/4, π/4]
  const float a2 = a * a;
  const float sin_a =
      a * (1.0f + a2 * (-0.166666667f + a2 * (0.00833333333f + a2 * (-0.000198412698f))));
  const float cos_a =
      1.0f + a2 * (-0.5f + a2 * (0.0416666667f + a2 * (-0.00138888889f + a2 * 0.0000248015873f)));
  const int q = static_cast<int>(quarter) & 3;
  // Rotate by q quarter turns: (cos, sin) → (−sin, cos) per turn.
  const float s1 = q == 0 ? sin_a : q == 1 ? cos_a : q == 2 ? -sin_a : -cos_a;
  const float c1 = q == 0 ? cos_a : q == 1 ? -sin_a : q == 2 ? -cos_a : sin_a;
  sine = s1;
  cosine = c1;
}

DSIGNSGD_DISPATCHED(void, box_muller, (const std::uint32_t* draws, std::size_t pairs, float* out),
                    (draws, pairs, out)) {
  for (std::size_t p = 0; p < pairs; ++p) {
    const float u1 = (static_cast<float>(draws[2 * p]) + 0.5f) * 2.3283064e-10f;  // (0, 1]
    const float u2 = static_cast<float>(draws[2 * p + 1] >> 8) * 5.9604645e-08f;  // [0, 1)
    const float radius = std::sqrt(-2.0f * log_unit(u1));
    float sine, cosine;
    sincos_turns(u2, sine, cosine);
    out[2 * p] = radius * cosine;
    out[2 * p + 1] = radius * sine;
  }
}

}  // namespace

void fill_u32(RandomStream& rng, std::span<std::uint32_t> out) {
  std::size_t i = 0;
  const std::size_t n = out.size();
  while (i < n && rng.pos_ < 4) out[i++] = rng.block_[rng.pos_++];
  while (n - i >= 4 * kLanes) {
    detail::philox16(rng.ctr_, rng.key_, rng.ctr_[0], out.data() + i);
    rng.ctr_[0] += static_cast<std::uint32_t>(kLanes);
    i += 4 * kLanes;
  }
  const std::size_t rest = n - i;
  if (rest == 0) return;
  // The tail: 16 blocks at once, keep what is used, leave a partly used block in the stream.
  std::uint32_t blocks[4 * kLanes];
  detail::philox16(rng.ctr_, rng.key_, rng.ctr_[0], blocks);
  std::copy(blocks, blocks + rest, out.data() + i);
  const std::size_t full = rest / 4;
  const std::size_t used = rest % 4;
  if (used == 0) {
    rng.ctr_[0] += static_cast<std::uint32_t>(full);
    rng.pos_ = 4;
  } else {
    std::copy(blocks + 4 * full, blocks + 4 * full + 4, rng.block_.begin());
    rng.ctr_[0] += static_cast<std::uint32_t>(full + 1);
    rng.pos_ = static_cast<int>(used);
  }
}

void fill_standard_normal(RandomStream& rng, std::span<float> out) {
  constexpr std::size_t kChunk = 4096;  // pairs per chunk: 32 KiB of draws, stays in L1/L2
  thread_local std::vector<std::uint32_t> draws(2 * kChunk);
  thread_local std::vector<float> tail(2);
  std::size_t done = 0;
  const std::size_t n = out.size();
  while (n - done >= 2) {
    const std::size_t pairs = std::min(kChunk, (n - done) / 2);
    fill_u32(rng, std::span(draws.data(), 2 * pairs));
    box_muller(draws.data(), pairs, out.data() + done);
    done += 2 * pairs;
  }
  if (done < n) {
    fill_u32(rng, std::span(draws.data(), 2));
    box_muller(draws.data(), 1, tail.data());
    out[done] = tail[0];
  }
}

}  // namespace dsignsgd
