#pragma once
/// @file
/// Turning a TrainResult into what a user plots: statistics across runs, metrics.csv and
/// summary.json, written atomically (temporary name, then rename) so that --out never holds a
/// half-written file.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dsignsgd/optim/trainer.hpp"

namespace dsignsgd {

/// Statistics of a sample, NaNs ignored; quantiles by linear interpolation.
struct SampleStatistics {
  std::size_t count = 0;
  double mean = 0.0;
  double std = 0.0;      ///< sample standard deviation (n − 1)
  double stderr_ = 0.0;  ///< std / √count
  double median = 0.0;
  double p10 = 0.0;
  double p90 = 0.0;
};
SampleStatistics sample_statistics(std::vector<double> values);
/// Statistics across runs of the loss at logged row `row` (diverged runs are NaN and ignored).
SampleStatistics loss_statistics(const TrainResult& result, std::size_t row);
/// Extra metric `metric` (TrainResult::extra_metric_names) at the last logged step, across runs.
SampleStatistics final_metric_statistics(const TrainResult& result, std::size_t metric);

/// The numbers summary.json reports about the loss.
struct LossSummary {
  SampleStatistics final_loss;  ///< over the runs that did not diverge
  SampleStatistics tail_loss;
  int diverged_runs = 0;
};
LossSummary summarize_loss(const TrainResult& result);

/// One row per logged step: step, mean/std/median/p10/p90 of the loss across live runs, live
/// runs, mean gradient norm, cumulative uplink and downlink bits per agent.
std::string metrics_csv(const TrainResult& result);
nlohmann::json summary_json(const TrainResult& result);

/// Writes content to path through a temporary file in the same directory and a rename.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);
/// Creates out_dir and writes metrics.csv and summary.json into it (`summary` defaults to
/// summary_json(result); the SDE command passes its extended one).
void write_train_outputs(const TrainResult& result, const std::filesystem::path& out_dir,
                         const nlohmann::json* summary = nullptr);

}  // namespace dsignsgd
