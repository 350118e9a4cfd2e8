#pragma once
/// @file
/// Wall-clock timing for what measures itself (`bench`, the α-β model of theory/network_model).

#include <algorithm>
#include <chrono>

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

}  // namespace dsignsgd
