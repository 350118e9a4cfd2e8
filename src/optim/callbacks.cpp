#include "dsignsgd/optim/callbacks.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "dsignsgd/comm/communicator.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/optim/checkpoint.hpp"

namespace dsignsgd {

bool CollectiveStop::stop_requested(const RunState& state) {
  if (communicator_ == nullptr || communicator_->size() == 1) return flag_.load();
  if (state.step % period_ != 0) return false;
  std::vector<std::uint64_t> flags(static_cast<std::size_t>(communicator_->size()));
  communicator_->allgather_u64(flag_.load() ? 1 : 0, flags);
  for (std::uint64_t flag : flags) {
    if (flag != 0) return true;
  }
  return false;
}

namespace {

/// Whether a checkpoint's configuration is this run's. A synthetic run's fingerprint has no
/// data-dir (it reads no data); checkpoints written before that was so carry one: ignored.
bool same_configuration(const std::string& stored, const std::string& now) {
  if (stored == now) return true;
  nlohmann::json a = nlohmann::json::parse(stored, nullptr, false);
  const nlohmann::json b = nlohmann::json::parse(now, nullptr, false);
  if (a.is_discarded() || b.is_discarded() || !a.is_object()) return false;
  if (!b.contains("data-dir")) a.erase("data-dir");
  return a == b;
}

}  // namespace

void Checkpointing::begin_job(const EnsembleInfo& info) {
  info_ = info;
  if (settings_.resume.empty()) return;
  std::vector<std::int64_t> steps;
  agree_on_failure(settings_.communicator, [&] { steps = verify_resume(); });
  agree_on_restored_steps(steps);
}

std::vector<std::int64_t> Checkpointing::verify_resume() {
  // Refuse a directory written by more ranks than this job has, or one with nothing of ours.
  bool any = false;
  for (const auto& entry : std::filesystem::directory_iterator(settings_.resume)) {
    const std::string name = entry.path().filename().string();
    const auto at = name.find(".rank-");
    if (at == std::string::npos) continue;
    any = true;
    const int rank = std::atoi(name.c_str() + at + 6);
    if (rank >= settings_.ranks) {
      throw ConfigError("resume", settings_.resume.string(),
                        "holds checkpoints of rank " + std::to_string(rank) +
                            ", this job has only " + std::to_string(settings_.ranks) + " rank(s)");
    }
  }
  if (!any) throw ConfigError("resume", settings_.resume.string(), "holds no checkpoint files");
  // Every run's file is checked now, with a stepper of this configuration, so that a damaged
  // file of the last run is refused before the first run is recomputed.
  std::unique_ptr<RunStepper> probe;
  std::vector<std::int64_t> steps(static_cast<std::size_t>(info_.runs), -1);
  for (int run = 0; run < info_.runs; ++run) {
    const auto r = static_cast<std::uint32_t>(run);
    const std::filesystem::path path = checkpoint_path(settings_.resume, r, settings_.rank);
    if (!std::filesystem::exists(path)) continue;
    if (!probe && info_.factory != nullptr) probe = (*info_.factory)(r);
    RunTrace trace;
    RunState state;
    state.run = r;
    state.trace = &trace;
    state.stepper = probe.get();
    restore(path, state);
    steps[r] = state.step;
  }
  return steps;
}

void Checkpointing::agree_on_restored_steps(const std::vector<std::int64_t>& steps) const {
  // Nothing of this job's runs anywhere: --resume would silently start over.
  const bool none = std::all_of(steps.begin(), steps.end(), [](std::int64_t s) { return s < 0; });
  Communicator* communicator = settings_.communicator;
  std::vector<std::uint64_t> nones(
      communicator ? static_cast<std::size_t>(communicator->size()) : 1, none ? 1 : 0);
  if (communicator != nullptr) communicator->allgather_u64(none ? 1 : 0, nones);
  if (std::all_of(nones.begin(), nones.end(), [](std::uint64_t n) { return n == 1; })) {
    throw ConfigError("resume", settings_.resume.string(),
                      "holds no checkpoint of this job's runs 0 … " +
                          std::to_string(info_.runs - 1) +
                          " (only other runs'): resuming would start over; give the directory "
                          "of this job's checkpoints, or drop --resume");
  }
  if (communicator == nullptr || communicator->size() == 1) return;
  const auto ranks = static_cast<std::size_t>(communicator->size());
  std::vector<std::uint64_t> all(ranks);
  for (std::size_t run = 0; run < steps.size(); ++run) {  // one word per run: cheap at start-up
    communicator->allgather_u64(static_cast<std::uint64_t>(steps[run] + 1), all);
    for (std::size_t r = 1; r < ranks; ++r) {
      if (all[r] == all[0]) continue;
      const auto state = [](std::uint64_t word) {
        return word == 0 ? std::string("has no checkpoint of it (starts afresh)")
                         : "resumes it at step " + std::to_string(word - 1);
      };
      throw ConfigError("resume", settings_.resume.string(),
                        "the ranks would restore different states of run " + std::to_string(run) +
                            ": rank 0 " + state(all[0]) + ", rank " + std::to_string(r) + " " +
                            state(all[r]) +
                            " (a rank's checkpoint file is missing or from another point of the "
                            "job; restore the directory, or start again without --resume)");
    }
  }
}

/// Payload: fingerprint, ranks, rank, run, step, complete flag, trace, stepper state.
void Checkpointing::save(const RunState& state, bool complete) const {
  const RunTrace& trace = *state.trace;
  CheckpointWriter out;
  out.string(settings_.fingerprint);
  out.u64(static_cast<std::uint64_t>(settings_.ranks));
  out.u64(static_cast<std::uint64_t>(settings_.rank));
  out.u64(state.run);
  out.u64(static_cast<std::uint64_t>(state.step));
  out.u64(complete ? 1 : 0);
  out.doubles(trace.loss);
  out.doubles(trace.grad_norm);
  out.doubles(trace.extra);
  out.u64(state.row);
  out.f64(state.tail_sum);
  out.u64(trace.diverged ? 1 : 0);
  out.u64(static_cast<std::uint64_t>(trace.diverged_at + 1));
  out.f64(trace.final_loss);
  out.f64(trace.tail_loss);
  if (!complete) state.stepper->save(out);
  // Ranks share the directory (one host, or a cluster's shared file system), and a rank that has
  // finished removes it once it is empty (end_job): it can vanish between creating it and
  // writing into it. Create it again then; a real failure persists and is reported.
  const std::filesystem::path path = checkpoint_path(settings_.dir, state.run, settings_.rank);
  for (int attempt = 0;; ++attempt) {
    std::filesystem::create_directories(settings_.dir);
    try {
      write_checkpoint_file(path, out.payload());
      return;
    } catch (const std::runtime_error&) {
      if (attempt == 3 || std::filesystem::is_directory(settings_.dir)) throw;
    }
  }
}

void Checkpointing::begin_run(RunState& state) {
  if (settings_.resume.empty()) return;
  const std::filesystem::path path = checkpoint_path(settings_.resume, state.run, settings_.rank);
  if (!std::filesystem::exists(path)) return;  // the run had not started
  restore(path, state);
}

namespace {

/// Checks that a restored run's fields describe a state the ensemble loop can be in (see
/// run_ensemble): throws CheckpointError naming the first field that does not fit.
void check_restored_state(const RunState& state, const EnsembleInfo& info) {
  const RunTrace& trace = *state.trace;
  const std::vector<std::int64_t>& logged = *info.logged_steps;
  const std::size_t rows = logged.size();
  const auto fail = [](const std::string& what) { throw CheckpointError(what); };
  if (trace.loss.size() != rows || trace.grad_norm.size() != rows ||
      trace.extra.size() != rows * info.extras) {
    fail("its trace has " + std::to_string(trace.loss.size()) + " loss, " +
         std::to_string(trace.grad_norm.size()) + " gradient-norm and " +
         std::to_string(trace.extra.size()) + " extra values; this configuration logs " +
         std::to_string(rows) + " rows with " + std::to_string(info.extras) + " extra metrics");
  }
  // The loop records logged step k before it steps past k: the rows before `reached` are filled.
  const std::int64_t reached = !state.complete  ? state.step
                               : trace.diverged ? trace.diverged_at
                                                : info.steps + 1;
  if (!state.complete && (state.step < 0 || state.step >= info.steps)) {
    fail("it stands at step " + std::to_string(state.step) + " of an unfinished run of " +
         std::to_string(info.steps) + " steps");
  }
  if (state.complete && state.step != info.steps) {
    fail("it marks the run finished at step " + std::to_string(state.step) + ", not at step " +
         std::to_string(info.steps));
  }
  if (trace.diverged != (trace.diverged_at >= 0) || (trace.diverged && !state.complete) ||
      trace.diverged_at > info.steps) {
    fail("its divergence fields (diverged " + std::to_string(trace.diverged) + " at step " +
         std::to_string(trace.diverged_at) + ") do not fit a run at step " +
         std::to_string(state.step));
  }
  const auto filled = static_cast<std::size_t>(
      std::lower_bound(logged.begin(), logged.end(), reached) - logged.begin());
  if (state.row != filled) {
    fail("it has " + std::to_string(state.row) + " logged rows where step " +
         std::to_string(reached) + " has " + std::to_string(filled));
  }
  for (std::size_t i = 0; i < rows; ++i) {
    if (std::isfinite(trace.loss[i]) != (i < filled)) {
      fail("its loss at logged step " + std::to_string(logged[i]) + " is " +
           std::to_string(trace.loss[i]) +
           (i < filled ? ", not a finite value" : ", not yet computed"));
    }
  }
  if (!std::isfinite(state.tail_sum) || (reached <= info.tail_begin && state.tail_sum != 0.0)) {
    fail("its tail sum " + std::to_string(state.tail_sum) + " does not fit step " +
         std::to_string(reached));
  }
  if (state.complete && !trace.diverged &&
      (trace.final_loss != trace.loss[rows - 1] || !std::isfinite(trace.tail_loss))) {
    fail("its final loss " + std::to_string(trace.final_loss) +
         " is not the loss it logged at the last step, " + std::to_string(trace.loss[rows - 1]));
  }
}

}  // namespace

void Checkpointing::restore(const std::filesystem::path& path, RunState& state) const {
  CheckpointReader in(read_checkpoint_file(path));
  RunTrace& trace = *state.trace;
  try {
    const std::string fingerprint = in.string();
    if (!same_configuration(fingerprint, settings_.fingerprint)) {
      throw ConfigError("resume", settings_.resume.string(),
                        "was written with a different configuration (" +
                            describe_difference(fingerprint, settings_.fingerprint) + ")");
    }
    const std::uint64_t ranks = in.u64();
    if (ranks != static_cast<std::uint64_t>(settings_.ranks)) {
      throw ConfigError("resume", settings_.resume.string(),
                        "was written by " + std::to_string(ranks) + " ranks, this job has " +
                            std::to_string(settings_.ranks));
    }
    if (in.u64() != static_cast<std::uint64_t>(settings_.rank) || in.u64() != state.run) {
      throw ConfigError("resume", path.string(), "holds another rank's or run's state");
    }
    const auto flag = [&in](const char* name) {
      const std::uint64_t value = in.u64();
      if (value > 1) {
        throw CheckpointError(std::string("its ") + name + " flag is " + std::to_string(value) +
                              ", not 0 or 1");
      }
      return value == 1;
    };
    state.step = static_cast<std::int64_t>(in.u64());
    state.complete = flag("complete");
    trace.loss = in.doubles();
    trace.grad_norm = in.doubles();
    trace.extra = in.doubles();
    state.row = in.u64();
    state.tail_sum = in.f64();
    trace.diverged = flag("diverged");
    trace.diverged_at = static_cast<std::int64_t>(in.u64()) - 1;
    trace.final_loss = in.f64();
    trace.tail_loss = in.f64();
    if (info_.logged_steps != nullptr) check_restored_state(state, info_);
    if (!state.complete && state.stepper != nullptr) state.stepper->load(in, state.step);
    if (in.remaining() != 0 && (state.complete || state.stepper != nullptr)) {
      throw CheckpointError(std::to_string(in.remaining()) + " bytes follow its last field");
    }
  } catch (const CheckpointError& e) {
    throw ConfigError("resume", path.string(),
                      std::string("does not describe a state of this configuration: ") + e.what());
  }
}

void Checkpointing::before_step(const RunState& state, bool stopping) {
  if (settings_.dir.empty()) return;
  const bool periodic =
      settings_.every > 0 && state.step > state.first_step && state.step % settings_.every == 0;
  if (stopping) {
    save(state, false);  // what the user will resume from: a failure must be reported
  } else if (periodic) {
    save_or_warn(state, false);
  }
}

void Checkpointing::end_run(const RunState& state) {
  if (settings_.dir.empty()) return;
  // A run restored complete from this very directory is there already.
  if (state.complete && settings_.dir == settings_.resume) return;
  save_or_warn(state, true);
}

void Checkpointing::save_or_warn(const RunState& state, bool complete) const {
  try {
    save(state, complete);
  } catch (const std::exception& e) {
    // Insurance, not results: a full disk must not cost the runs computed so far (the results
    // are in memory and small). Said once; a resume recomputes what has no checkpoint.
    if (!warned_.exchange(true)) {
      std::cerr << "dsignsgd: warning: cannot write a checkpoint (" << escape_for_terminal(e.what())
                << "); the job goes on, but an interruption would lose the runs since the last "
                   "checkpoint\n";
    }
  }
}

void Checkpointing::end_job(bool interrupted) {
  if (interrupted || settings_.dir.empty()) return;
  // The job is complete: its checkpoints have served their purpose. This rank removes the files
  // it wrote (and the directory once it is empty); a directory only read from stays.
  std::error_code ignored;
  for (int run = 0; run < info_.runs; ++run) {
    std::filesystem::remove(
        checkpoint_path(settings_.dir, static_cast<std::uint32_t>(run), settings_.rank), ignored);
  }
  // Only a directory the job made (or its own --resume directory): never one the user made.
  if (settings_.remove_dir_when_done) std::filesystem::remove(settings_.dir, ignored);  // if empty
}

}  // namespace dsignsgd
