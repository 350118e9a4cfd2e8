#pragma once
/// @file
/// Bulk random numbers for the hot loops (agent noise, SDE increments). Philox blocks are
/// computed many counters at a time and Box–Muller runs in single precision with our own
/// polynomial log and sin/cos, in code the compiler vectorizes (AVX-512, AVX2 or scalar, chosen at
/// run time). Every variant performs the same IEEE operations in the same order (the library is
/// built with -ffp-contract=off), so the numbers are bit-identical whatever the CPU.
///
/// Accuracy: log and sin/cos within a few float ulps; the uniforms feeding the radius have 32
/// bits, so |z| <= 6.8 (P(|Z| > 6.8) ≈ 1e-11 under the exact law).

#include <algorithm>
#include <cstdint>
#include <span>

#include "dsignsgd/random/stream.hpp"

namespace dsignsgd {

/// out[i] = the next n 32-bit draws of the stream, exactly as n calls of next_u32() would give.
void fill_u32(RandomStream& rng, std::span<std::uint32_t> out);

/// Standard normals, two per pair of 32-bit draws (Box–Muller). Consumes 2·ceil(n/2) draws.
void fill_standard_normal(RandomStream& rng, std::span<float> out);

/// The same draws as the stream's next_u32(), fetched in bulk (up to 1024 at a time, no more than
/// the caller expects to use, so short uses do not pay for a full buffer).
class BufferedStream {
 public:
  BufferedStream(RandomStream& stream, std::size_t expected_draws)
      : stream_(stream), expected_(expected_draws) {}
  std::uint32_t next_u32() {
    if (pos_ == filled_) {
      filled_ = std::clamp<std::size_t>(expected_, 1, kSize);
      expected_ = expected_ > filled_ ? expected_ - filled_ : 0;
      fill_u32(stream_, std::span(buffer_, filled_));
      pos_ = 0;
    }
    return buffer_[pos_++];
  }

 private:
  static constexpr std::size_t kSize = 1024;
  RandomStream& stream_;
  std::size_t expected_;
  std::uint32_t buffer_[kSize];
  std::size_t pos_ = 0;
  std::size_t filled_ = 0;
};

namespace detail {
/// 16 consecutive Philox blocks from block index first_block: the dispatching version and the
/// portable one it must match (exposed for tests).
void philox16(const PhiloxCounter& ctr, const PhiloxKey& key, std::uint32_t first_block,
              std::uint32_t* out);
void philox16_generic(const PhiloxCounter& ctr, const PhiloxKey& key, std::uint32_t first_block,
                      std::uint32_t* out);
}  // namespace detail

}  // namespace dsignsgd
