#pragma once
/// @file
/// The callbacks the ensemble runner ships with (optim/ensemble.hpp):
///   OnProgress      forwards (done, total) to a function (the CLI's progress bar)
///   StopWhen        stops the job at the first step a predicate holds (tests, signal flags)
///   CollectiveStop  every rank stops at the same step: a local flag (set by a signal handler)
///                   combined across ranks every 16 steps
///   Checkpointing   resume from, and write, checkpoint files (periodic and on stop); removes
///                   its own files once the job completes
///   StopBelowLoss   ends a run early once its loss is at or below a target

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "dsignsgd/optim/ensemble.hpp"

namespace dsignsgd {
class Communicator;  // comm/communicator.hpp
}

namespace dsignsgd {

class Communicator;

class OnProgress final : public EnsembleCallback {
 public:
  explicit OnProgress(std::function<void(std::uint64_t, std::uint64_t)> function)
      : function_(std::move(function)) {}
  void progress(std::uint64_t done, std::uint64_t total) override {
    if (function_) function_(done, total);
  }

 private:
  std::function<void(std::uint64_t, std::uint64_t)> function_;
};

/// Stops the job before step k when predicate(k) holds (polled by every run).
class StopWhen final : public EnsembleCallback {
 public:
  explicit StopWhen(std::function<bool(std::int64_t)> predicate)
      : predicate_(std::move(predicate)) {}
  bool stop_requested(const RunState& state) override { return predicate_(state.step); }

 private:
  std::function<bool(std::int64_t)> predicate_;
};

/// Every rank stops at the same step: `flag` (set asynchronously, e.g. by SIGINT) is combined
/// across the communicator's ranks every `period` steps (one 8-byte allgather).
class CollectiveStop final : public EnsembleCallback {
 public:
  CollectiveStop(const std::atomic<bool>& flag, Communicator* communicator, int period = 16)
      : flag_(flag), communicator_(communicator), period_(period) {}
  bool stop_requested(const RunState& state) override;

 private:
  const std::atomic<bool>& flag_;
  Communicator* communicator_;
  int period_;
};

struct CheckpointSettings {
  std::filesystem::path dir;     ///< where checkpoints go; empty: none are written
  std::int64_t every = 0;        ///< also every K steps (0: only on a stop and at run ends)
  std::filesystem::path resume;  ///< continue from these checkpoints; empty: fresh start
  std::string fingerprint;       ///< resolved configuration; a resume must match it
  int rank = 0;
  int ranks = 1;
  /// Under MPI: the ranks agree that every file was accepted, and that they restore the same
  /// state (each run at the same step), before the first exchange (optim/callbacks.cpp).
  Communicator* communicator = nullptr;
  /// The job made `dir` (or it is the --resume directory): removed once empty at the end.
  bool remove_dir_when_done = true;
};

/// Checkpoint files (optim/checkpoint.hpp): one per run and rank, written before step k when k
/// is a multiple of `every` or the job stops at k, and when a run ends; read back on resume.
/// When the job completes, the files it wrote are removed (and the directory once empty, when
/// the job made it).
/// On resume every file is read and checked before the first run starts — its configuration,
/// rank, run, and that its step, trace rows, divergence, tail sum and stepper state (dimension,
/// memories, finiteness) fit together: a damaged run 7 is refused before run 0 is recomputed.
class Checkpointing final : public EnsembleCallback {
 public:
  explicit Checkpointing(CheckpointSettings settings) : settings_(std::move(settings)) {}
  const CheckpointSettings& settings() const { return settings_; }
  void begin_job(const EnsembleInfo& info) override;
  void begin_run(RunState& state) override;
  void before_step(const RunState& state, bool stopping) override;
  void end_run(const RunState& state) override;
  void end_job(bool interrupted) override;

 private:
  void save(const RunState& state, bool complete) const;
  /// save(), and a warning (once) instead of a failure: periodic and end-of-run checkpoints.
  void save_or_warn(const RunState& state, bool complete) const;
  /// Reads and checks every run's file of this rank; returns each run's restored step (−1: no
  /// file, the run starts afresh).
  std::vector<std::int64_t> verify_resume();
  /// Under MPI: refuses (ConfigError, on every rank) when the ranks restore different steps.
  void agree_on_restored_steps(const std::vector<std::int64_t>& steps) const;
  /// Reads run state.run's file into `state` and checks that it describes a state this
  /// configuration can reach; throws ConfigError (option "resume") naming the file otherwise.
  void restore(const std::filesystem::path& path, RunState& state) const;
  CheckpointSettings settings_;
  EnsembleInfo info_;
  mutable std::atomic<bool> warned_{false};
};

/// Ends a run as soon as its loss is at or below `target` (termination kStoppedEarly).
class StopBelowLoss final : public EnsembleCallback {
 public:
  explicit StopBelowLoss(double target) : target_(target) {}
  bool end_run_early(const RunState&, double loss) override { return loss <= target_; }

 private:
  double target_;
};

}  // namespace dsignsgd
