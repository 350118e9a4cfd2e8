#pragma once
/// @file
/// Monte Carlo ensembles of SDE paths, in the same TrainResult (and so the same metrics.csv and
/// summary.json) as the algorithm: path r, logged at step k, is X at time t_k = Σ_{j<k} η η_j.

#include <string>

#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/sde/sde_model.hpp"

namespace dsignsgd {

struct SdeOptions {
  /// none | classic | stability. Default classic: it has the smallest weak error against the
  /// discrete methods in `validate` (docs/SDE.md); stability reproduces GD's step-size limit.
  std::string drift_correction = "classic";
  std::string integrator = "euler";          ///< euler | platen2
  int substeps = 1;                          ///< M substeps per discrete step (power of two)
  std::string compression_covariance = "";   ///< exact | surrogate | monte-carlo; "" = exact
                                             ///< for rand-k/identity, surrogate otherwise

  /// Throws ConfigError naming the first invalid option.
  void validate() const;
};

/// The covariance mode used for `compressor` when the user left it empty.
CompressionCovariance resolved_covariance(const SdeOptions& sde, const std::string& compressor);

struct SdeResult {
  TrainResult result;            ///< same layout as train()'s
  std::string model;             ///< model name
  std::string covariance;        ///< how the diffusion is computed
  std::string integrator;
  int weak_order = 1;
};

/// Simulates options.runs paths of the SDE of options.method; throws ConfigError on invalid
/// options or combinations without a model.
SdeResult simulate_sde(const TrainOptions& options, const SdeOptions& sde,
                       const ProgressCallback& progress = {});

}  // namespace dsignsgd
