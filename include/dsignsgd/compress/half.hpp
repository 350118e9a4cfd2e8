#pragma once
/// @file
/// IEEE binary16 (fp16) and bfloat16 conversions, round-to-nearest-even: the scalar reference
/// and the bulk forms the compressors use (F16C resp. AVX2 where the CPU has them — the same
/// rounding, bit for bit).

#include <cstddef>
#include <cstdint>
#include <span>

namespace dsignsgd {

/// Nearest fp16, ties to even; beyond 65504 (from 65520 on) ±∞; NaN stays a quiet NaN.
std::uint16_t float_to_half(float value);
/// Exact.
float half_to_float(std::uint16_t h);
/// Nearest bfloat16 (the top 16 bits of an fp32), ties to even; NaN stays a quiet NaN.
std::uint16_t float_to_bfloat16(float value);
/// Exact.
float bfloat16_to_float(std::uint16_t b);

/// out[2i, 2i+1] = float_to_half(v[i]) little-endian; `allow_f16c` false forces the scalar path.
void encode_halves(std::span<const float> v, std::uint8_t* out, bool allow_f16c = true);
/// acc[i] += weight × half_to_float(in[i]) (a multiply, then an add: no fused rounding).
void accumulate_halves(const std::uint8_t* in, float weight, std::span<float> acc,
                       bool allow_f16c = true);

/// The same for bfloat16 (AVX2 where the CPU has it; `allow_avx2` false forces the scalar path).
void encode_bfloat16s(std::span<const float> v, std::uint8_t* out, bool allow_avx2 = true);
void accumulate_bfloat16s(const std::uint8_t* in, float weight, std::span<float> acc,
                          bool allow_avx2 = true);

}  // namespace dsignsgd
