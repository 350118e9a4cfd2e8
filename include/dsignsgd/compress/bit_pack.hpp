#pragma once
/// @file
/// Bit-level packing used by the wire formats. Bit j of a packed sign vector lives in byte j/8 at
/// position j%8 (least significant first); bit set ⇔ sign +1. A 1-bit message cannot carry
/// sign(0) = 0, so an exact zero is sent as a fair coin (±1 with probability ½ each, from the
/// sender's stream): unbiased like the papers' sign(0) = 0, where a fixed +1 would make every
/// coordinate whose gradient is exactly 0 (dead ReLUs, always-black pixels) drift by −η each step.
/// NaN packs as −1.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace dsignsgd {

class RandomStream;

/// Packs the signs of v into ceil(d/8) bytes (AVX-512 or AVX2 when the CPU has them); exact
/// zeros (±0) take a coin from `coins`, drawn 64 at a time for each block of 64 coordinates
/// that holds a zero.
void pack_signs(std::span<const float> v, std::uint8_t* out, RandomStream& coins);
/// acc[j] += bit_j ? weight : −weight.
void unpack_signs_accumulate(const std::uint8_t* bits, float weight, std::span<float> acc);
/// counts[j] += bit_j (number of +1 votes).
void count_sign_bits(const std::uint8_t* bits, std::span<std::uint16_t> counts);

/// Aggregation of N packed sign vectors without unpacking each one: bit-sliced adders count the
/// +1 votes of 64 coordinates per word operation (a block of coordinates keeps its count
/// bit-planes in L1 while every agent's words are added in), then the counts are expanded once.
/// Each payload holds ceil(d/8) bytes (bits past d are ignored); N ≤ 65535.
///   counts[j] = number of payloads with bit j set          (d = counts.size())
///   sums[j]   = Σ over payloads of ±1 at j = 2 counts[j] − N, exactly (d = sums.size())
/// Bit for bit what count_sign_bits / unpack_signs_accumulate (weight 1) give agent by agent;
/// measured 4.7–5.1× faster at N = 16, 8.4–9.4× at N = 64 (docs/BENCHMARKS.md).
void count_sign_votes(std::span<const std::uint8_t* const> payloads,
                      std::span<std::uint16_t> counts);
void sum_sign_votes(std::span<const std::uint8_t* const> payloads, std::span<float> sums);

/// Fixed-width codes (1 ≤ width ≤ 32, no bits above width), least significant bit first, one
/// after another from bit `first_bit` of out — the layout BitWriter writes, 64 bits at a time.
/// Bits of out past the last code are cleared up to the next whole byte; out must be zero or
/// already hold the codes before first_bit in its first byte.
void pack_codes(std::span<const std::uint32_t> codes, unsigned width, std::uint8_t* out,
                std::size_t first_bit);
/// codes[i] = the width-bit code at bit first_bit + i·width of in, which holds in_bytes bytes
/// (never read past them) — what BitReader gives.
void unpack_codes(const std::uint8_t* in, std::size_t in_bytes, std::size_t first_bit,
                  unsigned width, std::span<std::uint32_t> codes);

/// Fixed-width bit writer, least significant bit first (the reference of pack_codes).
class BitWriter {
 public:
  explicit BitWriter(std::uint8_t* out) : out_(out) {}
  void put(std::uint64_t value, unsigned width) {
    buffer_ |= value << filled_;
    filled_ += width;
    while (filled_ >= 8) {
      *out_++ = static_cast<std::uint8_t>(buffer_);
      buffer_ >>= 8;
      filled_ -= 8;
    }
  }
  void flush() {
    if (filled_ > 0) *out_++ = static_cast<std::uint8_t>(buffer_);
    buffer_ = 0;
    filled_ = 0;
  }

 private:
  std::uint8_t* out_;
  std::uint64_t buffer_ = 0;
  unsigned filled_ = 0;
};

class BitReader {
 public:
  explicit BitReader(const std::uint8_t* in) : in_(in) {}
  std::uint64_t get(unsigned width) {
    while (filled_ < width) {
      buffer_ |= static_cast<std::uint64_t>(*in_++) << filled_;
      filled_ += 8;
    }
    const std::uint64_t value = buffer_ & ((std::uint64_t{1} << width) - 1);
    buffer_ >>= width;
    filled_ -= width;
    return value;
  }

 private:
  const std::uint8_t* in_;
  std::uint64_t buffer_ = 0;
  unsigned filled_ = 0;
};

inline void store_f32(std::uint8_t* out, float value) { std::memcpy(out, &value, 4); }
inline float load_f32(const std::uint8_t* in) {
  float value;
  std::memcpy(&value, in, 4);
  return value;
}
inline void store_u32(std::uint8_t* out, std::uint32_t value) { std::memcpy(out, &value, 4); }
inline std::uint32_t load_u32(const std::uint8_t* in) {
  std::uint32_t value;
  std::memcpy(&value, in, 4);
  return value;
}

}  // namespace dsignsgd
