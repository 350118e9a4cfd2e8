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

namespace {

/// One ensemble: R runs of `factory`'s steppers on a pool of threads, their traces written into
/// `result`, the callbacks told at every stage (optim/callbacks.hpp).
class EnsembleRunner {
 public:
  EnsembleRunner(const RunPlan& plan, int threads, const RunFactory& factory, TrainResult& result,
                 const Callbacks& callbacks)
      : plan_(plan),
        threads_(threads),
        factory_(factory),
        result_(result),
        callbacks_(callbacks),
        tail_length_(std::max<std::int64_t>(
            1, static_cast<std::int64_t>(std::ceil(plan.tail_fraction * plan.steps)))),
        tail_begin_(plan.steps - tail_length_ + 1),  // tail: k in [begin, K]
        total_steps_(static_cast<std::uint64_t>(plan.steps)),
        bound_(plan.divergence_factor * std::max(result.initial_loss, 1.0)),
        extras_(result.extra_metric_names.size()) {}

  void run() {
    const EnsembleInfo info{plan_.steps, plan_.runs, &result_.logged_steps, extras_, tail_begin_,
                            &factory_};
    for (EnsembleCallback* callback : callbacks_) callback->begin_job(info);
    result_.runs.resize(static_cast<std::size_t>(plan_.runs));
    const auto start = std::chrono::steady_clock::now();
    run_on_threads();
    for (EnsembleCallback* callback : callbacks_) callback->end_job(interrupted_);
    if (interrupted_) throw Interrupted("stopped on request");
    report(grand_total());
    result_.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  std::uint64_t grand_total() const {
    return total_steps_ * static_cast<std::uint64_t>(plan_.runs);
  }
  void report(std::uint64_t done) {
    for (EnsembleCallback* callback : callbacks_) callback->progress(done, grand_total());
  }

  /// The threads take runs in order until none is left; this thread reports progress meanwhile.
  void run_on_threads() {
    std::vector<std::thread> workers;
    for (int t = 0; t < threads_; ++t) workers.emplace_back([this] { work(); });
    while (!callbacks_.empty() && finished_threads_.load() < threads_) {
      report(std::min(steps_done_.load(), grand_total()));
      std::unique_lock<std::mutex> lock(finished_mutex_);
      finished_.wait_for(lock, std::chrono::milliseconds(100),
                         [&] { return finished_threads_.load() >= threads_; });
    }
    for (auto& worker : workers) worker.join();
    if (failure_) std::rethrow_exception(failure_);
  }

  void work() {
    try {
      for (int run = next_run_++; run < plan_.runs && !interrupted_; run = next_run_++) {
        run_one(static_cast<std::uint32_t>(run));
      }
    } catch (...) {
      const std::lock_guard<std::mutex> lock(failure_mutex_);
      failure_ = std::current_exception();
      next_run_ = plan_.runs;
    }
    {
      const std::lock_guard<std::mutex> lock(finished_mutex_);
      ++finished_threads_;
    }
    finished_.notify_all();  // wakes the progress loop as soon as the work is done
  }

  void run_one(std::uint32_t run) {
    RunTrace& trace = result_.runs[run];
    const std::size_t rows = result_.logged_steps.size();
    trace.loss.assign(rows, std::numeric_limits<double>::quiet_NaN());
    trace.grad_norm.assign(rows, std::numeric_limits<double>::quiet_NaN());
    trace.extra.assign(rows * extras_, std::numeric_limits<double>::quiet_NaN());
    const std::unique_ptr<RunStepper> stepper = factory_(run);
    RunState state;
    state.run = run;
    state.trace = &trace;
    state.stepper = stepper.get();
    for (EnsembleCallback* callback : callbacks_) callback->begin_run(state);
    if (state.complete) {  // restored a finished run
      trace.first_step = plan_.steps;
      steps_done_ += total_steps_;
      for (EnsembleCallback* callback : callbacks_) callback->end_run(state);
      return;
    }
    state.first_step = state.step;
    trace.first_step = state.step;
    if (!step_until_done(state, *stepper)) return;  // stopped on request
    for (EnsembleCallback* callback : callbacks_) callback->end_run(state);
  }

  /// Steps one run from state.step to the end, a divergence or an early end; false when a
  /// callback asked the job to stop.
  bool step_until_done(RunState& state, RunStepper& loop) {
    RunTrace& trace = *state.trace;
    // Progress counts in blocks of 256 steps; a resumed run starts at its block.
    const auto first = static_cast<std::uint64_t>(state.step);
    std::uint64_t reported = first & ~std::uint64_t{255};
    steps_done_ += reported;
    std::int64_t tail_seen = std::max<std::int64_t>(0, state.step - tail_begin_);
    for (std::int64_t k = state.step; k <= plan_.steps; ++k) {
      state.step = k;
      if (k < plan_.steps && !callbacks_.empty() && stop_before_step(state)) return false;
      const bool logged = state.row < result_.logged_steps.size() &&
                          result_.logged_steps[state.row] == k;
      const double loss = loop.evaluate(logged);
      if (!std::isfinite(loss) || loss > bound_) {
        trace.diverged = true;
        trace.diverged_at = k;
        break;
      }
      if (logged) log_row(state, loop, loss);
      if (k >= tail_begin_) {
        state.tail_sum += loss;
        ++tail_seen;
      }
      if (k == plan_.steps) {
        trace.final_loss = loss;
        break;
      }
      if (end_early(state, loss)) {
        trace.stopped_at = k;
        trace.final_loss = loss;
        break;
      }
      loop.step(static_cast<std::uint32_t>(k));
      if ((k & 255) == 255) {
        steps_done_ += 256;
        reported += 256;
      }
    }
    // A run stopped early averages the tail steps it reached (its final loss if none).
    trace.tail_loss = trace.stopped_at < 0 ? state.tail_sum / static_cast<double>(tail_length_)
                      : tail_seen > 0     ? state.tail_sum / static_cast<double>(tail_seen)
                                          : trace.final_loss;
    steps_done_ += total_steps_ - reported;
    state.step = plan_.steps;
    return true;
  }

  /// Asks every callback whether to stop, then lets each act before the step (checkpoints).
  bool stop_before_step(const RunState& state) {
    bool stop = false;
    for (EnsembleCallback* callback : callbacks_) stop = callback->stop_requested(state) || stop;
    for (EnsembleCallback* callback : callbacks_) callback->before_step(state, stop);
    if (stop) interrupted_ = true;
    return stop;
  }

  bool end_early(const RunState& state, double loss) {
    bool end = false;
    for (EnsembleCallback* callback : callbacks_) end = callback->end_run_early(state, loss) || end;
    return end;
  }

  void log_row(RunState& state, RunStepper& loop, double loss) {
    RunTrace& trace = *state.trace;
    trace.loss[state.row] = loss;
    trace.grad_norm[state.row] = loop.grad_norm();
    if (extras_ > 0) {
      const std::vector<double> values = loop.extra_metrics();
      std::copy(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(extras_),
                trace.extra.begin() + static_cast<std::ptrdiff_t>(state.row * extras_));
    }
    ++state.row;
  }

  const RunPlan& plan_;
  const int threads_;
  const RunFactory& factory_;
  TrainResult& result_;
  const Callbacks& callbacks_;
  const std::int64_t tail_length_;
  const std::int64_t tail_begin_;
  const std::uint64_t total_steps_;
  const double bound_;
  const std::size_t extras_;

  std::atomic<bool> interrupted_{false};
  std::atomic<int> next_run_{0};
  std::atomic<std::uint64_t> steps_done_{0};
  std::atomic<int> finished_threads_{0};
  std::mutex finished_mutex_;
  std::condition_variable finished_;
  std::exception_ptr failure_;
  std::mutex failure_mutex_;
};

}  // namespace

void run_ensemble(const RunPlan& plan, int threads, const RunFactory& factory, TrainResult& result,
                  const Callbacks& callbacks) {
  EnsembleRunner(plan, threads, factory, result, callbacks).run();
}

}  // namespace dsignsgd
