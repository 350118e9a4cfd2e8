#pragma once
/// @file
/// Gradient noise models of docs/THEORY.md §1: agent i's stochastic gradient is g_i = ∇f(x) + Z_i with
///   none          Z = 0
///   gaussian:σ    Z = σ ξ,               ξ ~ N(0, I)
///   student:ν:σ   Z_j = σ T_ν            i.i.d. coordinates (heavy tails for ν <= 2)
///   cauchy:σ      Z_j = σ T_1
///   affine:σ0:σ1  Z ~ N(0, (σ0² + σ1² ||∇f||²) I)   ([B])
///   relative:σ    Z ~ N(0, σ² ||∇f||² I)            ([B]'s neural-network runs)
/// Agent i's scale is multiplied by agent_scales[i] (heterogeneous agents). A batch of B is the
/// mean of B independent draws: drawn literally for Student-t; for the Gaussian family and Cauchy
/// the mean has the same law as one draw at scale σ/√B (Gaussian) or σ (Cauchy) and is drawn so.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dsignsgd/random/stream.hpp"

namespace dsignsgd {

enum class NoiseKind { kNone, kGaussian, kStudent, kCauchy, kAffine, kRelative };

struct NoiseSpec {
  NoiseKind kind = NoiseKind::kNone;
  double sigma = 0.0;   ///< scale σ (gaussian, student, cauchy, relative)
  double nu = 0.0;      ///< degrees of freedom (student)
  double sigma0 = 0.0;  ///< affine: additive part
  double sigma1 = 0.0;  ///< affine: relative part

  /// Parses "gaussian:1", "student:3:0.5", …; throws ConfigError for option "noise".
  static NoiseSpec parse(const std::string& text);
  std::string to_string() const;
  static NoiseSpec parse_unchecked(const std::string& text);

  /// Per-coordinate scale of one draw at gradient norm ||∇f|| (before agent scale and batch).
  double scale(double grad_norm) const;
  /// Per-coordinate variance of one draw (infinite for Student-t with ν <= 2 and Cauchy).
  double coordinate_variance(double grad_norm) const;
  /// Small-signal slope ℓ = 2 p(0) of the unit-scale noise density (docs/THEORY.md §1).
  double small_signal_slope() const;
  /// CDF of one unit-scale noise coordinate.
  double unit_cdf(double u) const;
};

/// The mean sign of Student-t noise with ν degrees of freedom, m(u) = E[sign(u + T_ν)] =
/// 2 F_ν(u) − 1, and its derivative 2 p_ν(u) — what the sign methods' SDE evaluates per coordinate,
/// per agent and per substep. For integer ν ≤ 64 from the finite sums of Abramowitz and Stegun
/// 26.7.3–4 (θ = atan(u/√ν): ν odd, (2/π)(θ + sin θ Σ a_k cos^{2k+1} θ); ν even,
/// sin θ Σ b_k cos^{2k} θ), which agree with Boost's incomplete beta to 1e-14 relative and cost a
/// few dozen flops instead of microseconds; otherwise through Boost's incomplete beta
/// I_{u²/(ν+u²)}(1/2, ν/2) (2 F_ν(u) − 1 itself would cancel every digit near u = 0).
class StudentMeanSign {
 public:
  explicit StudentMeanSign(double nu);
  /// m = 2 F_ν(u) − 1, dm = dm/du = 2 p_ν(u).
  void operator()(double u, double& m, double& dm) const;

 private:
  double nu_;
  int integer_nu_ = 0;        ///< ν when it is an integer in [1, 64], else 0
  double density_at_0_ = 0.0;  ///< p_ν(0) = Γ((ν+1)/2) / (√(νπ) Γ(ν/2))
  std::vector<double> coefficients_;  ///< a_k (ν odd) or b_k (ν even)
};

class NoiseModel {
 public:
  /// @param agent_scales per-agent multipliers of the scale (empty: all 1)
  /// @param batch        B >= 1, the number of draws averaged
  NoiseModel(NoiseSpec spec, std::vector<double> agent_scales, int batch);

  const NoiseSpec& spec() const { return spec_; }
  int batch() const { return batch_; }
  double agent_scale(std::uint32_t agent) const;

  /// out = grad + Z_agent; grad_norm = ||grad|| (used by affine and relative noise).
  void sample(std::span<const float> grad, double grad_norm, std::uint32_t agent, RandomStream& rng,
              std::span<float> out) const;

 private:
  NoiseSpec spec_;
  std::vector<double> agent_scales_;
  int batch_;
};

}  // namespace dsignsgd
