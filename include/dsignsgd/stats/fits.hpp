#pragma once
/// @file
/// Fits the reproduction experiments judge claims with: log-log slopes with their standard
/// errors, and Hill's tail-index estimator.

#include <cstddef>
#include <vector>

namespace dsignsgd {

/// Least-squares slope of log y against log x, with its standard error from the residuals.
struct SlopeFit {
  double slope = 0.0;
  double stderr_ = 0.0;
};
SlopeFit fit_log_log_slope(const std::vector<double>& x, const std::vector<double>& y);

/// A claimed log-log slope holds when the fitted slope is within max(tolerance, 3 s.e.) of it.
bool slope_claim_holds(const SlopeFit& fit, double claimed, double tolerance);

/// Hill's estimator of the tail index α of positive samples (P(X > x) ~ x^−α) from the largest
/// top_fraction of them, with its asymptotic standard error α/√k. NaN with fewer than 10 in the top.
struct TailIndex {
  double alpha = 0.0;
  double stderr_ = 0.0;
  std::size_t used = 0;
};
TailIndex hill_tail_index(std::vector<double> samples, double top_fraction);

/// Maximum-likelihood fit of a centred Student-t law, z ~ s·t_ν, to samples: the degrees of
/// freedom ν and the scale s with their standard errors from the observed information (Newton's
/// method on (log ν, log s) with a line search). Under the t model it is unbiased to first order,
/// where Hill's estimator on the top few per cent carries the law's second-order bias (−7 % at
/// ν = 3, top 2 %). ν is capped at kStudentNuCap (a Gaussian sample runs there); `converged` is
/// false when Newton's method did not settle. Fewer than 100 finite samples: NaN.
struct StudentTFit {
  double nu = 0.0;
  double nu_stderr = 0.0;
  double scale = 0.0;
  double scale_stderr = 0.0;
  bool converged = false;
};
inline constexpr double kStudentNuCap = 1000.0;
StudentTFit fit_student_t(std::vector<double> samples);

}  // namespace dsignsgd
