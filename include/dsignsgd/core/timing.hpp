#pragma once
/// @file
/// Wall-clock timing for what measures itself (`bench`, the α-β model of theory/network_model).

#include <algorithm>
#include <chrono>
#include <vector>

namespace dsignsgd {

/// The shortest of `repeats` timings of body(), in seconds.
template <typename F>
double best_seconds(int repeats, F&& body) {
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    body();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

/// The median of `repeats` timings of body(), in seconds (what a step costs typically, where
/// best_seconds is what it costs at best).
template <typename F>
double median_seconds(int repeats, F&& body) {
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    body();
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

}  // namespace dsignsgd
