#pragma once
/// @file
/// Statistics of a sample of numbers (NaNs ignored): mean, standard deviation, standard error,
/// median and the 10 % / 90 % quantiles (linear interpolation).

#include <cstddef>
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

/// NaN fields when no value is left.
SampleStatistics sample_statistics(std::vector<double> values);

}  // namespace dsignsgd
