#pragma once
/// @file
/// Turning a TrainResult into what a user plots: metrics.csv and summary.json, written
/// atomically (temporary name, then rename) so that --out never holds a half-written file.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dsignsgd/core/atomic_file.hpp"
#include "dsignsgd/optim/train_result.hpp"
#include "dsignsgd/sde/simulate.hpp"

namespace dsignsgd {

/// One row per logged step: step, mean/std/median/p10/p90 of the loss across live runs, live
/// runs, mean gradient norm, cumulative uplink and downlink bits per agent.
std::string metrics_csv(const TrainResult& result);
nlohmann::json summary_json(const TrainResult& result);
/// summary_json of the SDE's paths, with "command": "sde" and the model's description.
nlohmann::json sde_json(const SdeResult& sde, const SdePlan& plan);

/// Creates out_dir and writes metrics.csv and summary.json into it (`summary` defaults to
/// summary_json(result); the SDE command passes its extended one).
void write_train_outputs(const TrainResult& result, const std::filesystem::path& out_dir,
                         const nlohmann::json* summary = nullptr);

}  // namespace dsignsgd
