#include "dsignsgd/compress/measure.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace dsignsgd {

CompressorMeasurement measure_compressor(const Compressor& compressor, std::span<const float> v,
                                         int trials, const StreamAddress& address) {
  const std::size_t d = v.size();
  std::vector<double> sum(d, 0.0), sum_sq(d, 0.0);
  std::vector<float> decoded(d);
  WireMessage message;
  double error_sum = 0.0, error_sq_sum = 0.0, norm_sq = 0.0;
  for (float x : v) norm_sq += static_cast<double>(x) * x;
  for (int t = 0; t < trials; ++t) {
    StreamAddress trial = address;
    trial.step = static_cast<std::uint32_t>(t);
    compressor.encode(v, trial, message);
    compressor.decode(message, trial, decoded);
    double error = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      sum[j] += decoded[j];
      sum_sq[j] += static_cast<double>(decoded[j]) * decoded[j];
      const double diff = static_cast<double>(decoded[j]) - v[j];
      error += diff * diff;
    }
    error_sum += error;
    error_sq_sum += error * error;
  }
  CompressorMeasurement m;
  m.trials = trials;
  const double t = trials;
  double bias_sq = 0.0;
  for (std::size_t j = 0; j < d; ++j) {
    const double mean = sum[j] / t;
    const double var = std::max(0.0, sum_sq[j] / t - mean * mean) * t / (t - 1);
    const double deviation = std::abs(mean - v[j]);
    bias_sq += (mean - v[j]) * (mean - v[j]);
    const double rounding = 1e-5 * std::abs(v[j]) + 1e-30;  // fp32 decode rounding
    const double z = var > 0 ? std::max(0.0, deviation - rounding) / std::sqrt(var / t)
                     : deviation > rounding ? std::numeric_limits<double>::infinity()
                                            : 0.0;
    m.max_bias_z = std::max(m.max_bias_z, z);
  }
  m.error_mean = error_sum / t;
  const double error_var = std::max(0.0, error_sq_sum / t - m.error_mean * m.error_mean);
  m.error_stderr = std::sqrt(error_var / (t - 1));
  m.omega_empirical = m.error_mean / norm_sq;
  m.omega_stderr = std::sqrt(error_var * t / (t - 1) / t) / norm_sq;
  m.bias_noise_floor = std::sqrt(m.error_mean / t / norm_sq);
  m.bias_norm = std::sqrt(bias_sq / norm_sq);
  m.message_bytes = message.bytes.size();
  return m;
}

}  // namespace dsignsgd
