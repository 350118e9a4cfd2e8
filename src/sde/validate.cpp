#include "dsignsgd/sde/validate.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "dsignsgd/core/build_info.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/random/batch.hpp"
#include "dsignsgd/version.hpp"

namespace dsignsgd {
namespace {

double time_of_step(const TrainResult& result, std::int64_t step) {
  return result.plan.lr * static_cast<double>(step);  // constant schedule (validated)
}

/// Each surviving run's loss curve minus the ensemble mean, scaled by 1/R: rows × runs.
std::vector<std::vector<double>> centred_curves(const TrainResult& result) {
  std::vector<const RunTrace*> live;
  for (const RunTrace& run : result.runs) {
    if (!run.diverged) live.push_back(&run);
  }
  const std::size_t rows = result.logged_steps.size();
  std::vector<std::vector<double>> out(rows, std::vector<double>(live.size()));
  for (std::size_t k = 0; k < rows; ++k) {
    double mean = 0.0;
    for (const RunTrace* run : live) mean += run->loss[k];
    mean /= static_cast<double>(live.size());
    for (std::size_t r = 0; r < live.size(); ++r) {
      out[k][r] = (live[r]->loss[k] - mean) / static_cast<double>(live.size());
    }
  }
  return out;
}

/// The surviving runs' loss curves: runs × rows.
std::vector<const std::vector<double>*> live_curves(const TrainResult& result) {
  std::vector<const std::vector<double>*> out;
  for (const RunTrace& run : result.runs) {
    if (!run.diverged) out.push_back(&run.loss);
  }
  return out;
}

/// max_k |mean a(k) − mean b(k)| over a resample (with replacement) of each side's runs.
double resampled_weak_error(const std::vector<const std::vector<double>*>& a,
                            const std::vector<const std::vector<double>*>& b, std::size_t rows,
                            RandomStream& rng, std::vector<double>& mean_a,
                            std::vector<double>& mean_b) {
  const auto mean_of = [&](const std::vector<const std::vector<double>*>& runs,
                           std::vector<double>& mean) {
    std::fill(mean.begin(), mean.end(), 0.0);
    for (std::size_t r = 0; r < runs.size(); ++r) {
      const std::vector<double>& curve = *runs[uniform_below(rng, runs.size())];
      for (std::size_t k = 0; k < rows; ++k) mean[k] += curve[k];
    }
    for (double& m : mean) m /= static_cast<double>(runs.size());
  };
  mean_of(a, mean_a);
  mean_of(b, mean_b);
  double worst = 0.0;
  for (std::size_t k = 0; k < rows; ++k) worst = std::max(worst, std::abs(mean_a[k] - mean_b[k]));
  return worst;
}

/// Least-squares slope of log error against log η.
double fitted_order(const std::vector<double>& lrs, const std::vector<double>& errors) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double n = static_cast<double>(lrs.size());
  for (std::size_t i = 0; i < lrs.size(); ++i) {
    const double x = std::log(lrs[i]);
    const double y = std::log(std::max(errors[i], 1e-300));
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

/// The fitted order's bootstrap (runs resampled at every level, `draws` times): its standard
/// deviation and its 5 % and 95 % quantiles.
void bootstrap_order(ValidateResult& out, std::uint64_t seed, int draws) {
  struct Level {
    std::vector<const std::vector<double>*> algorithm, sde;
    std::size_t rows = 0;
  };
  std::vector<Level> levels;
  std::vector<double> lrs;
  for (const ValidateLevel& level : out.levels) {
    Level l{live_curves(level.algorithm), live_curves(level.sde.result),
            std::min(level.algorithm.logged_steps.size(), level.sde.result.logged_steps.size())};
    if (l.algorithm.empty() || l.sde.empty() || l.rows == 0) return;  // nothing to resample
    levels.push_back(std::move(l));
    lrs.push_back(level.lr);
  }
  RandomStream rng(StreamAddress{seed, 1, 0, 0, StreamPurpose::kBootstrap});
  std::vector<double> orders, errors(levels.size()), mean_a, mean_b;
  for (int draw = 0; draw < draws; ++draw) {
    for (std::size_t i = 0; i < levels.size(); ++i) {
      mean_a.resize(levels[i].rows);
      mean_b.resize(levels[i].rows);
      errors[i] = resampled_weak_error(levels[i].algorithm, levels[i].sde, levels[i].rows, rng,
                                       mean_a, mean_b);
    }
    orders.push_back(fitted_order(lrs, errors));
  }
  double mean = 0.0, square = 0.0;
  for (double o : orders) mean += o / draws;
  for (double o : orders) square += (o - mean) * (o - mean) / (draws - 1);
  out.order_stderr = std::sqrt(square);
  std::sort(orders.begin(), orders.end());
  out.order_low = orders[static_cast<std::size_t>(0.05 * (draws - 1))];
  out.order_high = orders[static_cast<std::size_t>(0.95 * (draws - 1))];
}

/// The SDE side by Richardson extrapolation (ValidateOptions::extrapolate): every path run with
/// M and 2M substeps from the same Brownian bridge, its losses combined as
/// (2^p l_2M − l_M) / (2^p − 1). A path counts as diverged when either integration diverged.
SdeResult extrapolated_sde(const RunPlan& plan, const SdePlan& sde, const Callbacks& callbacks) {
  SdePlan fine_plan = sde;
  fine_plan.substeps = 2 * sde.substeps;
  const SdeResult coarse = simulate_sde(plan, sde, callbacks);
  SdeResult fine = simulate_sde(plan, fine_plan, callbacks);
  const double w = std::ldexp(1.0, fine.weak_order);
  const auto combine = [w](double f, double c) { return (w * f - c) / (w - 1.0); };
  for (std::size_t r = 0; r < fine.result.runs.size(); ++r) {
    RunTrace& run = fine.result.runs[r];
    const RunTrace& other = coarse.result.runs[r];
    run.diverged = run.diverged || other.diverged;
    for (std::size_t k = 0; k < run.loss.size(); ++k) {
      run.loss[k] = combine(run.loss[k], other.loss[k]);
    }
    run.final_loss = combine(run.final_loss, other.final_loss);
    run.tail_loss = combine(run.tail_loss, other.tail_loss);
  }
  return fine;
}

}  // namespace

double null_max_gap_quantile(const TrainResult& a, const TrainResult& b, std::uint64_t seed,
                             int draws) {
  const std::vector<std::vector<double>> ca = centred_curves(a);
  const std::vector<std::vector<double>> cb = centred_curves(b);
  const std::size_t rows = std::min(ca.size(), cb.size());
  if (rows == 0 || ca[0].empty() || cb[0].empty()) return std::nan("");
  const std::size_t ra = ca[0].size(), rb = cb[0].size();
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kBootstrap});
  std::vector<float> weights(ra + rb);
  std::vector<double> maxima(static_cast<std::size_t>(draws));
  for (double& maximum : maxima) {
    fill_standard_normal(rng, weights);
    maximum = 0.0;
    for (std::size_t k = 0; k < rows; ++k) {
      double gap = 0.0;
      for (std::size_t r = 0; r < ra; ++r) gap += weights[r] * ca[k][r];
      for (std::size_t r = 0; r < rb; ++r) gap -= weights[ra + r] * cb[k][r];
      maximum = std::max(maximum, std::abs(gap));
    }
  }
  const auto at = static_cast<std::size_t>(std::ceil(0.95 * draws)) - 1;
  std::nth_element(maxima.begin(), maxima.begin() + static_cast<std::ptrdiff_t>(at), maxima.end());
  return maxima[at];
}

