// identity and natural compression: one code per coordinate.
#include <bit>
#include <cstring>

#include "dsignsgd/compress/compressors.hpp"
#include "message_header.hpp"

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

void NaturalCompressor::encode(std::span<const float> v, const StreamAddress& address,
                               WireMessage& out) const {
  const std::size_t d = v.size();
  std::uint8_t* payload =
      detail::begin_message(out, code(), d, detail::bytes_for_bits(kNaturalBits * d));
  RandomStream rng(address.with_purpose(StreamPurpose::kCompression));
  BitWriter writer(payload);
  constexpr std::uint32_t kMantissaMask = 0x7FFFFFu;
  for (std::size_t j = 0; j < d; ++j) {
    const auto bits = std::bit_cast<std::uint32_t>(v[j]);
    const std::uint32_t sign = bits >> 31;
    std::uint32_t exponent = (bits >> 23) & 0xFFu;
    const std::uint32_t mantissa = bits & kMantissaMask;
    const std::uint32_t draw = rng.next_u32() >> 9;  // uniform on 0 .. 2^23 − 1
    if (exponent == 0) {
      // zero or subnormal: |v| = m 2^-149 ∈ [0, 2^-126); round to 2^-126 w.p. m / 2^23.
      exponent = draw < mantissa ? 1u : 0u;
    } else if (exponent != 0xFFu && draw < mantissa) {
      ++exponent;  // may reach 255 (infinity) for |v| near FLT_MAX
    }
    writer.put((sign << 8) | exponent, kNaturalBits);
  }
  writer.flush();
}

void NaturalCompressor::decode_accumulate(const WireMessage& in, const StreamAddress&,
                                          float weight, std::span<float> acc) const {
  const std::size_t d = acc.size();
  const std::uint8_t* payload =
      detail::check_message(in, code(), d, detail::bytes_for_bits(kNaturalBits * d));
  BitReader reader(payload);
  for (std::size_t j = 0; j < d; ++j) {
    const auto code_bits = static_cast<std::uint32_t>(reader.get(kNaturalBits));
    const std::uint32_t bits = ((code_bits >> 8) << 31) | ((code_bits & 0xFFu) << 23);
    acc[j] += weight * std::bit_cast<float>(bits);
  }
}

}  // namespace dsignsgd
