#include "dsignsgd/theory/stationary.hpp"

#include <cmath>
#include <limits>

#include "dsignsgd/sde/integrator.hpp"
#include "dsignsgd/sde/sde_model.hpp"

namespace dsignsgd {
namespace {

/// Σ_j η s² c / (2N (2 − η λ_j a)) with stability check.
FloorPrediction linear_recursion_floor(const std::vector<double>& eigenvalues, double numerator,
                                       double curvature_factor, int agents, double lr) {
  FloorPrediction prediction;
  for (double lambda : eigenvalues) {
    const double contraction = lr * lambda * curvature_factor;
    if (!(contraction > 0.0 && contraction < 2.0)) {
      prediction.stable = false;
      prediction.value = std::numeric_limits<double>::infinity();
      return prediction;
    }
    prediction.value += lr * numerator / (2.0 * agents * (2.0 - contraction));
  }
  return prediction;
}

}  // namespace

FloorPrediction dsgd_floor(const std::vector<double>& eigenvalues, double noise_variance,
                           int agents, double lr) {
  return linear_recursion_floor(eigenvalues, noise_variance, 1.0, agents, lr);
}

FloorPrediction dcsgd_randk_floor(const std::vector<double>& eigenvalues, double noise_variance,
                                  double omega, int agents, double lr) {
  return linear_recursion_floor(eigenvalues, noise_variance * (1.0 + omega), 1.0 + omega / agents,
                                agents, lr);
}

FloorPrediction dsignsgd_floor(const std::vector<double>& eigenvalues, double sigma, double ell,
                               int agents, double lr) {
  FloorPrediction prediction;
  for (double lambda : eigenvalues) {
    const double contraction = lr * ell * lambda / sigma;
    if (!(contraction > 0.0 && contraction < 2.0)) {
      prediction.stable = false;
      prediction.value = std::numeric_limits<double>::infinity();
      return prediction;
    }
    prediction.value += lr * sigma / (2.0 * ell * agents * (2.0 - contraction));
  }
  return prediction;
}

double majority_vote_slope(int agents) {
  // E[sign S] = Σ_k P(K = k) sign(2k − N), K ~ Binomial(N, (1 + m)/2). Its derivative at m = 0:
  // d/dm P(K = k) = ½ C(N,k) 2^(1−N) (2k − N)  (at p = ½), so κ = Σ_k C(N,k) 2^(−N) (2k − N)
  // sign(2k − N)
  //   = E|2K − N| at p = ½.
  double kappa = 0.0;
  double log_binomial = 0.0;  // log C(N, k)
  for (int k = 0; k <= agents; ++k) {
    if (k > 0) log_binomial += std::log(static_cast<double>(agents - k + 1) / k);
    kappa += std::exp(log_binomial - agents * std::log(2.0)) * std::abs(2.0 * k - agents);
  }
  return kappa;
}

double majority_tie_probability(int agents) {
  if (agents % 2 != 0) return 0.0;
  double log_binomial = 0.0;  // log C(N, N/2)
  for (int k = 1; k <= agents / 2; ++k) {
    log_binomial += std::log(static_cast<double>(agents / 2 + k) / k);
  }
  return std::exp(log_binomial - agents * std::log(2.0));
}

FloorPrediction majority_floor(const std::vector<double>& eigenvalues, double sigma, double ell,
                               int agents, double lr) {
  const double kappa = majority_vote_slope(agents);
  // The DSignSGD recursion with one agent and slope κ ℓ.
  return dsignsgd_floor(eigenvalues, sigma, kappa * ell, 1, lr);
}

FloorPrediction gradient_sde_floor(const std::vector<double>& eigenvalues, double noise_variance,
                                   double omega, int agents, double lr, DriftCorrection correction,
                                   int substeps, IntegratorKind integrator) {
  const bool platen = integrator == IntegratorKind::kPlaten2 && substeps > 0;
  if (platen && omega != 0.0) return {std::nan(""), true};
  const double c = correction == DriftCorrection::kClassic     ? 1.0
                   : correction == DriftCorrection::kStability ? -1.0
                                                               : 0.0;
  const double q = lr * (1.0 + omega) * noise_variance / agents;
  FloorPrediction prediction;
  for (double lambda : eigenvalues) {
    const double z = lr * lambda;
    const double a = lambda * (1.0 + c * z / 2.0);
    const double p = lr * omega * lambda * lambda / agents;
    double denominator;  // E X² = q / denominator
    if (substeps == 0) {
      denominator = 2.0 * a - p;
    } else if (platen) {
      const double h = lr / substeps;
      const double ah = a * h;
      const double multiplier = 1.0 - ah + ah * ah / 2.0;
      denominator = (1.0 - multiplier * multiplier) / (h * (1.0 - ah / 2.0) * (1.0 - ah / 2.0));
    } else {
      const double h = lr / substeps;
      denominator = (1.0 - (1.0 - a * h) * (1.0 - a * h) - p * h) / h;
    }
    if (!(denominator > 0.0)) {
      prediction.stable = false;
      prediction.value = std::numeric_limits<double>::infinity();
      return prediction;
    }
    prediction.value += lambda * q / denominator / 2.0;
  }
  return prediction;
}

}  // namespace dsignsgd