void ValidateOptions::validate() const {
  if (levels < 2 || levels > 8) {
    throw ConfigError("levels", std::to_string(levels), "must be in [2, 8]");
  }
}

void ValidateOptions::validate(const SdePlan& sde) const {
  if (extrapolate && 2 * sde.substeps > kMaxSubsteps) {
    throw ConfigError("substeps", std::to_string(sde.substeps),
                      "must be ≤ " + std::to_string(kMaxSubsteps / 2) +
                          " with extrapolation (it also integrates with twice as many; "
                          "--extrapolation none to integrate once)");
  }
}

void ValidateOptions::validate(const RunPlan& plan) const {
  validate();
  if (plan.schedule.kind != ScheduleKind::kConst || plan.schedule.warmup != 0) {
    throw ConfigError("schedule", to_string(plan.schedule.kind),
                      "validate compares at equal times t = k η and needs --schedule const "
                      "without warm-up");
  }
  const std::int64_t finest = plan.steps << (levels - 1);  // steps < 2^32, levels ≤ 8: no overflow
  if (finest >= std::int64_t{1} << 32) {
    throw ConfigError("steps", std::to_string(plan.steps),
                      "times 2^(levels − 1) = " + std::to_string(finest) +
                          " steps at the finest level, which must be < 2^32 (give fewer --steps "
                          "or --levels)");
  }
}

