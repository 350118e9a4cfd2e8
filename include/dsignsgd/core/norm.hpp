#pragma once
/// @file
/// ‖v‖₂ of a float vector, accumulated in double in index order (the one definition every norm
/// of a gradient or direction uses, so they round alike).

#include <cmath>
#include <span>

namespace dsignsgd {

inline double l2_norm(std::span<const float> v) {
  double sum = 0.0;
  for (float x : v) sum += static_cast<double>(x) * x;
  return std::sqrt(sum);
}

}  // namespace dsignsgd
