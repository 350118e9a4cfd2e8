#include "dsignsgd/stats/fits.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/trigamma.hpp>

namespace dsignsgd {

SlopeFit fit_log_log_slope(const std::vector<double>& x, const std::vector<double>& y) {
  const auto n = static_cast<double>(x.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double lx = std::log(x[i]), ly = std::log(y[i]);
    sx += lx;
    sy += ly;
    sxx += lx * lx;
    sxy += lx * ly;
  }
  SlopeFit fit;
  const double denominator = n * sxx - sx * sx;
  fit.slope = (n * sxy - sx * sy) / denominator;
  const double intercept = (sy - fit.slope * sx) / n;
  double residual = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double r = std::log(y[i]) - intercept - fit.slope * std::log(x[i]);
    residual += r * r;
  }
  fit.stderr_ = x.size() > 2 ? std::sqrt(residual / (n - 2) * n / denominator) : 0.0;
  return fit;
}

bool slope_claim_holds(const SlopeFit& fit, double claimed, double tolerance) {
  return std::abs(fit.slope - claimed) <= std::max(tolerance, 3.0 * fit.stderr_);
}

TailIndex hill_tail_index(std::vector<double> samples, double top_fraction) {
  TailIndex out;
  std::erase_if(samples, [](double v) { return !(v > 0.0) || !std::isfinite(v); });
  const auto k = static_cast<std::size_t>(top_fraction * static_cast<double>(samples.size()));
  if (k < 10 || k >= samples.size()) {
    out.alpha = out.stderr_ = std::nan("");
    return out;
  }
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(k),
                   samples.end(), std::greater<>());
  const double threshold = samples[k];  // the (k+1)-th largest
  double sum = 0.0;
  for (std::size_t i = 0; i < k; ++i) sum += std::log(samples[i] / threshold);
  out.alpha = static_cast<double>(k) / sum;
  out.stderr_ = out.alpha / std::sqrt(static_cast<double>(k));
  out.used = k;
  return out;
}

namespace {

/// The log-likelihood of z ~ s·t_ν at (ν, s), its gradient and Hessian in (log ν, log s).
struct StudentTLikelihood {
  double value = 0.0;
  double gradient[2] = {0.0, 0.0};
  double hessian[2][2] = {{0.0, 0.0}, {0.0, 0.0}};
};

StudentTLikelihood student_t_likelihood(const std::vector<double>& z, double nu, double scale) {
  using boost::math::digamma;
  using boost::math::trigamma;
  const auto n = static_cast<double>(z.size());
  // Σ over samples of the terms that depend on u = (z/s)²: log(1 + u/ν), u/(ν+u), u/(ν+u)².
  double sum_log = 0.0, sum_ratio = 0.0, sum_ratio_sq = 0.0;
  const double inverse_scale_sq = 1.0 / (scale * scale);
  for (double v : z) {
    const double u = v * v * inverse_scale_sq;
    sum_log += std::log1p(u / nu);
    const double r = u / (nu + u);
    sum_ratio += r;
    sum_ratio_sq += r * r;
  }
  StudentTLikelihood out;
  const double log_normalizer = std::lgamma(0.5 * (nu + 1.0)) - std::lgamma(0.5 * nu) -
                                0.5 * std::log(nu * M_PI) - std::log(scale);
  out.value = n * log_normalizer - 0.5 * (nu + 1.0) * sum_log;
  // With r = u/(ν+u): ∂ℓ/∂ log s = Σ(−1 + (ν+1) r); ∂ℓ/∂ν = n c'(ν) − ½ Σ log(1+u/ν) +
  // (ν+1)/(2ν) Σ r, c(ν) = log Γ((ν+1)/2) − log Γ(ν/2) − ½ log ν. The second derivatives use
  // ∂r/∂ log s = −2 r (1−r) and ∂r/∂ν = −r (1−r)/ν; they are taken in ν, then moved to log ν.
  const double c1 = 0.5 * digamma(0.5 * (nu + 1.0)) - 0.5 * digamma(0.5 * nu) - 0.5 / nu;
  const double c2 = 0.25 * trigamma(0.5 * (nu + 1.0)) - 0.25 * trigamma(0.5 * nu) + 0.5 / (nu * nu);
  const double sum_r_one_minus_r = sum_ratio - sum_ratio_sq;  // Σ r (1 − r)
  const double d_b = -n + (nu + 1.0) * sum_ratio;
  const double d_nu = n * c1 - 0.5 * sum_log + (nu + 1.0) / (2.0 * nu) * sum_ratio;
  const double d_bb = -2.0 * (nu + 1.0) * sum_r_one_minus_r;
  // ∂/∂ν of [(ν+1) r] = r − (ν+1) r(1−r)/ν, so ∂²ℓ/∂ν∂ log s = Σ r − (ν+1)/ν Σ r(1−r).
  const double d_nu_b = sum_ratio - (nu + 1.0) / nu * sum_r_one_minus_r;
  // ∂/∂ν of −½ log(1+u/ν) = r/(2ν); of (ν+1) r/(2ν) = −r/(2ν²) − (ν+1) r(1−r)/(2ν²).
  const double d_nu_nu = n * c2 + sum_ratio / (2.0 * nu) - sum_ratio / (2.0 * nu * nu) -
                         (nu + 1.0) * sum_r_one_minus_r / (2.0 * nu * nu);
  out.gradient[0] = nu * d_nu;
  out.gradient[1] = d_b;
  out.hessian[0][0] = nu * nu * d_nu_nu + nu * d_nu;
  out.hessian[0][1] = out.hessian[1][0] = nu * d_nu_b;
  out.hessian[1][1] = d_bb;
  return out;
}

}  // namespace

