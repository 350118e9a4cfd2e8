#pragma once
/// @file
/// SDE models of the distributed methods (docs/THEORY.md §2, papers [A] and [B]). With g = ∇f(X), step
/// size η_t = η·η_k of the discrete method being modelled, N agents, batch B and agent noise
/// variances v_i (per coordinate, of one draw), v̄ = (1/N) Σ_i v_i / B:
///
///   DSGD      dX = −g dt + √(η_t/N) √(v̄) dW
///   DCSGD     dX = −g dt + √(η_t/N) √(v̄ I + (1/N) Σ_i E_Z[Φ(g + Z_i)]) dW
///             rand-k exact: Φ̄ = ω diag(g² + v̄) − ω/(d−1) (g gᵀ − diag(g²))  (diagonal − rank one)
///             surrogate:    Φ̄ = ω diag(g² + v̄)                               (any unbiased C)
///             monte-carlo:  Φ̄ = mean over agents and S noise draws of diag Cov[C(g + Z)]
///   DSignSGD  dX = −m̄(g) dt + √(η_t/N) √((1/N) Σ_i (1 − m_i(g)²)) dW,  m_i = E[sign(g + Z_i)]
///   majority  dX = −E[sign S](g) dt + √η_t √(1 − E[sign S]²) dW,  S = Σ_i ±1, P(+1) = (1 + m_i)/2
///
/// All drifts have the form b = −φ(g) with φ applied coordinate-wise (φ = id for DSGD/DCSGD).
/// Drift corrections (--drift-correction), H = ∇²f, J_b = −φ'(g) H the Jacobian of b:
///   none       b
///   classic    b − (η_t/2) J_b b = −φ − (η_t/2) φ'(g) ⊙ (H φ)   (second-order modified equation)
///   stability  b + (η_t/2) J_b b = −φ + (η_t/2) φ'(g) ⊙ (H φ)   ([B]: matches the loss drift of
///              one discrete step; for GD −∇f + (η/2) ∇²f ∇f)
/// For DSGD/DCSGD (φ' = 1) these are docs/THEORY.md §2's −∇f ∓ (η/2)∇²f∇f. For the sign methods the
/// Jacobian puts the slope of the mean sign into the correction, so that in the linear phase
/// (φ ≈ ℓ g/σ) the stability model's floor is the method's, limit η ℓ λ/σ < 2 (docs/SDE.md).
///
/// The diffusion is always D^{1/2} (I − β u uᵀ): a diagonal, optionally times a rank-one
/// correction (rand-k), applied to dW in O(d) without forming a matrix.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/problems/problem.hpp"

namespace dsignsgd {

enum class DriftCorrection { kNone, kClassic, kStability };
std::string to_string(DriftCorrection correction);
/// Throws ConfigError for option "drift-correction".
DriftCorrection drift_correction_from_string(const std::string& name);

/// How DCSGD's compression covariance E_Z[Φ(g + Z)] is computed.
enum class CompressionCovariance { kExact, kSurrogate, kMonteCarlo };
std::string to_string(CompressionCovariance covariance);
/// Throws ConfigError for option "compression-covariance".
CompressionCovariance compression_covariance_from_string(const std::string& name);

/// Coefficients of the SDE at one state X.
struct SdeCoefficients {
  double loss = 0.0;             ///< f(X) − f*
  double grad_norm = 0.0;        ///< ||∇f(X)||
  std::vector<float> grad;       ///< ∇f(X)
  std::vector<float> drift;      ///< b(X), correction included
  std::vector<float> diffusion;  ///< D^{1/2}, per coordinate
  std::vector<float> rank_one;   ///< u (unit vector) when beta != 0
  double beta = 0.0;             ///< diffusion = diag(D^{1/2}) (I − β u uᵀ)
  std::vector<float> scratch;    ///< φ(g) and H φ
  std::vector<float> scratch2;

  void resize(std::size_t d);
  /// out = diffusion applied to dw.
  void apply_diffusion(std::span<const float> dw, std::span<float> out) const;
};

/// The method-specific part of an SDE: φ (and φ') from the gradient, and the diffusion.
class SdeModel {
 public:
  virtual ~SdeModel() = default;
  virtual std::string name() const = 0;
  /// How the covariance is computed, for the output (e.g. "rand-k exact covariance").
  virtual std::string covariance_description() const = 0;
  /// True when the diffusion does not depend on X (additive noise).
  virtual bool additive_noise() const { return false; }
  /// True when the diffusion of coordinate j depends on X only through g_j (diagonal noise with
  /// coordinate-wise coefficients): with a separable f, weak order-2 schemes need no cross terms.
  virtual bool coordinatewise_diffusion() const = 0;

  /// φ(g) into phi and, when dphi is not empty, φ'(g) into dphi.
  virtual void mean_direction(std::span<const float> grad, double grad_norm, std::span<float> phi,
                              std::span<float> dphi) const = 0;
  /// Diffusion coefficients at the state (c.grad, c.grad_norm filled) for step size η_t.
  /// `rng` is for Monte Carlo covariance estimates.
  virtual void diffusion(double step_size, SdeCoefficients& c, RandomStream& rng) const = 0;
};

/// Problem + model + drift correction: evaluates all coefficients at a state.
class SdeSystem {
 public:
  SdeSystem(const Problem& problem, const SdeModel& model, DriftCorrection correction)
      : problem_(problem), model_(model), correction_(correction) {}

  const Problem& problem() const { return problem_; }
  const SdeModel& model() const { return model_; }
  DriftCorrection correction() const { return correction_; }

  /// Fills c at state x for the discrete step size η_t. When drift_only is true the diffusion is
  /// not computed.
  void evaluate(std::span<const float> x, double step_size, SdeCoefficients& c, RandomStream& rng,
                bool drift_only = false) const;

 private:
  const Problem& problem_;
  const SdeModel& model_;
  DriftCorrection correction_;
};

struct RunPlan;

/// The SDE model of plan.method (dsgd, dcsgd, dsignsgd, majority); throws ConfigError when
/// the method has none or the noise makes it undefined (DSGD/DCSGD under infinite variance).
std::unique_ptr<SdeModel> make_sde_model(const RunPlan& plan, CompressionCovariance covariance);

}  // namespace dsignsgd
