#pragma once
/// @file
/// Where agents' stochastic gradients come from. The step loop asks an oracle, once per step,
/// for the loss it reports at x (and ‖∇f‖), then for each of its agents' gradients:
///   SyntheticOracle  exact ∇f of a Problem plus the injected noise of a NoiseModel
///   DatasetOracle    (nn/) a model's minibatch gradient on the agent's shard of a data set,
///                    optionally plus injected noise (the papers' protocol)
/// One oracle per run (it may hold per-run scratch); the shared parts are read-only.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/problems/problem.hpp"
#include "dsignsgd/random/stream.hpp"

namespace dsignsgd {

class GradientOracle {
 public:
  virtual ~GradientOracle() = default;
  virtual std::size_t dim() const = 0;
  /// Writes the starting point.
  virtual void initial_point(std::span<float> x) const = 0;
  /// The loss reported at x and, when `want_grad_norm` (or when the noise needs it), ‖∇f(x)‖
  /// (exact, or estimated on a fixed evaluation batch; NaN when skipped); prepares
  /// agent_gradient at the same x.
  virtual double evaluate(std::span<const float> x, bool want_grad_norm, double& grad_norm) = 0;
  /// Agent `agent`'s stochastic gradient at x; all randomness from `address` (gradient noise
  /// purpose, keyed by seed, run, agent and step).
  virtual void agent_gradient(std::span<const float> x, std::uint32_t agent,
                              const StreamAddress& address, std::span<float> out) = 0;
  /// The gradient of the loss evaluate() reports (exact, or on the same fixed evaluation batch),
  /// written to `out`; returns that loss. Deterministic in x: what curvature probes difference
  /// (stats/local_model.hpp). Leaves agent_gradient prepared at the last x evaluate() saw.
  virtual double loss_gradient(std::span<const float> x, std::span<float> out) = 0;
  /// Extra metrics at logged steps (for data sets: test loss and accuracy), named by
  /// metric_names() of the factory that made the oracle.
  virtual std::vector<double> metrics(std::span<const float> /*x*/) { return {}; }
};

/// Exact gradient of a synthetic problem plus injected noise.
class SyntheticOracle final : public GradientOracle {
 public:
  SyntheticOracle(const Problem& problem, const NoiseModel& noise, double x0)
      : problem_(problem), noise_(noise), x0_(x0), grad_(problem.dim()) {}
  std::size_t dim() const override { return problem_.dim(); }
  void initial_point(std::span<float> x) const override;
  double evaluate(std::span<const float> x, bool want_grad_norm, double& grad_norm) override;
  void agent_gradient(std::span<const float> x, std::uint32_t agent, const StreamAddress& address,
                      std::span<float> out) override;
  double loss_gradient(std::span<const float> x, std::span<float> out) override {
    return problem_.loss_and_gradient(x, out) - problem_.optimal_loss();
  }

 private:
  const Problem& problem_;
  const NoiseModel& noise_;
  double x0_;
  std::vector<float> grad_;
  double grad_norm_ = 0.0;
};

}  // namespace dsignsgd
