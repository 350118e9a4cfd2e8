#include "dsignsgd/core/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace dsignsgd {
namespace {

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::nan("");
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto lower = static_cast<std::size_t>(std::floor(position));
  const std::size_t upper = std::min(lower + 1, sorted.size() - 1);
  const double fraction = position - static_cast<double>(lower);
  return sorted[lower] + fraction * (sorted[upper] - sorted[lower]);
}

}  // namespace

SampleStatistics sample_statistics(std::vector<double> values) {
  std::erase_if(values, [](double v) { return std::isnan(v); });
  SampleStatistics s;
  s.count = values.size();
  if (values.empty()) {
    s.mean = s.std = s.stderr_ = s.median = s.p10 = s.p90 = std::nan("");
    return s;
  }
  double sum = 0.0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(values.size());
  double squares = 0.0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std = values.size() > 1 ? std::sqrt(squares / static_cast<double>(values.size() - 1)) : 0.0;
  s.stderr_ = s.std / std::sqrt(static_cast<double>(values.size()));
  std::sort(values.begin(), values.end());
  s.median = quantile(values, 0.5);
  s.p10 = quantile(values, 0.1);
  s.p90 = quantile(values, 0.9);
  return s;
}

double standard_error(const SampleStatistics& s) {
  return s.count > 1 ? s.stderr_ : std::nan("");
}

std::string mean_and_stderr(const SampleStatistics& s, int mean_digits, int stderr_digits) {
  char buffer[96];
  if (s.count > 1) {
    std::snprintf(buffer, sizeof(buffer), "%.*g ± %.*g", mean_digits, s.mean, stderr_digits,
                  s.stderr_);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.*g (%zu value%s, no s.e.)", mean_digits, s.mean,
                  s.count, s.count == 1 ? "" : "s");
  }
  return buffer;
}

}  // namespace dsignsgd
