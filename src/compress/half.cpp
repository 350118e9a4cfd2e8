// fp16 and bf16: 16 bits per coordinate, round-to-nearest-even — the baselines a user would pick
// before 1-bit compression (DDP's fp16/bf16 communication hooks).
#include "dsignsgd/compress/half.hpp"

#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/core/cpu_level.hpp"
#include "dsignsgd/compress/message_header.hpp"

namespace dsignsgd {

std::uint16_t float_to_half(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  std::uint32_t x = bits & 0x7FFFFFFFu;
  if (x >= 0x7F800000u) {  // infinity, or NaN kept quiet with the top of its payload
    return static_cast<std::uint16_t>(sign | 0x7C00u |
                                      (x > 0x7F800000u ? 0x200u | ((x >> 13) & 0x3FFu) : 0u));
  }
  if (x >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // ≥ 65520 → ∞
  if (x >= 0x38800000u) {  // a normal half (≥ 2^-14): rebias, round the 13 dropped bits
    x += 0xFFFu + ((x >> 13) & 1u);
    return static_cast<std::uint16_t>(sign | ((x - (112u << 23)) >> 13));
  }
  if (x <= 0x33000000u) return static_cast<std::uint16_t>(sign);  // ≤ 2^-25 → ±0 (tie to even)
  // A subnormal half: the value in units of 2^-24, rounded to nearest, ties to even.
  const std::uint32_t exponent = x >> 23;
  const std::uint32_t mantissa = (x & 0x7FFFFFu) | 0x800000u;
  const std::uint32_t shift = 126u - exponent;  // 14 … 24
  std::uint32_t units = mantissa >> shift;
  const std::uint32_t rest = mantissa & ((1u << shift) - 1u);
  const std::uint32_t half = 1u << (shift - 1u);
  if (rest > half || (rest == half && (units & 1u))) ++units;
  return static_cast<std::uint16_t>(sign | units);
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1Fu;
  const std::uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0) {  // zero or subnormal: mantissa × 2^-24, exact in fp32
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return std::bit_cast<float>(sign | std::bit_cast<std::uint32_t>(magnitude));
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

std::uint16_t float_to_bfloat16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
  const std::uint32_t quiet_nan = (bits >> 16) | 0x40u;
  // A select, not a branch: the bulk loop vectorizes.
  return static_cast<std::uint16_t>((bits & 0x7FFFFFFFu) > 0x7F800000u ? quiet_nan : rounded);
}

float bfloat16_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

namespace {

// The same conversions with the F16C instructions (the same IEEE rounding, 8 at a time).
__attribute__((target("avx,f16c"))) std::size_t floats_to_halves_f16c(const float* in,
                                                                      std::size_t n,
                                                                      std::uint8_t* out) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i), h);
  }
  return i;
}

__attribute__((target("avx,f16c"))) std::size_t halves_accumulate_f16c(const std::uint8_t* in,
                                                                       std::size_t n, float weight,
                                                                       float* acc) {
  std::size_t i = 0;
  const __m256 w = _mm256_set1_ps(weight);
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * i)));
    // Multiply, then add (no fused multiply-add): the scalar loop's rounding, bit for bit.
    _mm256_storeu_ps(acc + i, _mm256_add_ps(_mm256_loadu_ps(acc + i), _mm256_mul_ps(w, v)));
  }
  return i;
}

// bfloat16 with AVX2: the scalar rounding on 8 lanes (NaN kept quiet by a blend).
__attribute__((target("avx2"))) std::size_t floats_to_bfloat16s_avx2(const float* in, std::size_t n,
                                                                     std::uint8_t* out) {
  std::size_t i = 0;
  const __m256i one = _mm256_set1_epi32(1), round = _mm256_set1_epi32(0x7FFF);
  const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF), infinity = _mm256_set1_epi32(0x7F800000);
  const __m256i quiet = _mm256_set1_epi32(0x40);
  for (; i + 8 <= n; i += 8) {
    const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), one);
    const __m256i rounded =
        _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(bits, round), lsb), 16);
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(bits, abs_mask), infinity);
    const __m256i quiet_nan = _mm256_or_si256(_mm256_srli_epi32(bits, 16), quiet);
    const __m256i result = _mm256_blendv_epi8(rounded, quiet_nan, nan);
    // 8 × 32 → 8 × 16 bits (values < 2^16: no saturation), lanes back in order.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(result, result), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i), _mm256_castsi256_si128(packed));
  }
  return i;
}

