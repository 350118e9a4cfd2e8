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

}  // namespace dsignsgd
