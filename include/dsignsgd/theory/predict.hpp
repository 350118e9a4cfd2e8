#pragma once
/// @file
/// `dsignsgd predict`: the closed forms of SPEC §3 for a configuration — stationary floors of
/// every method on quadratics, the regime each is valid in and whether the configuration is in
/// it, stability limits on η, and for (L0, L1)-smooth problems [B]'s step bounds. Where no closed
/// form exists the output says so (a null number with a reason) instead of printing one.

#include <nlohmann/json.hpp>

#include "dsignsgd/optim/run_plan.hpp"

namespace dsignsgd {

struct PredictOptions {
  double epsilon = 1e-3;  ///< target accuracy ε of [B] Theorem 4.2's step bound
};

/// Throws ConfigError on invalid options.
nlohmann::json predict(const RunPlan& plan, const PredictOptions& predict_options);
/// make_run_plan(options), then predict.
nlohmann::json predict(const TrainOptions& options, const PredictOptions& predict_options);

}  // namespace dsignsgd
