#include "dsignsgd/optim/ensemble.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>

#include "dsignsgd/optim/trainer.hpp"

namespace dsignsgd {

std::vector<std::int64_t> logged_steps(std::int64_t steps, std::int64_t every) {
  if (every <= 0) every = std::max<std::int64_t>(1, steps / 200);
  std::vector<std::int64_t> logged;
  for (std::int64_t k = 0; k < steps; k += every) logged.push_back(k);
  logged.push_back(steps);
  return logged;
}

void run_ensemble(const TrainOptions& options, int threads, const RunFactory& factory,
                  TrainResult& result, const ProgressCallback& progress) {
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
    const std::unique_ptr<RunStepper> stepper = factory(run);
    RunStepper& loop = *stepper;
    double tail_sum = 0.0;
    std::size_t row = 0;
    std::uint64_t reported = 0;
    for (std::int64_t k = 0; k <= options.steps; ++k) {
      const double loss = loop.evaluate();
      if (!std::isfinite(loss) || loss > bound) {
        trace.diverged = true;
        trace.diverged_at = k;
        break;
      }
      if (row < rows && result.logged_steps[row] == k) {
        trace.loss[row] = loss;
        trace.grad_norm[row] = loop.grad_norm();
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
  };

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  std::atomic<int> finished_threads{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      try {
        for (int run = next_run++; run < options.runs; run = next_run++) {
          run_one(static_cast<std::uint32_t>(run));
        }
      } catch (...) {
        const std::lock_guard<std::mutex> lock(failure_mutex);
        failure = std::current_exception();
        next_run = options.runs;
      }
      ++finished_threads;
    });
  }
  const std::uint64_t grand_total = total_steps * static_cast<std::uint64_t>(options.runs);
  while (progress && finished_threads.load() < threads) {
    progress(std::min(steps_done.load(), grand_total), grand_total);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (auto& worker : workers) worker.join();
  if (failure) std::rethrow_exception(failure);
  if (progress) progress(grand_total, grand_total);
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace dsignsgd