StudentTFit fit_student_t(std::vector<double> z) {
  StudentTFit fit;
  std::erase_if(z, [](double v) { return !std::isfinite(v); });
  if (z.size() < 100) {
    fit.nu = fit.nu_stderr = fit.scale = fit.scale_stderr = std::nan("");
    return fit;
  }
  // Start: ν = 3 and the scale of t_3 whose median |z| matches the sample's (quartile 0.765).
  // The likelihood is a sum: the order of z does not matter, so the median is taken in place.
  const auto middle = z.begin() + static_cast<std::ptrdiff_t>(z.size() / 2);
  std::nth_element(z.begin(), middle, z.end(),
                   [](double a, double b) { return std::abs(a) < std::abs(b); });
  const double median_magnitude = std::abs(*middle);
  double log_nu = std::log(3.0);
  double log_scale = std::log(median_magnitude > 0.0 ? median_magnitude / 0.765 : 1.0);
  const double log_cap = std::log(kStudentNuCap), log_floor = std::log(0.05);
  StudentTLikelihood at = student_t_likelihood(z, std::exp(log_nu), std::exp(log_scale));
  for (int iteration = 0; iteration < 100; ++iteration) {
    const double(&h)[2][2] = at.hessian;
    const double det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
    double step[2];
    if (h[0][0] < 0.0 && det > 0.0) {  // concave here: Newton's step
      step[0] = -(h[1][1] * at.gradient[0] - h[0][1] * at.gradient[1]) / det;
      step[1] = -(h[0][0] * at.gradient[1] - h[1][0] * at.gradient[0]) / det;
    } else {  // gradient ascent scaled by the sample size
      step[0] = at.gradient[0] / static_cast<double>(z.size());
      step[1] = at.gradient[1] / static_cast<double>(z.size());
    }
    for (double& s : step) s = std::clamp(s, -1.0, 1.0);
    double length = 1.0;
    StudentTLikelihood next;
    double next_nu = log_nu, next_scale = log_scale;
    // Each trial carries its derivatives: the accepted one (usually the first) is the next point.
    for (int halving = 0; halving < 40; ++halving, length *= 0.5) {
      next_nu = std::clamp(log_nu + length * step[0], log_floor, log_cap);
      next_scale = log_scale + length * step[1];
      next = student_t_likelihood(z, std::exp(next_nu), std::exp(next_scale));
      if (next.value >= at.value) break;
    }
    const double moved = std::max(std::abs(next_nu - log_nu), std::abs(next_scale - log_scale));
    log_nu = next_nu;
    log_scale = next_scale;
    at = next;
    if (moved < 1e-7) {
      fit.converged = true;
      break;
    }
  }
  fit.nu = std::exp(log_nu);
  fit.scale = std::exp(log_scale);
  // Standard errors from the inverse observed information in (log ν, log s), by the delta method.
  const double(&h)[2][2] = at.hessian;
  const double det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
  const bool informative = h[0][0] < 0.0 && det > 0.0 && log_nu < log_cap;
  fit.nu_stderr = informative ? fit.nu * std::sqrt(-h[1][1] / det) : INFINITY;
  fit.scale_stderr = informative ? fit.scale * std::sqrt(-h[0][0] / det) : INFINITY;
  return fit;
}

}  // namespace dsignsgd
