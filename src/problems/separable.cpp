#include "dsignsgd/problems/separable.hpp"

#include <cmath>

namespace dsignsgd {

std::string Quartic::describe() const { return "quartic sum (x_j - x*)^4 / 4"; }

double Quartic::loss(std::span<const float> x) const {
  double sum = 0.0;
  for (std::size_t j = 0; j < dim_; ++j) {
    const double u = static_cast<double>(x[j]) - x_star_;
    const double u2 = u * u;
    sum += u2 * u2;
  }
  return 0.25 * sum;
}

double Quartic::loss_and_gradient(std::span<const float> x, std::span<float> grad) const {
  double sum = 0.0;
  for (std::size_t j = 0; j < dim_; ++j) {
    const double u = static_cast<double>(x[j]) - x_star_;
    const double u2 = u * u;
    grad[j] = static_cast<float>(u2 * u);
    sum += u2 * u2;
  }
  return 0.25 * sum;
}

void Quartic::hessian_vector(std::span<const float> x, std::span<const float> v,
                             std::span<float> out) const {
  for (std::size_t j = 0; j < dim_; ++j) {
    const double u = static_cast<double>(x[j]) - x_star_;
    out[j] = static_cast<float>(3.0 * u * u * v[j]);
  }
}

std::string Cosh::describe() const { return "sum cosh(x_j - x*) - 1"; }

double Cosh::loss(std::span<const float> x) const {
  double sum = 0.0;
  for (std::size_t j = 0; j < dim_; ++j) {
    const double u = static_cast<double>(x[j]) - x_star_;
    // cosh(u) - 1 = 2 sinh²(u/2), accurate near 0.
    const double s = std::sinh(0.5 * u);
    sum += 2.0 * s * s;
  }
  return sum;
}

double Cosh::loss_and_gradient(std::span<const float> x, std::span<float> grad) const {
  double sum = 0.0;
  for (std::size_t j = 0; j < dim_; ++j) {
    const double u = static_cast<double>(x[j]) - x_star_;
    const double s = std::sinh(0.5 * u);
    grad[j] = static_cast<float>(std::sinh(u));
    sum += 2.0 * s * s;
  }
  return sum;
}

void Cosh::hessian_vector(std::span<const float> x, std::span<const float> v,
                          std::span<float> out) const {
  for (std::size_t j = 0; j < dim_; ++j) {
    out[j] = static_cast<float>(std::cosh(static_cast<double>(x[j]) - x_star_) * v[j]);
  }
}

}  // namespace dsignsgd