ValidateResult validate_sde(const TrainOptions& options, const SdeOptions& sde,
                            const ValidateOptions& validate, const Callbacks& callbacks) {
  const RunPlan plan = make_run_plan(options);
  return validate_sde(plan, SdePlan::resolve(sde, plan), validate, callbacks);
}

ValidateResult validate_sde(const RunPlan& plan, const SdePlan& sde,
                            const ValidateOptions& validate, const Callbacks& callbacks) {
  validate.validate(plan);
  validate.validate(sde);
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
    result.sde = validate.extrapolate ? extrapolated_sde(p, sde, callbacks)
                                      : simulate_sde(p, sde, callbacks);
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
    result.null_threshold = null_max_gap_quantile(result.algorithm, result.sde.result,
                                                  plan.seed + static_cast<std::uint64_t>(level));
    result.resolved = std::isfinite(result.weak_error) && result.weak_error > result.null_threshold;
    out.resolved = out.resolved && result.resolved;
    out.levels.push_back(std::move(result));
  }
  std::vector<double> lrs, errors;
  for (const ValidateLevel& level : out.levels) {
    lrs.push_back(level.lr);
    errors.push_back(level.weak_error);
  }
  out.order = fitted_order(lrs, errors);
  out.errors_resolved = out.resolved;
  bootstrap_order(out, plan.seed, 400);
  // The order is told apart from one half a unit away only when its 90 % interval is narrower
  // than that: otherwise it is reported with its interval, unresolved.
  out.order_resolved = std::isfinite(out.order_low) && out.order_high - out.order_low < kOrderWidth;
  out.resolved = out.errors_resolved && out.order_resolved;
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
          << ',' << a.mean << ',' << a.mean - 1.96 * a.stderr_ << ',' << a.mean + 1.96 * a.stderr_
          << ',' << b.mean << ',' << b.mean - 1.96 * b.stderr_ << ',' << b.mean + 1.96 * b.stderr_
          << '\n';
    }
  }
  return csv.str();
}

nlohmann::json validate_json(const ValidateResult& result, const SdePlan& sde,
                             const ValidateOptions& validate) {
  nlohmann::json etas = nlohmann::json::array();
  nlohmann::json errors = nlohmann::json::array();
  nlohmann::json stderrs = nlohmann::json::array();
  nlohmann::json times = nlohmann::json::array();
  nlohmann::json thresholds = nlohmann::json::array();
  for (const ValidateLevel& level : result.levels) {
    etas.push_back(level.lr);
    errors.push_back(level.weak_error);
    stderrs.push_back(level.weak_error_stderr);
    times.push_back(level.weak_error_time);
    thresholds.push_back(level.null_threshold);
  }
  const ValidateLevel& first = result.levels.front();
  return {{"command", "validate"},
          {"version", kVersion},
          {"git_commit", kGitCommit},
          {"cpu_level", cpu_level_name()},
          {"config", plan_json(first.algorithm.plan)},
          {"sde",
           {{"model", first.sde.model},
            {"covariance", first.sde.covariance},
            {"integrator", first.sde.integrator},
            {"substeps", sde.substeps},
            {"extrapolation", validate.extrapolate ? "richardson" : "none"},
            {"drift_correction", to_string(sde.drift_correction)}}},
          {"eta", etas},
          {"weak_error", errors},
          {"weak_error_stderr", stderrs},
          {"weak_error_time", times},
          {"null_threshold", thresholds},
          {"order", result.order},
          {"order_stderr", result.order_stderr},
          {"order_interval", {result.order_low, result.order_high}},
          {"errors_resolved", result.errors_resolved},
          {"order_resolved", result.order_resolved},
          {"resolved", result.resolved},
          {"note",
           "weak_error[i] = max over logged times t of |mean f(x_k) − mean f(X_t)| at "
           "eta[i]; null_threshold[i] = its 95 % quantile if algorithm and SDE agreed "
           "(multiplier bootstrap over the runs); errors_resolved = every weak error is above "
           "its threshold; order_stderr and order_interval (5 %, 95 %) from resampling the "
           "runs at every level; order_resolved = that interval is narrower than 0.5 (it tells "
           "order 1 from 0.5); resolved = both"}};
}

}  // namespace dsignsgd
