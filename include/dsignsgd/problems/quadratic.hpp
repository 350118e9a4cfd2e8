#pragma once
/// @file
/// Quadratic f(x) = ½ (x − x*)ᵀ H (x − x*), H = Q diag(λ) Qᵀ with Q = I or a random rotation.

#include <Eigen/Dense>

#include "dsignsgd/problems/problem.hpp"

namespace dsignsgd {

class Quadratic final : public Problem {
 public:
  /// @param eigenvalues λ_1..λ_d (> 0 for a bounded-below problem; >= 0 accepted)
  /// @param rotation    Q (d×d orthogonal) or an empty matrix for Q = I
  Quadratic(std::vector<double> eigenvalues, double x_star, Eigen::MatrixXd rotation = {});

  std::size_t dim() const override { return eigenvalues_.size(); }
  std::string describe() const override;
  double loss(std::span<const float> x) const override;
  double loss_and_gradient(std::span<const float> x, std::span<float> grad) const override;
  void hessian_vector(std::span<const float> x, std::span<const float> v,
                      std::span<float> out) const override;
  SmoothnessConstants smoothness() const override;
  bool separable() const override { return hessian_.size() == 0; }
  std::vector<double> hessian_eigenvalues() const override { return eigenvalues_; }

 private:
  std::vector<double> eigenvalues_;
  double x_star_;
  Eigen::MatrixXd hessian_;  ///< dense H, only when rotated
};

/// A Haar-distributed random orthogonal d×d matrix (QR of a Gaussian matrix, sign-fixed).
Eigen::MatrixXd random_rotation(std::size_t dim, std::uint64_t seed);

}  // namespace dsignsgd
