#pragma once
/// @file
/// What a run of the ensemble returns (train and the SDE simulator alike): the plan it ran, the
/// per-run traces, the bits on the wire, how it terminated, and the statistics across runs that
/// every report is made of. Divergence is an outcome recorded here, never an exception.

#include <cstdint>
#include <string>
#include <vector>

#include "dsignsgd/core/statistics.hpp"
#include "dsignsgd/optim/run_plan.hpp"

namespace dsignsgd {

/// What one run recorded.
struct RunTrace {
  std::vector<double> loss;       ///< f(x_k) − f* at the logged steps (NaN after divergence)
  std::vector<double> grad_norm;  ///< ||∇f(x_k)|| at the logged steps
  /// Extra metrics at the logged steps, row-major: rows × TrainResult::extra_metric_names.
  std::vector<double> extra;
  bool diverged = false;
  std::int64_t diverged_at = -1;  ///< first step whose loss was non-finite or above the bound
  std::int64_t stopped_at = -1;   ///< a callback ended the run early at this step (else −1)
  /// The step this process started the run at: 0, or where a resumed checkpoint stood (K for a
  /// run restored complete). Steps before it were computed, and exchanged, by an earlier job.
  std::int64_t first_step = 0;
  double final_loss = 0.0;        ///< f(x_K) − f* (or at stopped_at)
  double tail_loss = 0.0;         ///< mean of f(x_k) − f* over the last ⌈q·K⌉ iterates
};

/// How the ensemble ended (Ceres-style: an outcome, not an exception).
enum class Termination {
  kCompleted,     ///< every run took every step
  kSomeDiverged,  ///< some runs diverged, the others completed
  kAllDiverged,   ///< every run diverged
  kStoppedEarly,  ///< a callback ended some runs early (e.g. a loss target reached)
};
/// "ok", "some_diverged", "all_diverged", "stopped_early" (summary.json's "status").
std::string to_string(Termination termination);

struct TrainResult {
  RunPlan plan;  ///< as resolved (for data problems with the model's dimension filled in)
  std::size_t dim = 0;
  std::string problem_description;
  double omega = 0.0;  ///< declared ω of the compressor (NaN when biased)
  std::vector<std::int64_t> logged_steps;
  std::vector<RunTrace> runs;
  std::size_t uplink_bits_per_step = 0;    ///< one agent's message, header included
  std::size_t downlink_bits_per_step = 0;  ///< the server's broadcast
  int threads = 1;
  double wall_seconds = 0.0;
  double initial_loss = 0.0;
  /// Data problems: training rows; one epoch = this many samples over all agents (0 otherwise).
  std::size_t training_samples = 0;
  /// Names of the extra metrics the runs recorded (data sets: test_loss, test_accuracy).
  std::vector<std::string> extra_metric_names;

  /// Set when the agents lived in several processes (backend mpi).
  struct Communication {
    std::string backend = "local";
    int ranks = 1;
    int agents_per_rank = 0;
    std::uint64_t bytes_sent = 0;  ///< handed to the transport by this rank
    std::uint64_t bytes_received = 0;
    std::uint64_t declared_bytes_sent = 0;  ///< from the compressor's wire_bits
    std::uint64_t declared_bytes_received = 0;
    std::string collective;
  } communication;

  /// Epochs the runs went through (steps × N × B / training_samples) and wall time per epoch
  /// and run (runs in parallel threads count as sharing the wall time). 0 without data.
  double epochs() const;
  double seconds_per_epoch() const;
  Termination termination() const;
};

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

/// A few lines for a terminal: method, problem, final and tail loss with standard errors,
/// divergences, bits per coordinate, epochs and final metrics (data problems).
std::string brief_report(const TrainResult& result);

/// Fills what a result says about its configuration: dimension, problem, ω, logged steps, bits
/// per step, initial loss (shared by train and simulate_sde).
void describe_run(std::size_t dim, const std::string& description, double initial_loss,
                  const MethodParts& parts, const RunPlan& plan, TrainResult& result);

}  // namespace dsignsgd
