#pragma once
/// @file
/// Separable (L0, L1)-smooth functions that are not L-smooth ([B]; docs/THEORY.md §3):
///   quartic  f(x) = Σ (x_j − x*)⁴ / 4      ∇f = (x − x*)³, ∇²f = 3 diag((x − x*)²);
///            3u² <= 3 + 3|u|³ for all u, and max|u_j|³ <= ||∇f||, so (L0, L1) = (3, 3).
///   cosh     f(x) = Σ cosh(x_j − x*) − 1   ∇f = sinh(x − x*), ∇²f = diag(cosh(x − x*));
///            cosh u <= 1 + |sinh u|, so (L0, L1) = (1, 1).

#include "dsignsgd/problems/problem.hpp"

namespace dsignsgd {

class Quartic final : public Problem {
 public:
  Quartic(std::size_t dim, double x_star) : dim_(dim), x_star_(x_star) {}
  std::size_t dim() const override { return dim_; }
  std::string describe() const override;
  double loss(std::span<const float> x) const override;
  double loss_and_gradient(std::span<const float> x, std::span<float> grad) const override;
  void hessian_vector(std::span<const float> x, std::span<const float> v,
                      std::span<float> out) const override;
  SmoothnessConstants smoothness() const override { return {3.0, 3.0}; }
  bool separable() const override { return true; }

 private:
  std::size_t dim_;
  double x_star_;
};

class Cosh final : public Problem {
 public:
  Cosh(std::size_t dim, double x_star) : dim_(dim), x_star_(x_star) {}
  std::size_t dim() const override { return dim_; }
  std::string describe() const override;
  double loss(std::span<const float> x) const override;
  double loss_and_gradient(std::span<const float> x, std::span<float> grad) const override;
  void hessian_vector(std::span<const float> x, std::span<const float> v,
                      std::span<float> out) const override;
  SmoothnessConstants smoothness() const override { return {1.0, 1.0}; }
  bool separable() const override { return true; }

 private:
  std::size_t dim_;
  double x_star_;
};

}  // namespace dsignsgd
