#include "dsignsgd/optim/step_rule.hpp"

#include <algorithm>
#include <cmath>

namespace dsignsgd {

double NormalizedStep::step(double scheduled, std::span<const float> direction) const {
  return scheduled / std::max(l2_norm(direction), floor_);
}

AdaptiveNormalizedStep::AdaptiveNormalizedStep(const AdaptiveStepConstants& k)
    : l0_(k.l0), l1_(k.l1) {
  const auto d = static_cast<double>(k.dim);
  const auto n = static_cast<double>(k.agents);
  const double s0 = k.sigma0 * k.sigma0;
  const double s1 = k.sigma1 * k.sigma1;
  a_ = 1.0 + (k.omega + d * (s1 * k.omega + s1)) / n;
  c_ = k.l1 * d * (s0 + s0 * k.omega) / n;
}

double AdaptiveNormalizedStep::step(double scheduled, std::span<const float> direction) const {
  return scheduled / (a_ * (l0_ + l1_ * l2_norm(direction)) + c_);
}

}  // namespace dsignsgd
