#pragma once
/// @file
/// The ensemble runner shared by the algorithm (`train`) and the SDE simulator (`simulate_sde`):
/// R independent runs on a pool of threads, the loss logged at the same steps, divergence
/// detection and tail averages — so both write the same metrics.csv and summary.json. What
/// varies around the loop (progress display, checkpoints, stopping on a signal, early stop,
/// fault injection in tests) is passed in as callbacks, ensmallen style.

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dsignsgd/optim/train_result.hpp"

namespace dsignsgd {

class CheckpointWriter;
class CheckpointReader;

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
  virtual void save(CheckpointWriter& out) const = 0;
  /// Restores what save() wrote for the state before step `step`; throws std::runtime_error
  /// saying what does not fit (a dimension, a count, a non-finite iterate).
  virtual void load(CheckpointReader& in, std::int64_t step) = 0;
};

/// One run as the callbacks see it: its trace so far and where it stands. A callback that
/// restores a run (resume) sets every field.
struct RunState {
  std::uint32_t run = 0;
  std::int64_t step = 0;      ///< the next step to evaluate
  RunTrace* trace = nullptr;  ///< logged rows so far
  std::size_t row = 0;        ///< next logged row
  double tail_sum = 0.0;      ///< sum of the losses in the tail window so far
  RunStepper* stepper = nullptr;
  std::int64_t first_step = 0;  ///< where this run started (the restored step on resume)
  bool complete = false;        ///< restored a run that had already finished
};

using RunFactory = std::function<std::unique_ptr<RunStepper>(std::uint32_t run)>;

/// What the ensemble is about to run (for callbacks that check before any work): the shape every
/// run's trace has, and the factory, so that a callback can check a restored state against a real
/// stepper before the first run starts.
struct EnsembleInfo {
  std::int64_t steps = 0;
  int runs = 0;
  const std::vector<std::int64_t>* logged_steps = nullptr;  ///< the rows of every trace
  std::size_t extras = 0;         ///< extra metrics per logged row
  std::int64_t tail_begin = 0;    ///< the tail average covers steps [tail_begin, steps]
  const RunFactory* factory = nullptr;
};

/// Hooks around the loop; every method has a do-nothing default. Hooks that take a RunState run
/// in that run's thread (several at once); progress() runs in the calling thread.
class EnsembleCallback {
 public:
  virtual ~EnsembleCallback() = default;
  /// Before any run starts; may refuse (throw ConfigError).
  virtual void begin_job(const EnsembleInfo&) {}
  /// Before a run's first step; may restore its state (resume).
  virtual void begin_run(RunState&) {}
  /// Before evaluating step state.step (< K): true asks the whole job to stop here.
  virtual bool stop_requested(const RunState&) { return false; }
  /// Before evaluating step state.step (< K), after the stop requests were asked (`stopping`:
  /// the job stops at this step) — periodic and final checkpoints.
  virtual void before_step(const RunState&, bool /*stopping*/) {}
  /// After the loss of step state.step was recorded: true ends this run here (early stop).
  virtual bool end_run_early(const RunState&, double /*loss*/) { return false; }
  /// A run finished (all its steps, diverged or stopped early).
  virtual void end_run(const RunState&) {}
  /// The job ended; `interrupted`: a stop was requested.
  virtual void end_job(bool /*interrupted*/) {}
  /// Steps done over all runs, total.
  virtual void progress(std::uint64_t /*done*/, std::uint64_t /*total*/) {}
};

using Callbacks = std::vector<EnsembleCallback*>;

/// The job stopped on request (a callback's stop_requested) after the callbacks saw the stop.
class Interrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Which steps are logged: 0, E, 2E, … and K.
std::vector<std::int64_t> logged_steps(std::int64_t steps, std::int64_t every);

/// Runs plan.runs steppers made by `factory` (run r only uses streams keyed by r) for plan.steps
/// steps on `threads` threads. Needs result.logged_steps and result.initial_loss; fills
/// result.runs and result.wall_seconds. Rethrows the first exception a run threw; throws
/// Interrupted when a callback asked to stop.
void run_ensemble(const RunPlan& plan, int threads, const RunFactory& factory, TrainResult& result,
                  const Callbacks& callbacks = {});

}  // namespace dsignsgd
