#pragma once
// What the experiments of `dsignsgd reproduce` share: number formatting, progress notes, and the
// experiments defined outside experiments.cpp. Each experiment returns the Section it declares
// (reproduce/section.hpp); the runner (registry.cpp) writes its files.
#include <cmath>
#include <cstdio>
#include <string>

#include "dsignsgd/core/statistics.hpp"
#include "dsignsgd/reproduce/experiments.hpp"
#include "dsignsgd/reproduce/section.hpp"

namespace dsignsgd::reproduce_detail {


/// Standard error of the ratio a/b of two independent means (delta method).
inline double ratio_stderr(const SampleStatistics& a, const SampleStatistics& b) {
  const double ratio = a.mean / b.mean;
  return std::abs(ratio) * std::hypot(a.stderr_ / a.mean, b.stderr_ / b.mean);
}

/// Tells the progress display what runs now.
inline void note(const ReproduceOptions& options, const std::string& what) {
  if (options.progress) options.progress(what);
}

/// A gnuplot string literal for a series title.
inline std::string title(const std::string& text) { return "'" + text + "'"; }

/// Experiments 1, 2, 5 and 8 (experiments.cpp), 3, 4 and 6 (robustness.cpp), 7 (real_data.cpp).
Section sde_versus_algorithm(const ReproduceOptions& options);
Section noise_resilience(const ReproduceOptions& options);
Section linear_speedup(const ReproduceOptions& options);
Section stability_models(const ReproduceOptions& options);
Section compression_and_scaling(const ReproduceOptions& options);
Section heavy_tails(const ReproduceOptions& options);
Section l0l1_smoothness(const ReproduceOptions& options);
Section real_data(const ReproduceOptions& options);
/// Throws ConfigError (option data-dir) when the data real_data needs is not installed.
void check_real_data_inputs(const ReproduceOptions& options);
/// Issue 14's experiment (edge.cpp).
Section stability_edge(const ReproduceOptions& options);
/// Issue 28's experiment (real_noise.cpp): the methods on networks' own gradient noise.
Section real_noise(const ReproduceOptions& options);

}  // namespace dsignsgd::reproduce_detail
