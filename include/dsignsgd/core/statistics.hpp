#pragma once
/// @file
/// Statistics of a sample of numbers (NaNs ignored): mean, standard deviation, standard error,
/// median and the 10 % / 90 % quantiles (linear interpolation).

#include <cstddef>
#include <string>
#include <vector>

namespace dsignsgd {

struct SampleStatistics {
  std::size_t count = 0;
  double mean = 0.0;
  double std = 0.0;      ///< sample standard deviation (n − 1)
  double stderr_ = 0.0;  ///< std / √count
  double median = 0.0;
  double p10 = 0.0;
  double p90 = 0.0;
};

/// NaN fields when no value is left. With one value std and stderr_ are 0 (no spread seen);
/// what is reported uses standard_error, which says "undefined".
SampleStatistics sample_statistics(std::vector<double> values);

/// The standard error where it is defined (two values or more), NaN otherwise: one run has no
/// spread to report, which is not a spread of 0.
double standard_error(const SampleStatistics& s);

/// "mean ± s.e." with the given significant digits, or "mean (1 value, no s.e.)" where the
/// standard error is undefined.
std::string mean_and_stderr(const SampleStatistics& s, int mean_digits, int stderr_digits);

}  // namespace dsignsgd
