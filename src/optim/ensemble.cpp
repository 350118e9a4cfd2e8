#include "dsignsgd/optim/ensemble.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/io/checkpoint.hpp"
#include "dsignsgd/optim/trainer.hpp"

namespace dsignsgd {

std::vector<std::int64_t> logged_steps(std::int64_t steps, std::int64_t every) {
  if (every <= 0) every = std::max<std::int64_t>(1, steps / 200);
  std::vector<std::int64_t> logged;
  for (std::int64_t k = 0; k < steps; k += every) logged.push_back(k);
  logged.push_back(steps);
  return logged;
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

/// Payload: fingerprint, ranks, rank, run, step, complete flag, trace, stepper state.
void save_checkpoint(const CheckpointOptions& c, std::uint32_t run, std::int64_t step,
                     bool complete, const RunTrace& trace, std::size_t row, double tail_sum,
                     const RunStepper* stepper) {
  CheckpointWriter out;
  out.string(c.fingerprint);
  out.u64(static_cast<std::uint64_t>(c.ranks));
  out.u64(static_cast<std::uint64_t>(c.rank));
  out.u64(run);
  out.u64(static_cast<std::uint64_t>(step));
  out.u64(complete ? 1 : 0);
  out.doubles(trace.loss);
  out.doubles(trace.grad_norm);
  out.doubles(trace.extra);
  out.u64(row);
  out.f64(tail_sum);
  out.u64(trace.diverged ? 1 : 0);
  out.u64(static_cast<std::uint64_t>(trace.diverged_at + 1));
  out.f64(trace.final_loss);
  out.f64(trace.tail_loss);
  if (!complete) stepper->save(out);
  std::filesystem::create_directories(c.dir);
  write_checkpoint_file(checkpoint_path(c.dir, run, c.rank), out.payload());
}

struct Resumed {
  bool found = false;
  bool complete = false;
  std::int64_t step = 0;
  std::size_t row = 0;
  double tail_sum = 0.0;
};

Resumed load_checkpoint(const CheckpointOptions& c, std::uint32_t run, RunTrace& trace,
                        RunStepper& stepper) {
  Resumed resumed;
  const std::filesystem::path path = checkpoint_path(c.resume, run, c.rank);
  if (!std::filesystem::exists(path)) return resumed;  // the run had not started
  CheckpointReader in(read_checkpoint_file(path));
  try {
    const std::string fingerprint = in.string();
    if (fingerprint != c.fingerprint) {
      throw ConfigError("resume", c.resume.string(),
                        "was written with a different configuration (" +
                            describe_difference(fingerprint, c.fingerprint) + ")");
    }
    const auto ranks = static_cast<int>(in.u64());
    if (ranks != c.ranks) {
      throw ConfigError("resume", c.resume.string(),
                        "was written by " + std::to_string(ranks) + " ranks, this job has " +
                            std::to_string(c.ranks));
    }
    if (static_cast<int>(in.u64()) != c.rank || in.u64() != run) {
      throw ConfigError("resume", path.string(), "holds another rank's or run's state");
    }
    resumed.found = true;
    resumed.step = static_cast<std::int64_t>(in.u64());
    resumed.complete = in.u64() == 1;
    trace.loss = in.doubles();
    trace.grad_norm = in.doubles();
    trace.extra = in.doubles();
    resumed.row = in.u64();
    resumed.tail_sum = in.f64();
    trace.diverged = in.u64() == 1;
    trace.diverged_at = static_cast<std::int64_t>(in.u64()) - 1;
    trace.final_loss = in.f64();
    trace.tail_loss = in.f64();
    if (!resumed.complete) stepper.load(in);
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const ConfigError*>(&e) != nullptr) throw;
    throw ConfigError("resume", path.string(), std::string("cannot be restored: ") + e.what());
  }
  return resumed;
}

}  // namespace