__attribute__((target("avx2"))) std::size_t bfloat16s_accumulate_avx2(const std::uint8_t* in,
                                                                      std::size_t n, float weight,
                                                                      float* acc) {
  std::size_t i = 0;
  const __m256 w = _mm256_set1_ps(weight);
  for (; i + 8 <= n; i += 8) {
    const __m256i wide =
        _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * i)));
    const __m256 v = _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
    _mm256_storeu_ps(acc + i, _mm256_add_ps(_mm256_loadu_ps(acc + i), _mm256_mul_ps(w, v)));
  }
  return i;
}

/// F16C from CPUID leaf 1 (clang's __builtin_cpu_supports does not know "f16c").
bool cpu_has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) != 0 && (c & bit_F16C) != 0;
}

const bool kHasF16c = cpu_has_f16c() && __builtin_cpu_supports("avx");

/// F16C and AVX2 paths run from the AVX2 level up (DSIGNSGD_CPU=baseline turns them off).
bool use_f16c() { return kHasF16c && cpu_level() >= CpuLevel::kAvx2; }
bool use_avx2() { return cpu_level() >= CpuLevel::kAvx2; }

void store_u16(std::uint8_t* out, std::uint16_t value) {
  out[0] = static_cast<std::uint8_t>(value);
  out[1] = static_cast<std::uint8_t>(value >> 8);
}

std::uint16_t load_u16(const std::uint8_t* in) {
  return static_cast<std::uint16_t>(in[0] | (in[1] << 8));
}

}  // namespace

void encode_halves(std::span<const float> v, std::uint8_t* out, bool allow_f16c) {
  const std::size_t done =
      allow_f16c && use_f16c() ? floats_to_halves_f16c(v.data(), v.size(), out) : 0;
  for (std::size_t i = done; i < v.size(); ++i) store_u16(out + 2 * i, float_to_half(v[i]));
}

void encode_bfloat16s(std::span<const float> v, std::uint8_t* out, bool allow_avx2) {
  const std::size_t done =
      allow_avx2 && use_avx2() ? floats_to_bfloat16s_avx2(v.data(), v.size(), out) : 0;
  for (std::size_t i = done; i < v.size(); ++i) store_u16(out + 2 * i, float_to_bfloat16(v[i]));
}

void accumulate_bfloat16s(const std::uint8_t* in, float weight, std::span<float> acc,
                          bool allow_avx2) {
  const std::size_t done =
      allow_avx2 && use_avx2() ? bfloat16s_accumulate_avx2(in, acc.size(), weight, acc.data()) : 0;
  for (std::size_t i = done; i < acc.size(); ++i) {
    acc[i] += weight * bfloat16_to_float(load_u16(in + 2 * i));
  }
}

void accumulate_halves(const std::uint8_t* in, float weight, std::span<float> acc,
                       bool allow_f16c) {
  const std::size_t done =
      allow_f16c && use_f16c() ? halves_accumulate_f16c(in, acc.size(), weight, acc.data()) : 0;
  for (std::size_t i = done; i < acc.size(); ++i)
    acc[i] += weight * half_to_float(load_u16(in + 2 * i));
}

// ---- fp16 / bf16 ------------------------------------------------------------------------------

std::size_t HalfCompressor::wire_bits(std::size_t d) const {
  return detail::header_bits() + 16 * d;
}

bool HalfCompressor::variance_diagonal(std::span<const float>, std::span<float> out) const {
  std::fill(out.begin(), out.end(), 0.0f);  // deterministic rounding: no compression variance
  return true;
}

void HalfCompressor::encode(std::span<const float> v, const StreamAddress&,
                            WireMessage& out) const {
  std::uint8_t* payload = detail::begin_message(out, code(), v.size(), 2 * v.size());
  if (format_ == HalfFormat::kFp16) {
    encode_halves(v, payload, true);
    return;
  }
  encode_bfloat16s(v, payload, true);
}

void HalfCompressor::decode_accumulate(const WireMessage& in, const StreamAddress&, float weight,
                                       std::span<float> acc) const {
  const std::uint8_t* payload = detail::check_message(in, code(), acc.size(), 2 * acc.size());
  if (format_ == HalfFormat::kFp16) {
    accumulate_halves(payload, weight, acc, true);
    return;
  }
  accumulate_bfloat16s(payload, weight, acc, true);
}

}  // namespace dsignsgd
