#pragma once
/// @file
/// Algorithm vs SDE (docs/THEORY.md §4): the same configuration run as the discrete method and as its SDE
/// at η, η/2, η/4, … over the same time horizon T = K η, the mean loss curves with confidence
/// bands, and the weak error max_k |mean f(x_k) − mean f(X_{t_k})| per η with its Monte Carlo
/// standard error and the fitted order (slope of log error against log η).

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsignsgd/sde/simulate.hpp"

namespace dsignsgd {

/// validate's default --substeps (the CLI's and Python's): with extrapolation from 4 and 8 Euler
/// substeps the SDE side's bias is below its Monte Carlo error in every case measured
/// (docs/SDE.md, `validate`).
inline constexpr int kValidateSubsteps = 4;

struct ValidateOptions {
  int levels = 3;  ///< η, η/2, …, η/2^(levels−1)
  /// The SDE side as the continuous SDE: each path is integrated with M and 2M substeps (coupled
  /// through the Brownian bridge) and combined by Richardson extrapolation, (2^p f(X^{2M}) −
  /// f(X^M)) / (2^p − 1) for an integrator of weak order p, so its own discretisation error is
  /// O((η/M)^{p+1}) instead of O((η/M)^p). Without it the SDE side carries the integrator's bias
  /// (8 Euler substeps understate DSGD's weak error by about 1/8). Off, the SDE is the one
  /// simulate_sde steps with the given substeps (e.g. 1: the SDE at the method's own step).
  bool extrapolate = true;

  /// Throws ConfigError for option "levels" outside [2, 8].
  void validate() const;
  /// And with the SDE: extrapolation needs 2M ≤ 1024 substeps.
  void validate(const SdePlan& sde) const;
  /// And with the run: the finest level runs steps·2^(levels−1) steps, which must stay below
  /// the step counter's 2^32; the schedule must be constant without warm-up.
  void validate(const RunPlan& plan) const;
};

struct ValidateLevel {
  double lr = 0.0;
  std::int64_t steps = 0;
  TrainResult algorithm;
  SdeResult sde;
  double weak_error = 0.0;         ///< max over logged times of |mean difference|
  double weak_error_stderr = 0.0;  ///< standard error of the difference at that time
  double weak_error_time = 0.0;
  /// The 95 % quantile of the same maximum when algorithm and SDE agree in law at every time
  /// (multiplier bootstrap of the runs' centred curves): the noise level of weak_error.
  double null_threshold = 0.0;
  bool resolved = false;  ///< weak_error > null_threshold
};

/// The widest 90 % interval of the fitted order that still tells order 1 from order 0.5.
inline constexpr double kOrderWidth = 0.5;

struct ValidateResult {
  std::vector<ValidateLevel> levels;
  double order = 0.0;  ///< least-squares slope of log weak_error against log η
  /// The order's bootstrap (runs resampled at every level): standard deviation, 5 % and 95 %
  /// quantiles.
  double order_stderr = NAN, order_low = NAN, order_high = NAN;
  /// Every level's weak error lies above its null threshold: the errors are not Monte Carlo
  /// noise. Under the null (no weak error) this is false in ≥ 95 % of seeds.
  bool errors_resolved = true;
  /// The order's 90 % interval is narrower than kOrderWidth: it tells order 1 from 0.5 (an
  /// order fitted through errors that clear their thresholds can still be biased by the smallest
  /// level: 0.59 and 0.72 at 1 500 runs where the true order is 1).
  bool order_resolved = false;
  bool resolved = true;  ///< errors_resolved and order_resolved
};

/// The 95 % quantile of max_k |D*_k| over `draws` multiplier-bootstrap draws, D*_k =
/// (1/R_a) Σ_r ξ_r (a_r(k) − ā(k)) − (1/R_b) Σ_r ζ_r (b_r(k) − b̄(k)), ξ, ζ ~ N(0, 1): the law of
/// the largest gap between two ensembles' mean loss curves when both have the same mean. Runs
/// that diverged are left out.
double null_max_gap_quantile(const TrainResult& a, const TrainResult& b, std::uint64_t seed,
                             int draws = 1000);

/// Throws ConfigError on invalid options. `callbacks` see every run (progress).
ValidateResult validate_sde(const RunPlan& plan, const SdePlan& sde,
                            const ValidateOptions& validate, const Callbacks& callbacks = {});
/// Resolves both, then validates.
ValidateResult validate_sde(const TrainOptions& options, const SdeOptions& sde,
                            const ValidateOptions& validate, const Callbacks& callbacks = {});

/// time, eta, step, algorithm mean/lo/hi, sde mean/lo/hi (95 % bands = ±1.96 s.e.).
std::string validate_csv(const ValidateResult& result);
nlohmann::json validate_json(const ValidateResult& result, const SdePlan& sde,
                             const ValidateOptions& validate);

}  // namespace dsignsgd
