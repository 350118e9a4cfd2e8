#include "dsignsgd/stats/fits.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

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

}  // namespace dsignsgd
