// identity and natural compression: one code per coordinate.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/core/cpu_dispatch.hpp"
#include "dsignsgd/random/batch.hpp"
#include "dsignsgd/compress/message_header.hpp"

namespace dsignsgd {

void Compressor::decode(const WireMessage& in, const StreamAddress& address,
                        std::span<float> out) const {
  std::fill(out.begin(), out.end(), 0.0f);
  decode_accumulate(in, address, 1.0f, out);
}

// ---- identity ---------------------------------------------------------------------------------

std::size_t IdentityCompressor::wire_bits(std::size_t d) const {
  return detail::header_bits() + 32 * d;
}

void IdentityCompressor::encode(std::span<const float> v, const StreamAddress&,
                                WireMessage& out) const {
  std::uint8_t* payload = detail::begin_message(out, code(), v.size(), 4 * v.size());
  std::memcpy(payload, v.data(), 4 * v.size());
}

void IdentityCompressor::decode_accumulate(const WireMessage& in, const StreamAddress&,
                                           float weight, std::span<float> acc) const {
  const std::size_t d = acc.size();
  const std::uint8_t* payload = detail::check_message(in, code(), d, 4 * d);
  for (std::size_t j = 0; j < d; ++j) acc[j] += weight * load_f32(payload + 4 * j);
}

void IdentityCompressor::decode(const WireMessage& in, const StreamAddress&,
                                std::span<float> out) const {
  const std::uint8_t* payload = detail::check_message(in, code(), out.size(), 4 * out.size());
  std::memcpy(out.data(), payload, 4 * out.size());
}

bool IdentityCompressor::variance_diagonal(std::span<const float>, std::span<float> out) const {
  std::fill(out.begin(), out.end(), 0.0f);
  return true;
}

// ---- natural ----------------------------------------------------------------------------------
// Code of a coordinate: bit 8 = sign, bits 0-7 = IEEE-754 biased exponent of the rounded value
// (0 encodes zero, 255 infinity). A normal |v| = 2^a (1 + m/2^23) rounds up to 2^(a+1) with
// probability m/2^23, which makes the rounding unbiased; subnormals round between 0 and 2^-126.

namespace {
constexpr unsigned kNaturalBits = 9;
}

std::size_t NaturalCompressor::wire_bits(std::size_t d) const {
  return detail::header_bits() + 8 * detail::bytes_for_bits(kNaturalBits * d);
}

namespace {

/// Packs 9-bit codes LSB first, 8 codes per 9 bytes (the BitWriter layout, a group at a time).
void pack_codes9(const std::uint16_t* codes, std::size_t n, std::uint8_t* out) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    // 72 bits: codes 0..6 fill bits 0..62, code 7 straddles bit 63 and the ninth byte.
    std::uint64_t low = 0;
    for (unsigned k = 0; k < 7; ++k) low |= static_cast<std::uint64_t>(codes[i + k]) << (9 * k);
    low |= static_cast<std::uint64_t>(codes[i + 7] & 1u) << 63;
    std::memcpy(out, &low, 8);
    out[8] = static_cast<std::uint8_t>(codes[i + 7] >> 1);
    out += 9;
  }
  BitWriter writer(out);
  for (; i < n; ++i) writer.put(codes[i], kNaturalBits);
  writer.flush();
}

void unpack_codes9(const std::uint8_t* in, std::size_t n, std::uint16_t* codes) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t low;
    std::memcpy(&low, in, 8);
    for (unsigned k = 0; k < 7; ++k)
      codes[i + k] = static_cast<std::uint16_t>((low >> (9 * k)) & 0x1FF);
    codes[i + 7] =
        static_cast<std::uint16_t>((low >> 63) | (static_cast<std::uint32_t>(in[8]) << 1));
    in += 9;
  }
  BitReader reader(in);
  for (; i < n; ++i) codes[i] = static_cast<std::uint16_t>(reader.get(kNaturalBits));
}

constexpr std::size_t kNaturalChunk = 2048;  // multiple of 8: chunks pack to whole bytes

