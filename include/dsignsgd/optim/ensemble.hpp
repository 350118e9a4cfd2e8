#pragma once
/// @file
/// The ensemble driver shared by the algorithm (`train`) and the SDE simulator (`simulate_sde`):
/// R independent runs on a pool of threads, the loss logged at the same steps, divergence
/// detection, tail averages — so both write the same metrics.csv and summary.json.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dsignsgd/optim/train_options.hpp"

namespace dsignsgd {

struct TrainResult;

/// One independent run the driver advances: the algorithm (StepLoop) or an SDE path.
class RunStepper {
 public:
  virtual ~RunStepper() = default;
  /// f(x_k) − f* at the current state; also prepares what step() needs. `logged`: the step is
  /// written to metrics, so grad_norm() will be read (data problems skip the full gradient
  /// otherwise unless their noise needs it).
  virtual double evaluate(bool logged) = 0;
  /// ||∇f(x_k)|| at the state of the last evaluate(true).
  virtual double grad_norm() const = 0;
  /// Advances from step k to k + 1.
  virtual void step(std::uint32_t k) = 0;
  /// Extra metrics at a logged step (TrainResult::extra_metric_names); none by default.
  virtual std::vector<double> extra_metrics() { return {}; }
  /// The state a checkpoint must hold to continue bit for bit (iterate, memories).
  virtual void save(class CheckpointWriter& out) const = 0;
  virtual void load(class CheckpointReader& in) = 0;
};

/// Checkpointing of an ensemble (see io/checkpoint.hpp).
struct CheckpointOptions {
  std::filesystem::path dir;     ///< where checkpoints go; empty: none are written
  std::int64_t every = 0;        ///< also every K steps (0: only on interruption and at run ends)
  std::filesystem::path resume;  ///< continue from these checkpoints; empty: fresh start
  std::string fingerprint;       ///< resolved configuration; a resume must match it
  int rank = 0;
  int ranks = 1;
  /// Polled before every step in the run's thread (collectively under MPI): true = stop now.
  std::function<bool(std::int64_t step)> should_stop;
};

/// The job stopped on request (SIGINT/SIGTERM) after writing checkpoints.
class Interrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using RunFactory = std::function<std::unique_ptr<RunStepper>(std::uint32_t run)>;
/// Progress: (steps done over all runs, total steps). Called from the calling thread only.
using ProgressCallback = std::function<void(std::uint64_t, std::uint64_t)>;

/// Which steps are logged: 0, E, 2E, … and K (E = log_every, or about K/200 when 0).
std::vector<std::int64_t> logged_steps(std::int64_t steps, std::int64_t every);

/// Runs options.runs steppers made by `factory` (run r only uses streams keyed by r) for
/// options.steps steps on `threads` threads. Needs result.logged_steps and result.initial_loss;
/// fills result.runs and result.wall_seconds. Rethrows the first exception a run threw.
void run_ensemble(const TrainOptions& options, int threads, const RunFactory& factory,
                  TrainResult& result, const ProgressCallback& progress,
                  const CheckpointOptions* checkpoints = nullptr);

}  // namespace dsignsgd
