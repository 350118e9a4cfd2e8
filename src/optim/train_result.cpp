#include "dsignsgd/optim/train_result.hpp"

#include <cmath>
#include <cstdarg>
#include <cstdio>

#include "dsignsgd/optim/ensemble.hpp"

namespace dsignsgd {
namespace {

/// printf into a std::string.
std::string format(const char* pattern, ...) {
  char buffer[512];
  va_list args;
  va_start(args, pattern);
  std::vsnprintf(buffer, sizeof buffer, pattern, args);
  va_end(args);
  return buffer;
}

}  // namespace

std::string to_string(Termination termination) {
  switch (termination) {
    case Termination::kCompleted:
      return "ok";
    case Termination::kSomeDiverged:
      return "some_diverged";
    case Termination::kAllDiverged:
      return "all_diverged";
    case Termination::kStoppedEarly:
      return "stopped_early";
  }
  return "?";
}

double TrainResult::epochs() const {
  if (training_samples == 0) return 0.0;
  return static_cast<double>(plan.steps) * plan.workers * plan.batch /
         static_cast<double>(training_samples);
}

double TrainResult::seconds_per_epoch() const {
  const double e = epochs();
  if (e <= 0.0) return 0.0;
  // `threads` runs advance at once; each run's epochs cost wall × threads / runs.
  return wall_seconds * threads / (static_cast<double>(plan.runs) * e);
}

Termination TrainResult::termination() const {
  int diverged = 0;
  bool stopped = false;
  for (const RunTrace& run : runs) {
    diverged += run.diverged ? 1 : 0;
    stopped = stopped || run.stopped_at >= 0;
  }
  if (diverged > 0 && diverged == static_cast<int>(runs.size())) return Termination::kAllDiverged;
  if (diverged > 0) return Termination::kSomeDiverged;
  return stopped ? Termination::kStoppedEarly : Termination::kCompleted;
}

SampleStatistics loss_statistics(const TrainResult& result, std::size_t row) {
  std::vector<double> values;
  values.reserve(result.runs.size());
  for (const RunTrace& run : result.runs) values.push_back(run.loss[row]);
  return sample_statistics(std::move(values));
}

SampleStatistics final_metric_statistics(const TrainResult& result, std::size_t metric) {
  const std::size_t extras = result.extra_metric_names.size();
  const std::size_t row = result.logged_steps.size() - 1;
  std::vector<double> values;
  for (const RunTrace& run : result.runs) values.push_back(run.extra[row * extras + metric]);
  return sample_statistics(values);
}

LossSummary summarize_loss(const TrainResult& result) {
  LossSummary summary;
  std::vector<double> finals;
  std::vector<double> tails;
  for (const RunTrace& run : result.runs) {
    if (run.diverged) {
      ++summary.diverged_runs;
      continue;
    }
    finals.push_back(run.final_loss);
    tails.push_back(run.tail_loss);
  }
  summary.final_loss = sample_statistics(finals);
  summary.tail_loss = sample_statistics(tails);
  return summary;
}

std::string brief_report(const TrainResult& result) {
  const RunPlan& p = result.plan;
  const LossSummary loss = summarize_loss(result);
  std::string out = format("%s with %s on %s, d = %zu, N = %d, noise %s, %d runs × %lld steps "
                           "(%.2f s)\n",
                           p.method->name.c_str(), p.compressor->name().c_str(),
                           result.problem_description.c_str(), result.dim, p.workers,
                           p.noise.to_string().c_str(), p.runs,
                           static_cast<long long>(p.steps), result.wall_seconds);
  out += format("  final loss  %s\n", mean_and_stderr(loss.final_loss, 6, 2).c_str());
  out += format("  tail loss   %s  (last %g%% of steps)\n",
                mean_and_stderr(loss.tail_loss, 6, 2).c_str(), 100 * p.tail_fraction);
  out += format("  diverged    %d of %d runs\n", loss.diverged_runs, p.runs);
  out += format("  uplink      %.4g bits/coordinate/step per agent\n",
                static_cast<double>(result.uplink_bits_per_step) / static_cast<double>(result.dim));
  if (result.training_samples > 0) {
    out += format("  epochs      %.3g per run, %.3g s per epoch\n", result.epochs(),
                  result.seconds_per_epoch());
    const std::size_t extras = result.extra_metric_names.size();
    if (extras > 0 && !result.logged_steps.empty()) {
      std::string line;
      for (std::size_t m = 0; m < extras; ++m) {
        const SampleStatistics s = final_metric_statistics(result, m);
        line += format("%s%s %.4g", m ? ", " : "", result.extra_metric_names[m].c_str(), s.mean);
      }
      out += "  final       " + line + "\n";
    }
  }
  return out;
}

void describe_run(std::size_t d, const std::string& description, double initial_loss,
                  const MethodParts& parts, const RunPlan& plan, TrainResult& result) {
  result.dim = d;
  result.problem_description = description;
  result.omega = parts.compressor->omega(d);
  result.logged_steps = logged_steps(plan.steps, plan.log_every);
  result.uplink_bits_per_step = parts.compressor->wire_bits(d);
  result.downlink_bits_per_step = parts.aggregator->downlink_bits(
      d, static_cast<std::size_t>(plan.workers), *parts.compressor);
  result.initial_loss = initial_loss;
}

}  // namespace dsignsgd
