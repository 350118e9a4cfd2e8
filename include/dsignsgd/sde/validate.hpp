#pragma once
/// @file
/// Algorithm vs SDE (SPEC §4): the same configuration run as the discrete method and as its SDE
/// at η, η/2, η/4, … over the same time horizon T = K η, the mean loss curves with confidence
/// bands, and the weak error max_k |mean f(x_k) − mean f(X_{t_k})| per η with its Monte Carlo
/// standard error and the fitted order (slope of log error against log η).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsignsgd/sde/simulate.hpp"

namespace dsignsgd {

struct ValidateOptions {
  int levels = 3;  ///< η, η/2, …, η/2^(levels−1)

  /// Throws ConfigError for option "levels" outside [2, 8].
  void validate() const;
};

struct ValidateLevel {
  double lr = 0.0;
  std::int64_t steps = 0;
  TrainResult algorithm;
  SdeResult sde;
  double weak_error = 0.0;         ///< max over logged times of |mean difference|
  double weak_error_stderr = 0.0;  ///< standard error of the difference at that time
  double weak_error_time = 0.0;
};

struct ValidateResult {
  std::vector<ValidateLevel> levels;
  double order = 0.0;  ///< least-squares slope of log weak_error against log η
  bool resolved = true;  ///< false when some weak error is below 2 standard errors
};

/// Throws ConfigError on invalid options. `callbacks` see every run (progress).
ValidateResult validate_sde(const RunPlan& plan, const SdePlan& sde,
                            const ValidateOptions& validate, const Callbacks& callbacks = {});
/// Resolves both, then validates.
ValidateResult validate_sde(const TrainOptions& options, const SdeOptions& sde,
                            const ValidateOptions& validate, const Callbacks& callbacks = {});

/// time, eta, step, algorithm mean/lo/hi, sde mean/lo/hi (95 % bands = ±1.96 s.e.).
std::string validate_csv(const ValidateResult& result);
nlohmann::json validate_json(const ValidateResult& result, const SdePlan& sde);

}  // namespace dsignsgd
