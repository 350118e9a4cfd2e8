#pragma once
/// @file
/// RandomStream: an independent stream of random numbers addressed by
/// (seed, run, agent, step, purpose). The Philox key is the 64-bit seed; the counter holds
/// (block index, step, agent | purpose << 24, run). Streams with different addresses never
/// overlap; each holds 2^34 32-bit draws.

#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>

#include "dsignsgd/random/philox.hpp"

namespace dsignsgd {

/// What a stream is used for; distinct purposes of the same (run, agent, step) are independent.
enum class StreamPurpose : std::uint32_t {
  kGradientNoise = 1,
  kCompression = 2,        ///< private randomness of the sender (stochastic rounding)
  kSharedCompression = 3,  ///< randomness sender and receiver share (rand-k indices)
  kServer = 4,             ///< server-side randomness (majority-vote tie breaks)
  kSetup = 5,              ///< problem construction (random rotation)
  kTest = 6,
  kBrownian = 7,            ///< SDE Brownian increments (agent field = bridge level)
  kSdeModel = 8,            ///< Monte Carlo estimates inside an SDE model
  kBootstrap = 9,           ///< resampling weights of statistical tests (validate)
};

/// The address of a stream.
struct StreamAddress {
  std::uint64_t seed = 0;
  std::uint32_t run = 0;
  std::uint32_t agent = 0;  ///< < 2^24
  std::uint32_t step = 0;
  StreamPurpose purpose = StreamPurpose::kGradientNoise;

  StreamAddress with_purpose(StreamPurpose p) const {
    StreamAddress a = *this;
    a.purpose = p;
    return a;
  }
};

/// Uniform integer in [0, bound), bound <= 2^32, from any source of 32-bit draws with
/// next_u32() (Lemire's multiply-and-reject; consumes one draw except on rare rejections).
template <typename Source>
std::uint32_t uniform_below(Source& source, std::uint64_t bound) {
  std::uint64_t product = static_cast<std::uint64_t>(source.next_u32()) * bound;
  auto low = static_cast<std::uint32_t>(product);
  if (low < bound) {
    const auto threshold = static_cast<std::uint32_t>((0x100000000ull - bound) % bound);
    while (low < threshold) {
      product = static_cast<std::uint64_t>(source.next_u32()) * bound;
      low = static_cast<std::uint32_t>(product);
    }
  }
  return static_cast<std::uint32_t>(product >> 32);
}

/// Agent id used for server-side streams.
inline constexpr std::uint32_t kServerAgent = 0xFFFFFFu;

class RandomStream {
 public:
  explicit RandomStream(const StreamAddress& address)
      : key_{static_cast<std::uint32_t>(address.seed),
             static_cast<std::uint32_t>(address.seed >> 32)},
        ctr_{0u, address.step,
             (address.agent & 0xFFFFFFu) | (static_cast<std::uint32_t>(address.purpose) << 24),
             address.run} {}

  std::uint32_t next_u32() {
    if (pos_ == 4) refill();
    return block_[pos_++];
  }

  std::uint64_t next_u64() {
    const std::uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }

  /// Uniform on the open interval (0, 1), 53 bits.
  double uniform() {
    const std::uint64_t bits = next_u64() >> 11;  // 53 bits
    return (static_cast<double>(bits) + 0.5) * 0x1.0p-53;
  }

  /// Uniform integer in [0, bound) without modulo bias (Lemire's method), bound <= 2^32.
  std::uint32_t uniform_below(std::uint64_t bound);

  /// Standard normal (Box–Muller; the second variate of each pair is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double radius = std::sqrt(-2.0 * std::log(uniform()));
    const double angle = 2.0 * std::numbers::pi * uniform();
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

  /// Standard Cauchy by inversion.
  double cauchy() { return std::tan(std::numbers::pi * (uniform() - 0.5)); }

  /// Student-t with nu degrees of freedom, exact, by Bailey's polar method (Math. Comp. 62,
  /// 1994): (U, V) uniform in the unit disc, W = U² + V², T = U √(ν (W^(−2/ν) − 1) / W).
  double student_t(double nu) {
    if (nu == 1.0) return cauchy();
    while (true) {
      const double u = 2.0 * uniform() - 1.0;
      const double v = 2.0 * uniform() - 1.0;
      const double w = u * u + v * v;
      if (w >= 1.0 || w == 0.0) continue;
      return u * std::sqrt(nu * (std::pow(w, -2.0 / nu) - 1.0) / w);
    }
  }

 private:
  friend void fill_u32(RandomStream& rng, std::span<std::uint32_t> out);

  void refill() {
    block_ = philox4x32_10(ctr_, key_);
    ++ctr_[0];
    pos_ = 0;
  }

  PhiloxKey key_;
  PhiloxCounter ctr_;
  PhiloxCounter block_{};
  int pos_ = 4;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

inline std::uint32_t RandomStream::uniform_below(std::uint64_t bound) {
  return dsignsgd::uniform_below(*this, bound);
}

}  // namespace dsignsgd