/// codes[i] = sign | rounded biased exponent of v[i]: a normal |v| = 2^a (1 + m/2^23) rounds up to
/// 2^(a+1) when the draw's top 23 bits fall below m (probability m/2^23, unbiased). Zero and
/// subnormals (exponent 0, |v| = m 2^-149) round to 2^-126 with probability m/2^23; infinity stays.
DSIGNSGD_DISPATCHED(void, natural_codes,
                    (const float* v, const std::uint32_t* draws, std::size_t n,
                     std::uint16_t* codes),
                    (v, draws, n, codes)) {
  for (std::size_t i = 0; i < n; ++i) {
    const auto bits = std::bit_cast<std::uint32_t>(v[i]);
    const std::uint32_t exponent = (bits >> 23) & 0xFFu;
    const std::uint32_t mantissa = bits & 0x7FFFFFu;
    const std::uint32_t up = (draws[i] >> 9) < mantissa ? 1u : 0u;
    const std::uint32_t rounded = exponent == 0xFFu ? exponent : exponent + up;
    codes[i] = static_cast<std::uint16_t>(((bits >> 31) << 8) | rounded);
  }
}

/// acc[i] += weight × the power of two (or zero, or infinity) of codes[i].
DSIGNSGD_DISPATCHED(void, natural_accumulate,
                    (const std::uint16_t* codes, std::size_t n, float weight, float* acc),
                    (codes, n, weight, acc)) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t code_bits = codes[i];
    const std::uint32_t bits = ((code_bits >> 8) << 31) | ((code_bits & 0xFFu) << 23);
    acc[i] += weight * std::bit_cast<float>(bits);
  }
}

}  // namespace

void NaturalCompressor::encode(std::span<const float> v, const StreamAddress& address,
                               WireMessage& out) const {
  const std::size_t d = v.size();
  std::uint8_t* payload =
      detail::begin_message(out, code(), d, detail::bytes_for_bits(kNaturalBits * d));
  RandomStream rng(address.with_purpose(StreamPurpose::kCompression));
  thread_local std::vector<std::uint32_t> draws(kNaturalChunk);
  thread_local std::vector<std::uint16_t> codes(kNaturalChunk);
  for (std::size_t begin = 0; begin < d; begin += kNaturalChunk) {
    const std::size_t count = std::min(kNaturalChunk, d - begin);
    fill_u32(rng, std::span(draws.data(), count));
    natural_codes(v.data() + begin, draws.data(), count, codes.data());
    pack_codes9(codes.data(), count, payload + begin / 8 * kNaturalBits);
  }
}

void NaturalCompressor::decode_accumulate(const WireMessage& in, const StreamAddress&, float weight,
                                          std::span<float> acc) const {
  const std::size_t d = acc.size();
  const std::uint8_t* payload =
      detail::check_message(in, code(), d, detail::bytes_for_bits(kNaturalBits * d));
  thread_local std::vector<std::uint16_t> codes(kNaturalChunk);
  for (std::size_t begin = 0; begin < d; begin += kNaturalChunk) {
    const std::size_t count = std::min(kNaturalChunk, d - begin);
    unpack_codes9(payload + begin / 8 * kNaturalBits, count, codes.data());
    natural_accumulate(codes.data(), count, weight, acc.data() + begin);
  }
}

bool NaturalCompressor::variance_diagonal(std::span<const float> v, std::span<float> out) const {
  // |v| in [2^a, 2^(a+1)): Var = (2^(a+1) − |v|)(|v| − 2^a).
  for (std::size_t j = 0; j < v.size(); ++j) {
    const double magnitude = std::abs(static_cast<double>(v[j]));
    if (magnitude == 0.0 || !std::isfinite(magnitude)) {
      out[j] = 0.0f;
      continue;
    }
    int exponent = 0;
    std::frexp(magnitude, &exponent);  // magnitude = m 2^exponent, m in [0.5, 1)
    const double low = std::ldexp(1.0, exponent - 1);
    out[j] = static_cast<float>((2.0 * low - magnitude) * (magnitude - low));
  }
  return true;
}

}  // namespace dsignsgd
