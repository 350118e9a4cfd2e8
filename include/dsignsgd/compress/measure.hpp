#pragma once
/// @file
/// A Monte Carlo check that a compressor is what it declares: T independent compressions of one
/// vector v, with the empirical bias (per coordinate and as a norm), the empirical
/// ω = E‖C(v) − v‖² / ‖v‖² with its standard error, and the size of the real message. Used by
/// `dsignsgd compressor` and by the compressor tests.

#include <cstddef>
#include <cstdint>
#include <span>

#include "dsignsgd/compress/compressor.hpp"

namespace dsignsgd {

struct CompressorMeasurement {
  int trials = 0;
  /// max_j |mean_j C(v) − v_j| / (s_j / √T), after allowing fp32 decode rounding (1e-5 |v_j|);
  /// about |N(0,1)| maxima for an unbiased compressor, large for a biased one.
  double max_bias_z = 0.0;
  double bias_norm = 0.0;         ///< ‖mean C(v) − v‖ / ‖v‖
  double bias_noise_floor = 0.0;  ///< √(ω_empirical / T): where bias_norm sits when unbiased
  double error_mean = 0.0;        ///< mean over trials of ‖C(v) − v‖²
  double error_stderr = 0.0;
  double omega_empirical = 0.0;  ///< error_mean / ‖v‖²
  double omega_stderr = 0.0;
  std::size_t message_bytes = 0;  ///< of the last message (every message has this size)
};

/// Compresses v `trials` times (trials >= 2); trial t draws its randomness from `address` with
/// step t.
CompressorMeasurement measure_compressor(const Compressor& compressor, std::span<const float> v,
                                         int trials, const StreamAddress& address);

}  // namespace dsignsgd
