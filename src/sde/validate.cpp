#include "dsignsgd/sde/validate.hpp"

#include <cmath>
#include <sstream>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/version.hpp"

namespace dsignsgd {
namespace {

double time_of_step(const TrainResult& result, std::int64_t step) {
  return result.plan.lr * static_cast<double>(step);  // constant schedule (validated)
}

}  // namespace

void ValidateOptions::validate() const {
  if (levels < 2 || levels > 8) {
    throw ConfigError("levels", std::to_string(levels), "must be in [2, 8]");
  }
}

ValidateResult validate_sde(const TrainOptions& options, const SdeOptions& sde,
                            const ValidateOptions& validate, const Callbacks& callbacks) {
  const RunPlan plan = make_run_plan(options);
  return validate_sde(plan, SdePlan::resolve(sde, plan), validate, callbacks);
}

ValidateResult validate_sde(const RunPlan& plan, const SdePlan& sde,
                            const ValidateOptions& validate, const Callbacks& callbacks) {
  validate.validate();
  if (plan.schedule.kind != ScheduleKind::kConst || plan.schedule.warmup != 0) {
    throw ConfigError("schedule", to_string(plan.schedule.kind),
                      "validate compares at equal times t = k η and needs --schedule const "
                      "without warm-up");
  }
  // About 50 rows unless --log-every was given.
  const std::int64_t rows = plan.log_every_given ? plan.steps / plan.log_every : 50;
  const std::int64_t every =
      std::max<std::int64_t>(1, plan.steps / std::max<std::int64_t>(rows, 1));
  ValidateResult out;
  for (int level = 0; level < validate.levels; ++level) {
    const std::int64_t factor = std::int64_t{1} << level;
    RunPlan p = plan;
    p.lr = plan.lr / static_cast<double>(factor);
    p.steps = plan.steps * factor;
    p.log_every = every * factor;  // the same times at every level
    p.log_every_given = true;
    ValidateLevel result;
    result.lr = p.lr;
    result.steps = p.steps;
    result.algorithm = train(p, callbacks);
    result.sde = simulate_sde(p, sde, callbacks);
    const auto& steps = result.algorithm.logged_steps;
    for (std::size_t row = 0; row < steps.size(); ++row) {
      const SampleStatistics a = loss_statistics(result.algorithm, row);
      const SampleStatistics b = loss_statistics(result.sde.result, row);
      const double difference = std::abs(a.mean - b.mean);
      if (!(difference <= result.weak_error)) {  // NaN (all diverged) propagates
        result.weak_error = difference;
        result.weak_error_stderr = std::hypot(a.stderr_, b.stderr_);
        result.weak_error_time = time_of_step(result.algorithm, steps[row]);
      }
    }
    if (result.weak_error < 2.0 * result.weak_error_stderr || !std::isfinite(result.weak_error)) {
      out.resolved = false;
    }
    out.levels.push_back(std::move(result));
  }
  // Least squares slope of log e against log η.
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double n = static_cast<double>(out.levels.size());
  for (const ValidateLevel& level : out.levels) {
    const double x = std::log(level.lr);
    const double y = std::log(std::max(level.weak_error, 1e-300));
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  out.order = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return out;
}

std::string validate_csv(const ValidateResult& result) {
  std::ostringstream csv;
  csv << "time,eta,step,algorithm_mean,algorithm_lo,algorithm_hi,sde_mean,sde_lo,sde_hi\n";
  csv.precision(9);
  for (const ValidateLevel& level : result.levels) {
    const auto& steps = level.algorithm.logged_steps;
    for (std::size_t row = 0; row < steps.size(); ++row) {
      const SampleStatistics a = loss_statistics(level.algorithm, row);
      const SampleStatistics b = loss_statistics(level.sde.result, row);
      csv << level.lr * static_cast<double>(steps[row]) << ',' << level.lr << ',' << steps[row]
          << ',' << a.mean << ',' << a.mean - 1.96 * a.stderr_ << ','
          << a.mean + 1.96 * a.stderr_ << ',' << b.mean << ',' << b.mean - 1.96 * b.stderr_ << ','
          << b.mean + 1.96 * b.stderr_ << '\n';
    }
  }
  return csv.str();
}

nlohmann::json validate_json(const ValidateResult& result, const SdePlan& sde) {
  nlohmann::json etas = nlohmann::json::array();
  nlohmann::json errors = nlohmann::json::array();
  nlohmann::json stderrs = nlohmann::json::array();
  nlohmann::json times = nlohmann::json::array();
  for (const ValidateLevel& level : result.levels) {
    etas.push_back(level.lr);
    errors.push_back(level.weak_error);
    stderrs.push_back(level.weak_error_stderr);
    times.push_back(level.weak_error_time);
  }
  const ValidateLevel& first = result.levels.front();
  return {{"command", "validate"},
          {"version", kVersion},
          {"git_commit", kGitCommit},
          {"config", plan_json(first.algorithm.plan)},
          {"sde",
           {{"model", first.sde.model},
            {"covariance", first.sde.covariance},
            {"integrator", first.sde.integrator},
            {"substeps", sde.substeps},
            {"drift_correction", to_string(sde.drift_correction)}}},
          {"eta", etas},
          {"weak_error", errors},
          {"weak_error_stderr", stderrs},
          {"weak_error_time", times},
          {"order", result.order},
          {"resolved", result.resolved},
          {"note", "weak_error[i] = max over logged times t of |mean f(x_k) − mean f(X_t)| at "
                   "eta[i]; resolved = every weak error is above 2 standard errors"}};
}

}  // namespace dsignsgd
