#pragma once
/// @file
/// Models over one flat parameter buffer and one flat gradient buffer (llm.c style): exactly the
/// contiguous spans that compressors and collectives take. Layouts are documented per model;
/// forward and backward are written out with Eigen and checked against finite differences.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dsignsgd/data/dataset.hpp"

namespace dsignsgd {

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string describe() const = 0;
  virtual std::size_t parameters() const = 0;
  /// Deterministic initialization from a seed (He/Glorot scaled Gaussian weights, zero biases).
  virtual void initialize(std::span<float> params, std::uint64_t seed) const = 0;
  /// Mean cross-entropy over data rows `rows` (all rows when empty) and, when grad is not empty,
  /// its gradient with respect to params.
  virtual double loss_and_gradient(std::span<const float> params, const Dataset& data,
                                   std::span<const std::size_t> rows,
                                   std::span<float> grad) const = 0;
  /// Fraction of rows classified correctly (arg-max of the logits).
  virtual double accuracy(std::span<const float> params, const Dataset& data) const = 0;
};

/// Multinomial logistic regression (binary when classes = 2).
/// params: W (classes × features, row-major) then b (classes).
std::unique_ptr<Model> make_softmax_regression(std::size_t features, std::size_t classes);

/// Multi-layer perceptron with ReLU hidden layers and a softmax output.
/// params: for each layer ℓ, W_ℓ (out × in, row-major) then b_ℓ (out).
std::unique_ptr<Model> make_mlp(std::size_t features, const std::vector<std::size_t>& hidden,
                                std::size_t classes);

}  // namespace dsignsgd
