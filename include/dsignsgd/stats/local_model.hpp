#pragma once
/// @file
/// The SDE models' prediction for a real network, from what the network's own gradients say
/// (issue 28, item 3). At one point of a plain SGD run (noise-probe's run) it measures, on a
/// random subset of coordinates j:
///   - the noise of one agent's minibatch gradient: mean μ_j, variance s_j², and the fitted law's
///     scale σ_j and small-signal slope ℓ (noise_probe.hpp's pooled Student-t/Gaussian/Cauchy fit);
///   - the curvature h_j = H_jj of the training loss the run reports (on its evaluation rows, the
///     loss the tables measure): Hutchinson, E[v ⊙ Hv] over Rademacher v, Hv by central
///     differences of that loss's gradient; and the top eigenvalue λ_max of H (power iteration);
///   - for each unbiased compressor asked for, the compression variance c_j = E Var[C(g)]_j of
///     one agent's gradient g there (the compressor's own variance_diagonal, averaged over the
///     noise's draws):
///     QSGD's and natural compression's depend on g, so they are measured, not assumed.
///
/// and models the network around that point as the separable quadratic ½ Σ h_j x_j² with those
/// noises — docs/THEORY.md §3's per-coordinate recursions, the ones the SDE models' stationary
/// moments reproduce (stationary.hpp), here over a finite horizon T because a network's flat
/// directions never reach their stationary spread:
///
///   gradient methods  v_T = η² q (1 − r^T) / (1 − r),  r = (1 − ηh)² + η² ω_j h² / N,
///                     q = (s_j² + c_j) / N,  ω_j = c_j / (s_j² + μ_j²)
///   sign methods      a = η κ ℓ h / σ_j (κ = 1 averaged signs, κ_N majority), r = (1 − a)²,
///                     q = 1/N (averaged) or 1 (majority), a capped at 1 (beyond, the sign's
///                     step no longer shrinks with x: the linear phase ends)
///
/// and predicts the excess loss Σ_j h_j v_T / 2 (scaled from the subset to all d coordinates):
/// the part of the loss that the method's noise adds over the T steps, with f* and the drift's
/// progress left out — which is why it is compared as *differences* between methods at one η,
/// where unbiased methods share the drift exactly. A coordinate with h_j < 0 (the estimate's
/// noise, or a concave direction) counts as minus the share of |h_j| (an odd extension), so
/// that Hutchinson's noise cancels in the sum rather than being clipped into a bias; a
/// coordinate whose draws are mostly one value (an exact zero: noise_probe.hpp) has no law, and
/// the sign methods' prediction leaves it out and says how many there were. |h_j| is cut at
/// 1.1 |λ_max| (no diagonal entry of H is larger than λ_max; power iteration approaches it from
/// below).

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dsignsgd/optim/run_plan.hpp"
#include "dsignsgd/stats/noise_probe.hpp"

namespace dsignsgd {

struct LocalModelOptions {
  int draws = 128;                 ///< minibatch gradients for the noise (≥ 32)
  std::size_t coordinates = 4096;  ///< coordinates sampled (all when d is smaller)
  int hutchinson_probes = 64;      ///< Rademacher vectors for diag H (≥ 1)
  int power_iterations = 20;       ///< for λ_max (≥ 2)
  /// Unbiased compressors whose c_j to measure (e.g. "randk:0.125", "qsgd:2:512").
  std::vector<std::string> compressors;

  /// Throws ConfigError naming the option.
  void validate() const;
};

struct LocalModel {
  std::int64_t step = 0;
  double loss = 0.0;
  std::size_t dim = 0;
  std::vector<std::size_t> coordinates;  ///< the subset, increasing
  std::vector<double> mean_gradient;     ///< μ_j
  std::vector<double> noise_variance;    ///< s_j², one agent at the plan's batch
  std::vector<double> law_scale;         ///< σ_j; 0 where the draws have no shape
  std::vector<double> curvature;         ///< h_j (Hutchinson; may be negative)
  std::string law;                       ///< the pooled noise's law (noise_probe.hpp)
  double ell = 0.0;                      ///< its small-signal slope ℓ = 2 p(0)
  double lambda_max = 0.0;               ///< top eigenvalue of H (largest |λ|, with its sign)
  double curvature_mean = 0.0, curvature_stderr = 0.0;  ///< of h_j over the subset
  double negative_curvature_fraction = 0.0;
  double shapeless_fraction = 0.0;
  /// compressor name → c_j
  std::map<std::string, std::vector<double>> compression_variance;
  /// compressor name → ω_eff = Σ c_j / Σ (s_j² + μ_j²): its variance relative to what it compresses
  std::map<std::string, double> effective_omega;
};

/// Advances noise-probe's plain SGD run of `plan` to step `at` and measures the model there.
LocalModel probe_local_model(const RunPlan& plan, std::int64_t at,
                             const LocalModelOptions& options);

/// probe_noise(plan, probe) and probe_local_model(plan, probe.at.back(), options) from one SGD
/// run instead of two (`noise-probe --local-model`): the same results, half the steps.
std::vector<NoisePoint> probe_noise_and_local_model(const RunPlan& plan,
                                                    const NoiseProbeOptions& probe,
                                                    const LocalModelOptions& options,
                                                    LocalModel& model);

struct LocalPrediction {
  /// Predicted excess loss over T steps (NaN when outside the model or unstable: see reason).
  double excess_loss = 0.0;
  /// Gradient methods: false when the second moment grows, η λ_max (1 + ω_eff / N) ≥ 2 (then
  /// excess_loss is NaN). A coordinate whose own recursion does not contract (a noisy h_j)
  /// counts as a random walk over T steps.
  bool stable = true;
  double stability_ratio = 0.0;  ///< η λ_max (1 + ω_eff / N) / 2; sign methods 0
  std::string reason;
};

/// The model's prediction for `method` ("dsgd", "dcsgd", "dsignsgd", "majority") with
/// `compressor` (dcsgd: a name measured into the model) at N agents, step η, T steps.
LocalPrediction predict_local(const LocalModel& model, const std::string& method,
                              const std::string& compressor, int workers, double lr,
                              std::int64_t steps);

nlohmann::json local_model_json(const LocalModel& model);

}  // namespace dsignsgd
