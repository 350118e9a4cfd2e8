#pragma once
/// @file
/// Monte Carlo ensembles of SDE paths, in the same TrainResult (and so the same metrics.csv and
/// summary.json) as the algorithm: path r, logged at step k, is X at time t_k = Σ_{j<k} η η_j.

#include <string>

#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/sde/integrator.hpp"
#include "dsignsgd/sde/sde_model.hpp"

namespace dsignsgd {

/// The SDE flags as typed (--drift-correction --integrator --substeps --compression-covariance).
struct SdeOptions {
  /// none | classic | stability. The defaults (none, euler, 1 substep: the SDE stepped at the
  /// method's own step, whose per-step mean and covariance are the method's) keep the method's
  /// floor and its stability limit at every z = ηλ < 2 (`dsignsgd reproduce edge`,
  /// docs/SDE.md). For the continuous SDE take --substeps ≥ 16: `classic` then follows transients
  /// at small z best, `stability` keeps the floor and the step-size limit.
  std::string drift_correction = "none";
  std::string integrator = "euler";  ///< euler | platen2
  int substeps = 1;                  ///< M substeps per discrete step (power of two)
  std::string compression_covariance = "";   ///< exact | surrogate | monte-carlo; "" = exact
                                             ///< for rand-k/identity, monte-carlo otherwise
};

/// The most substeps per discrete step --substeps accepts.
inline constexpr int kMaxSubsteps = 1024;

/// The SDE options, parsed and resolved against a run plan (the covariance mode by compressor).
struct SdePlan {
  DriftCorrection drift_correction = DriftCorrection::kNone;
  IntegratorKind integrator = IntegratorKind::kEuler;
  int substeps = 1;
  CompressionCovariance covariance = CompressionCovariance::kExact;

  /// Throws ConfigError naming the first invalid option.
  static SdePlan resolve(const SdeOptions& options, const RunPlan& plan);
};

struct SdeResult {
  TrainResult result;            ///< same layout as train()'s
  std::string model;             ///< model name
  std::string covariance;        ///< how the diffusion is computed
  std::string integrator;
  int weak_order = 1;
};

/// Simulates plan.runs paths of the SDE of plan.method; throws ConfigError for combinations
/// without a model.
SdeResult simulate_sde(const RunPlan& plan, const SdePlan& sde, const Callbacks& callbacks = {});
/// Resolves both, then simulates.
SdeResult simulate_sde(const TrainOptions& options, const SdeOptions& sde,
                       const Callbacks& callbacks = {});

}  // namespace dsignsgd
