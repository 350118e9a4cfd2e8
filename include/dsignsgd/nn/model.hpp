#pragma once
/// @file
/// Models over one flat parameter buffer and one flat gradient buffer (llm.c style): exactly the
/// contiguous spans that compressors and collectives take. Layouts are documented per model;
/// forward and backward are written out with Eigen and checked against finite differences.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
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
  /// Mean loss and accuracy over all rows of `data` (one pass where the model can).
  virtual std::pair<double, double> loss_and_accuracy(std::span<const float> params,
                                                      const Dataset& data) const {
    return {loss_and_gradient(params, data, {}, {}), accuracy(params, data)};
  }
};

/// Multinomial logistic regression (binary when classes = 2).
/// params: W (classes × features, row-major) then b (classes).
std::unique_ptr<Model> make_softmax_regression(std::size_t features, std::size_t classes);

/// Multi-layer perceptron with ReLU hidden layers and a softmax output.
/// params: for each layer ℓ, W_ℓ (out × in, row-major) then b_ℓ (out).
std::unique_ptr<Model> make_mlp(std::size_t features, const std::vector<std::size_t>& hidden,
                                std::size_t classes);

/// What a model factory needs to know about the data it will see.
struct ModelShape {
  std::size_t features = 0;  ///< per row: pixels (images) or context + 1 token ids (text)
  std::size_t classes = 0;   ///< classes, or the vocabulary size (text)
  std::size_t height = 0, width = 0;  ///< image side lengths (0 when the rows are not images)
  std::string arch;          ///< --arch: "key=value,…", model-specific (docs/DATA.md)
  int threads = 1;           ///< intra-op threads each model call may use
};

/// Models from optional components (the libtorch CNN and transformer), registered by name at
/// start-up (dsignsgd::register_torch_models()), so the core never includes their headers.
using ModelFactory = std::function<std::unique_ptr<Model>(const ModelShape&)>;
void register_model(const std::string& architecture, ModelFactory factory);
bool has_registered_model(const std::string& architecture);
/// What make_registered_model's refusal advises when no component registered a model: by default
/// to install libtorch-dev and rebuild; a program built without the components on purpose (the
/// Python module) says where those models run instead.
void set_missing_model_advice(std::string advice);
/// Throws ConfigError (option "problem", naming `problem`) when no component registered it.
std::unique_ptr<Model> make_registered_model(const std::string& architecture,
                                             const ModelShape& shape, const std::string& problem);

}  // namespace dsignsgd
