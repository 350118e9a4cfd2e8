#include "dsignsgd/optim/ensemble.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>

namespace dsignsgd {

std::vector<std::int64_t> logged_steps(std::int64_t steps, std::int64_t every) {
  if (every <= 0) every = std::max<std::int64_t>(1, steps / 200);
  std::vector<std::int64_t> logged;
  for (std::int64_t k = 0; k < steps; k += every) logged.push_back(k);
  logged.push_back(steps);
  return logged;
}

void run_ensemble(const RunPlan& plan, int threads, const RunFactory& factory, TrainResult& result,
                  const Callbacks& callbacks) {
  const std::int64_t tail_length = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::ceil(plan.tail_fraction * plan.steps)));
  const std::int64_t tail_begin = plan.steps - tail_length + 1;  // tail: k in [begin, K]
  const EnsembleInfo info{plan.steps, plan.runs, &result.logged_steps,
                          result.extra_metric_names.size(), tail_begin, &factory};
  for (EnsembleCallback* callback : callbacks) callback->begin_job(info);
  std::atomic<bool> interrupted{false};
  const auto total_steps = static_cast<std::uint64_t>(plan.steps);
  const double bound = plan.divergence_factor * std::max(result.initial_loss, 1.0);

  result.runs.resize(static_cast<std::size_t>(plan.runs));
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
    RunState state;
    state.run = run;
    state.trace = &trace;
    state.stepper = &loop;
    for (EnsembleCallback* callback : callbacks) callback->begin_run(state);
    if (state.complete) {  // restored a finished run
      trace.first_step = plan.steps;
      steps_done += total_steps;
      for (EnsembleCallback* callback : callbacks) callback->end_run(state);
      return;
    }
    state.first_step = state.step;
    trace.first_step = state.step;
    // Progress counts in blocks of 256 steps; a resumed run starts at its block.
    const auto first = static_cast<std::uint64_t>(state.step);
    std::uint64_t reported = first & ~std::uint64_t{255};
    steps_done += reported;
    std::int64_t tail_seen = std::max<std::int64_t>(0, state.step - tail_begin);
    for (std::int64_t k = state.step; k <= plan.steps; ++k) {
      state.step = k;
      if (k < plan.steps && !callbacks.empty()) {
        bool stop = false;
        for (EnsembleCallback* callback : callbacks) stop = callback->stop_requested(state) || stop;
        for (EnsembleCallback* callback : callbacks) callback->before_step(state, stop);
        if (stop) {
          interrupted = true;
          return;
        }
      }
      const bool logged = state.row < rows && result.logged_steps[state.row] == k;
      const double loss = loop.evaluate(logged);
      if (!std::isfinite(loss) || loss > bound) {
        trace.diverged = true;
        trace.diverged_at = k;
        break;
      }
      if (logged) {
        trace.loss[state.row] = loss;
        trace.grad_norm[state.row] = loop.grad_norm();
        if (extras > 0) {
          const std::vector<double> values = loop.extra_metrics();
          std::copy(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(extras),
                    trace.extra.begin() + static_cast<std::ptrdiff_t>(state.row * extras));
        }
        ++state.row;
      }
      if (k >= tail_begin) {
        state.tail_sum += loss;
        ++tail_seen;
      }
      if (k == plan.steps) {
        trace.final_loss = loss;
        break;
      }
      bool end_early = false;
      for (EnsembleCallback* callback : callbacks) {
        end_early = callback->end_run_early(state, loss) || end_early;
      }
      if (end_early) {
        trace.stopped_at = k;
        trace.final_loss = loss;
        break;
      }
      loop.step(static_cast<std::uint32_t>(k));
      if ((k & 255) == 255) {
        steps_done += 256;
        reported += 256;
      }
    }
    // A run stopped early averages the tail steps it reached (its final loss if none).
    trace.tail_loss = trace.stopped_at < 0 ? state.tail_sum / static_cast<double>(tail_length)
                      : tail_seen > 0     ? state.tail_sum / static_cast<double>(tail_seen)
                                          : trace.final_loss;
    steps_done += total_steps - reported;
    state.step = plan.steps;
    for (EnsembleCallback* callback : callbacks) callback->end_run(state);
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
        for (int run = next_run++; run < plan.runs && !interrupted; run = next_run++) {
          run_one(static_cast<std::uint32_t>(run));
        }
      } catch (...) {
        const std::lock_guard<std::mutex> lock(failure_mutex);
        failure = std::current_exception();
        next_run = plan.runs;
      }
      {
        const std::lock_guard<std::mutex> lock(finished_mutex);
        ++finished_threads;
      }
      finished.notify_all();
    });
  }
  const std::uint64_t grand_total = total_steps * static_cast<std::uint64_t>(plan.runs);
  const auto report = [&](std::uint64_t done) {
    for (EnsembleCallback* callback : callbacks) callback->progress(done, grand_total);
  };
  while (!callbacks.empty() && finished_threads.load() < threads) {
    report(std::min(steps_done.load(), grand_total));
    std::unique_lock<std::mutex> lock(finished_mutex);
    finished.wait_for(lock, std::chrono::milliseconds(100),
                      [&] { return finished_threads.load() >= threads; });
  }
  for (auto& worker : workers) worker.join();
  if (failure) std::rethrow_exception(failure);
  for (EnsembleCallback* callback : callbacks) callback->end_job(interrupted);
  if (interrupted) throw Interrupted("stopped on request");
  report(grand_total);
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace dsignsgd
