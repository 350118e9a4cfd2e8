#include "dsignsgd/problems/quadratic.hpp"

#include <algorithm>

#include "dsignsgd/random/stream.hpp"

namespace dsignsgd {

Quadratic::Quadratic(std::vector<double> eigenvalues, double x_star, Eigen::MatrixXd rotation)
    : eigenvalues_(std::move(eigenvalues)), x_star_(x_star) {
  if (rotation.size() > 0) {
    const Eigen::Map<const Eigen::VectorXd> lambda(eigenvalues_.data(),
                                                   static_cast<Eigen::Index>(eigenvalues_.size()));
    hessian_ = rotation * lambda.asDiagonal() * rotation.transpose();
  }
}

std::string Quadratic::describe() const {
  return hessian_.size() > 0 ? "quadratic (rotated)" : "quadratic (diagonal)";
}

double Quadratic::loss(std::span<const float> x) const {
  const std::size_t d = dim();
  if (hessian_.size() == 0) {
    double sum = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const double u = static_cast<double>(x[j]) - x_star_;
      sum += eigenvalues_[j] * u * u;
    }
    return 0.5 * sum;
  }
  Eigen::VectorXd u(static_cast<Eigen::Index>(d));
  for (std::size_t j = 0; j < d; ++j) u[static_cast<Eigen::Index>(j)] = x[j] - x_star_;
  return 0.5 * u.dot(hessian_ * u);
}

double Quadratic::loss_and_gradient(std::span<const float> x, std::span<float> grad) const {
  const std::size_t d = dim();
  if (hessian_.size() == 0) {
    double sum = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const double u = static_cast<double>(x[j]) - x_star_;
      const double g = eigenvalues_[j] * u;
      grad[j] = static_cast<float>(g);
      sum += g * u;
    }
    return 0.5 * sum;
  }
  Eigen::VectorXd u(static_cast<Eigen::Index>(d));
  for (std::size_t j = 0; j < d; ++j) u[static_cast<Eigen::Index>(j)] = x[j] - x_star_;
  const Eigen::VectorXd g = hessian_ * u;
  for (std::size_t j = 0; j < d; ++j) grad[j] = static_cast<float>(g[static_cast<Eigen::Index>(j)]);
  return 0.5 * u.dot(g);
}

void Quadratic::hessian_vector(std::span<const float>, std::span<const float> v,
                               std::span<float> out) const {
  const std::size_t d = dim();
  if (hessian_.size() == 0) {
    for (std::size_t j = 0; j < d; ++j) out[j] = static_cast<float>(eigenvalues_[j] * v[j]);
    return;
  }
  Eigen::VectorXd w(static_cast<Eigen::Index>(d));
  for (std::size_t j = 0; j < d; ++j) w[static_cast<Eigen::Index>(j)] = v[j];
  const Eigen::VectorXd hw = hessian_ * w;
  for (std::size_t j = 0; j < d; ++j) out[j] = static_cast<float>(hw[static_cast<Eigen::Index>(j)]);
}

SmoothnessConstants Quadratic::smoothness() const {
  double max_abs = 0.0;
  for (double lambda : eigenvalues_) max_abs = std::max(max_abs, std::abs(lambda));
  return {max_abs, 0.0};
}

Eigen::MatrixXd random_rotation(std::size_t dim, std::uint64_t seed) {
  const auto n = static_cast<Eigen::Index>(dim);
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kSetup});
  Eigen::MatrixXd gaussian(n, n);
  for (Eigen::Index j = 0; j < n; ++j) {
    for (Eigen::Index i = 0; i < n; ++i) gaussian(i, j) = rng.normal();
  }
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian);
  Eigen::MatrixXd q = qr.householderQ();
  const Eigen::MatrixXd r = qr.matrixQR().triangularView<Eigen::Upper>();
  // Fix signs so that Q is Haar distributed (Mezzadri 2007).
  for (Eigen::Index j = 0; j < n; ++j) {
    if (r(j, j) < 0) q.col(j) *= -1.0;
  }
  return q;
}

}  // namespace dsignsgd