void run_ensemble(const TrainOptions& options, int threads, const RunFactory& factory,
                  TrainResult& result, const ProgressCallback& progress,
                  const CheckpointOptions* checkpoints) {
  if (checkpoints != nullptr && !checkpoints->resume.empty()) {
    // Refuse a directory written by more ranks than this job has, or one with nothing of ours.
    bool any = false;
    for (const auto& entry : std::filesystem::directory_iterator(checkpoints->resume)) {
      const std::string name = entry.path().filename().string();
      const auto at = name.find(".rank-");
      if (at == std::string::npos) continue;
      any = true;
      const int rank = std::atoi(name.c_str() + at + 6);
      if (rank >= checkpoints->ranks) {
        throw ConfigError("resume", checkpoints->resume.string(),
                          "holds checkpoints of rank " + std::to_string(rank) +
                              ", this job has only " + std::to_string(checkpoints->ranks) +
                              " rank(s)");
      }
    }
    if (!any) {
      throw ConfigError("resume", checkpoints->resume.string(), "holds no checkpoint files");
    }
  }
  std::atomic<bool> interrupted{false};
  const auto total_steps = static_cast<std::uint64_t>(options.steps);
  const double bound = options.divergence_factor * std::max(result.initial_loss, 1.0);
  const std::int64_t tail_length = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::ceil(options.tail_fraction * options.steps)));
  const std::int64_t tail_begin = options.steps - tail_length + 1;  // tail: k in [begin, K]

  result.runs.resize(static_cast<std::size_t>(options.runs));
  std::atomic<int> next_run{0};
  std::atomic<std::uint64_t> steps_done{0};

  const auto run_one = [&](std::uint32_t run) {
    RunTrace& trace = result.runs[run];
    const std::size_t rows = result.logged_steps.size();
    trace.loss.assign(rows, std::numeric_limits<double>::quiet_NaN());
    trace.grad_norm.assign(rows, std::numeric_limits<double>::quiet_NaN());
    const std::size_t extras = result.extra_metric_names.size();
    trace.extra.assign(rows * extras, std::numeric_limits<double>::quiet_NaN());
    const std::unique_ptr<RunStepper> stepper = factory(run);
    RunStepper& loop = *stepper;
    double tail_sum = 0.0;
    std::size_t row = 0;
    std::uint64_t reported = 0;
    std::int64_t first = 0;
    if (checkpoints != nullptr && !checkpoints->resume.empty()) {
      const Resumed resumed = load_checkpoint(*checkpoints, run, trace, loop);
      if (resumed.complete) {
        steps_done += total_steps;
        if (!checkpoints->dir.empty() && checkpoints->dir != checkpoints->resume) {
          save_checkpoint(*checkpoints, run, options.steps, true, trace, row, tail_sum, nullptr);
        }
        return;
      }
      first = resumed.step;
      row = resumed.row;
      tail_sum = resumed.tail_sum;
      steps_done += static_cast<std::uint64_t>(first);
      reported = static_cast<std::uint64_t>(first) & ~std::uint64_t{255};
      steps_done -= static_cast<std::uint64_t>(first) - reported;
    }
    const bool checkpointing = checkpoints != nullptr && !checkpoints->dir.empty();
    const bool stoppable = checkpoints != nullptr && checkpoints->should_stop;
    for (std::int64_t k = first; k <= options.steps; ++k) {
      if ((checkpointing || stoppable) && k < options.steps) {
        const bool stop = stoppable && checkpoints->should_stop(k);
        const bool periodic = checkpointing && checkpoints->every > 0 && k > first &&
                              k % checkpoints->every == 0;
        if (checkpointing && (stop || periodic)) {
          save_checkpoint(*checkpoints, run, k, false, trace, row, tail_sum, &loop);
        }
        if (stop) {
          interrupted = true;
          return;
        }
      }
      const bool logged = row < rows && result.logged_steps[row] == k;
      const double loss = loop.evaluate(logged);
      if (!std::isfinite(loss) || loss > bound) {
        trace.diverged = true;
        trace.diverged_at = k;
        break;
      }
      if (logged) {
        trace.loss[row] = loss;
        trace.grad_norm[row] = loop.grad_norm();
        if (extras > 0) {
          const std::vector<double> values = loop.extra_metrics();
          std::copy(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(extras),
                    trace.extra.begin() + static_cast<std::ptrdiff_t>(row * extras));
        }
        ++row;
      }
      if (k >= tail_begin) tail_sum += loss;
      if (k == options.steps) {
        trace.final_loss = loss;
        break;
      }
      loop.step(static_cast<std::uint32_t>(k));
      if ((k & 255) == 255) {
        steps_done += 256;
        reported += 256;
      }
    }
    trace.tail_loss = tail_sum / static_cast<double>(tail_length);
    steps_done += total_steps - reported;
    if (checkpointing) save_checkpoint(*checkpoints, run, options.steps, true, trace, row, tail_sum, nullptr);
  };

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  std::atomic<int> finished_threads{0};
  std::mutex finished_mutex;
  std::condition_variable finished;  // wakes the progress loop as soon as the work is done
  std::exception_ptr failure;
  std::mutex failure_mutex;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      try {
        for (int run = next_run++; run < options.runs && !interrupted; run = next_run++) {
          run_one(static_cast<std::uint32_t>(run));
        }
      } catch (...) {
        const std::lock_guard<std::mutex> lock(failure_mutex);
        failure = std::current_exception();
        next_run = options.runs;
      }
      {
        const std::lock_guard<std::mutex> lock(finished_mutex);
        ++finished_threads;
      }
      finished.notify_all();
    });
  }
  const std::uint64_t grand_total = total_steps * static_cast<std::uint64_t>(options.runs);
  while (progress && finished_threads.load() < threads) {
    progress(std::min(steps_done.load(), grand_total), grand_total);
    std::unique_lock<std::mutex> lock(finished_mutex);
    finished.wait_for(lock, std::chrono::milliseconds(100),
                      [&] { return finished_threads.load() >= threads; });
  }
  for (auto& worker : workers) worker.join();
  if (failure) std::rethrow_exception(failure);
  if (interrupted) {
    throw Interrupted(checkpoints->dir.empty()
                          ? std::string("stopped on request; no checkpoint was written (give --out "
                                        "or --checkpoint-dir to be able to resume)")
                          : "stopped on request; checkpoints written to " +
                                checkpoints->dir.string());
  }
  // The job is complete: its checkpoints have served their purpose. This rank removes the files
  // it wrote (and the directory once it is empty); a directory only read from (--resume) stays.
  if (checkpoints != nullptr && !checkpoints->dir.empty()) {
    std::error_code ignored;
    for (int run = 0; run < options.runs; ++run) {
      std::filesystem::remove(
          checkpoint_path(checkpoints->dir, static_cast<std::uint32_t>(run), checkpoints->rank),
          ignored);
    }
    std::filesystem::remove(checkpoints->dir, ignored);  // only succeeds when empty
  }
  if (progress) progress(grand_total, grand_total);
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace dsignsgd
