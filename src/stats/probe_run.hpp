#pragma once
// Internal to stats/: the plain SGD run that noise-probe (noise_probe.cpp) and the local
// quadratic model (local_model.cpp) stop at chosen steps, and what both need to describe the
// draws they take there.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/optim/run_plan.hpp"
#include "dsignsgd/problems/oracle.hpp"
#include "dsignsgd/random/stream.hpp"
#include "dsignsgd/stats/noise_probe.hpp"

namespace dsignsgd::probe_detail {

inline double median(std::vector<double> values) {
  if (values.empty()) return std::nan("");
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

/// Up to `count` coordinates of [0, d), a fixed random subset in increasing order.
inline std::vector<std::size_t> probed_coordinates(std::size_t d, std::size_t count,
                                                   std::uint64_t seed) {
  std::vector<std::size_t> all(d);
  for (std::size_t j = 0; j < d; ++j) all[j] = j;
  if (count >= d) return all;
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kSetup});
  for (std::size_t i = 0; i < count; ++i) {  // partial Fisher–Yates
    const std::size_t j = i + rng.uniform_below(d - i);
    std::swap(all[i], all[j]);
  }
  all.resize(count);
  std::sort(all.begin(), all.end());
  return all;
}

/// Run indices of the streams the probes draw from: 0 is the SGD run itself, 1 + p the noise
/// draws of probe point p; the curvature probes' random vectors use their own.
inline constexpr std::uint32_t kCurvatureRun = 0x40000000u;

/// The source and one oracle of the plan's problem, and the iterate of a plain SGD run on it.
class ProbeRun {
 public:
  explicit ProbeRun(const RunPlan& plan)
      : plan_(plan), noise_(plan.noise, plan.agent_scales, plan.batch) {
    source_ = make_problem_source(plan, noise_, 1);
    oracle_ = source_->make_oracle(0);
    x_.resize(source_->dim());
    oracle_->initial_point(x_);
  }

  std::size_t dim() const { return x_.size(); }
  std::int64_t step() const { return step_; }
  const RunPlan& plan() const { return plan_; }
  std::span<const float> x() const { return x_; }

  /// Plain DSGD (the mean of the N agents' gradients, constant η) up to `target`.
  void advance_to(std::int64_t target) {
    std::vector<float> g(dim()), mean(dim());
    for (; step_ < target; ++step_) {
      double unused = 0.0;
      const double loss = oracle_->evaluate(x_, false, unused);
      if (!std::isfinite(loss)) {
        throw ConfigError("lr", format_double(plan_.lr),
                          "the probe's SGD diverged before step " + std::to_string(step_) +
                              "; lower --lr or probe earlier (--at)");
      }
      std::fill(mean.begin(), mean.end(), 0.0f);
      for (int i = 0; i < plan_.workers; ++i) {
        oracle_->agent_gradient(x_, static_cast<std::uint32_t>(i), address(0, i, step_), g);
        for (std::size_t j = 0; j < dim(); ++j) mean[j] += g[j];
      }
      const auto scale = static_cast<float>(plan_.lr / plan_.workers);
      for (std::size_t j = 0; j < dim(); ++j) x_[j] -= scale * mean[j];
    }
  }

  /// The loss the run reports at the current iterate.
  double loss() {
    double unused = 0.0;
    return oracle_->evaluate(x_, false, unused);
  }

  /// Agent `draw mod N`'s minibatch gradient at the current iterate, from the stream of probe
  /// `probe` (fresh minibatches for every draw); after loss() or draw() at this iterate.
  void draw_one(std::uint32_t probe, int draw, std::span<float> g) {
    const int agent = draw % plan_.workers;
    oracle_->agent_gradient(x_, static_cast<std::uint32_t>(agent),
                            address(1 + probe, agent, static_cast<std::int64_t>(draw)), g);
  }

  /// `draws` agents' minibatch gradients at the current iterate (agent m mod N, fresh streams),
  /// restricted to `coordinates`: draws × coordinates, row-major.
  /// `visit`, when given, sees each whole gradient.
  std::vector<double> draw(int draws, const std::vector<std::size_t>& coordinates,
                           std::uint32_t probe, double& loss_here,
                           const std::function<void(std::span<const float>)>& visit = {}) {
    loss_here = loss();
    std::vector<float> g(dim());
    std::vector<double> out(static_cast<std::size_t>(draws) * coordinates.size());
    for (int m = 0; m < draws; ++m) {
      draw_one(probe, m, g);
      if (visit) visit(g);
      for (std::size_t c = 0; c < coordinates.size(); ++c) {
        out[static_cast<std::size_t>(m) * coordinates.size() + c] = g[coordinates[c]];
      }
    }
    return out;
  }

  /// H v at the current iterate, H the Hessian of the loss the run reports (exact, or on its
  /// fixed evaluation rows: GradientOracle::loss_gradient), by central differences
  /// (∇f(x + εv) − ∇f(x − εv)) / 2ε. The step puts ‖εv‖ at 10⁻³ max(1, ‖x‖/√d) √d: small against
  /// the weights, large against fp32 rounding.
  void hessian_vector(std::span<const float> v, std::span<double> out) {
    double v_norm = 0.0, x_norm = 0.0;
    for (std::size_t j = 0; j < dim(); ++j) {
      v_norm += double(v[j]) * v[j];
      x_norm += double(x_[j]) * x_[j];
    }
    const double root_d = std::sqrt(static_cast<double>(dim()));
    const double epsilon =
        1e-3 * std::max(1.0, std::sqrt(x_norm) / root_d) * root_d / std::sqrt(v_norm);
    std::vector<float> point(dim()), g(dim());
    std::fill(out.begin(), out.end(), 0.0);
    for (const double sign : {1.0, -1.0}) {
      for (std::size_t j = 0; j < dim(); ++j) {
        point[j] = static_cast<float>(x_[j] + sign * epsilon * v[j]);
      }
      oracle_->loss_gradient(point, g);
      const double scale = sign / (2.0 * epsilon);
      for (std::size_t j = 0; j < dim(); ++j) out[j] += double(g[j]) * scale;
    }
  }

 private:
  StreamAddress address(std::uint32_t run, int agent, std::int64_t step) const {
    return {plan_.seed, run, static_cast<std::uint32_t>(agent), static_cast<std::uint32_t>(step),
            StreamPurpose::kGradientNoise};
  }

  const RunPlan& plan_;
  NoiseModel noise_;
  std::unique_ptr<ProblemSource> source_;
  std::unique_ptr<GradientOracle> oracle_;
  std::vector<float> x_;
  std::int64_t step_ = 0;
};

/// Per probed coordinate: the draws' mean and variance, and the fitted law's scale σ_j (its
/// robust scale times the pooled law's factor; 0 for a coordinate whose draws are mostly one
/// value — no shape).
struct CoordinateNoise {
  std::vector<double> mean, variance, law_scale;
};

/// Describes draws × coordinates gradients (noise_probe.cpp); fills `per_coordinate` when given.
NoisePoint describe_draws(const std::vector<double>& g, int draws, std::size_t coordinates,
                          double top_fraction, CoordinateNoise* per_coordinate = nullptr);

/// noise-probe's points on `run` (advanced to each of options.at in turn; noise_probe.cpp).
std::vector<NoisePoint> probe_points(ProbeRun& run, const NoiseProbeOptions& options);

}  // namespace dsignsgd::probe_detail
