#include "dsignsgd/optim/callbacks.hpp"

#include <cstdlib>
#include <vector>

#include <nlohmann/json.hpp>

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

/// Keys whose values differ between two resolved configurations, as "key: a → b".
std::string describe_difference(const std::string& before, const std::string& now) {
  const nlohmann::json a = nlohmann::json::parse(before, nullptr, false);
  const nlohmann::json b = nlohmann::json::parse(now, nullptr, false);
  if (a.is_discarded() || b.is_discarded()) return "the configurations differ";
  std::string text;
  for (const auto& [key, value] : b.items()) {
    if (!a.contains(key) || a[key] != value) {
      text += (text.empty() ? "" : ", ") + key + ": " + (a.contains(key) ? a[key].dump() : "∅") +
              " → " + value.dump();
    }
  }
  return text.empty() ? "the configurations differ" : text;
}

}  // namespace

void Checkpointing::begin_job(const EnsembleInfo& info) {
  steps_ = info.steps;
  runs_ = info.runs;
  if (settings_.resume.empty()) return;
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
                            ", this job has only " + std::to_string(settings_.ranks) +
                            " rank(s)");
    }
  }
  if (!any) throw ConfigError("resume", settings_.resume.string(), "holds no checkpoint files");
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
  CheckpointReader in(read_checkpoint_file(path));
  RunTrace& trace = *state.trace;
  try {
    const std::string fingerprint = in.string();
    if (fingerprint != settings_.fingerprint) {
      throw ConfigError("resume", settings_.resume.string(),
                        "was written with a different configuration (" +
                            describe_difference(fingerprint, settings_.fingerprint) + ")");
    }
    const auto ranks = static_cast<int>(in.u64());
    if (ranks != settings_.ranks) {
      throw ConfigError("resume", settings_.resume.string(),
                        "was written by " + std::to_string(ranks) + " ranks, this job has " +
                            std::to_string(settings_.ranks));
    }
    if (static_cast<int>(in.u64()) != settings_.rank || in.u64() != state.run) {
      throw ConfigError("resume", path.string(), "holds another rank's or run's state");
    }
    state.step = static_cast<std::int64_t>(in.u64());
    state.complete = in.u64() == 1;
    trace.loss = in.doubles();
    trace.grad_norm = in.doubles();
    trace.extra = in.doubles();
    state.row = in.u64();
    state.tail_sum = in.f64();
    trace.diverged = in.u64() == 1;
    trace.diverged_at = static_cast<std::int64_t>(in.u64()) - 1;
    trace.final_loss = in.f64();
    trace.tail_loss = in.f64();
    if (!state.complete) state.stepper->load(in);
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const ConfigError*>(&e) != nullptr) throw;
    throw ConfigError("resume", path.string(), std::string("cannot be restored: ") + e.what());
  }
}

void Checkpointing::before_step(const RunState& state, bool stopping) {
  if (settings_.dir.empty()) return;
  const bool periodic = settings_.every > 0 && state.step > state.first_step &&
                        state.step % settings_.every == 0;
  if (stopping || periodic) save(state, false);
}

void Checkpointing::end_run(const RunState& state) {
  if (settings_.dir.empty()) return;
  // A run restored complete from this very directory is there already.
  if (state.complete && settings_.dir == settings_.resume) return;
  save(state, true);
}

void Checkpointing::end_job(bool interrupted) {
  if (interrupted || settings_.dir.empty()) return;
  // The job is complete: its checkpoints have served their purpose. This rank removes the files
  // it wrote (and the directory once it is empty); a directory only read from stays.
  std::error_code ignored;
  for (int run = 0; run < runs_; ++run) {
    std::filesystem::remove(
        checkpoint_path(settings_.dir, static_cast<std::uint32_t>(run), settings_.rank), ignored);
  }
  std::filesystem::remove(settings_.dir, ignored);  // only succeeds when empty
}

}  // namespace dsignsgd
