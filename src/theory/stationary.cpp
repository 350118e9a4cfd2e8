#include "dsignsgd/theory/stationary.hpp"

#include <cmath>
#include <limits>

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
  // d/dm P(K = k) = ½ C(N,k) 2^(1−N) (2k − N)  (at p = ½), so κ = Σ_k C(N,k) 2^(−N) (2k − N) sign(2k − N)
  //   = E|2K − N| at p = ½.
  double kappa = 0.0;
  double log_binomial = 0.0;  // log C(N, k)
  for (int k = 0; k <= agents; ++k) {
    if (k > 0) log_binomial += std::log(static_cast<double>(agents - k + 1) / k);
    kappa += std::exp(log_binomial - agents * std::log(2.0)) * std::abs(2.0 * k - agents);
  }
  return kappa;
}

FloorPrediction majority_floor(const std::vector<double>& eigenvalues, double sigma, double ell,
                               int agents, double lr) {
  const double kappa = majority_vote_slope(agents);
  // The DSignSGD recursion with one agent and slope κ ℓ.
  return dsignsgd_floor(eigenvalues, sigma, kappa * ell, 1, lr);
}

}  // namespace dsignsgd
