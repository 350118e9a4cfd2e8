// The Eigen models: gradients against finite differences, and training that lowers the loss.
#include "dsignsgd/nn/model.hpp"
#include "dsignsgd/random/stream.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

/// Gaussian blobs: class c centred at 2·e_c (plus noise).
Dataset blobs(std::size_t samples, std::size_t features, std::size_t classes, std::uint64_t seed) {
  Dataset d;
  d.samples = samples;
  d.features = features;
  d.classes = classes;
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  for (std::size_t i = 0; i < samples; ++i) {
    const int y = static_cast<int>(i % classes);
    d.labels.push_back(y);
    for (std::size_t j = 0; j < features; ++j) {
      d.x.push_back(static_cast<float>((j == static_cast<std::size_t>(y) ? 2.0 : 0.0) + rng.normal()));
    }
  }
  return d;
}

void expect_gradient_matches_finite_differences(const Model& model, const Dataset& data,
                                                 std::uint64_t seed) {
  std::vector<float> params(model.parameters());
  model.initialize(params, seed);
  std::vector<float> grad(params.size());
  model.loss_and_gradient(params, data, {}, grad);
  for (std::size_t k = 0; k < params.size(); k += std::max<std::size_t>(1, params.size() / 40)) {
    const float saved = params[k];
    const float h = 1e-3f;  // small enough that no ReLU kink falls inside ±h (nearly always)
    params[k] = saved + h;
    const double up = model.loss_and_gradient(params, data, {}, {});
    params[k] = saved - h;
    const double down = model.loss_and_gradient(params, data, {}, {});
    params[k] = saved;
    const double numeric = (up - down) / (2.0 * h);
    // Central differences: O(h²) truncation, fp32 loss rounding ~1e-7/h = 1e-4.
    EXPECT_NEAR(grad[k], numeric, 2e-3 + 2e-2 * std::abs(numeric))
        << model.describe() << " parameter " << k;
  }
}

TEST(Models, GradientsMatchFiniteDifferences) {
  const std::uint64_t seed = testing::test_seed(101);
  const Dataset data = blobs(30, 5, 3, seed);
  expect_gradient_matches_finite_differences(*make_softmax_regression(5, 3), data, seed);
  expect_gradient_matches_finite_differences(*make_mlp(5, {7}, 3), data, seed);
  expect_gradient_matches_finite_differences(*make_mlp(5, {6, 4}, 3), data, seed);
}

TEST(Models, ParameterCountsFollowTheLayout) {
  EXPECT_EQ(make_softmax_regression(30, 2)->parameters(), 62u);
  EXPECT_EQ(make_mlp(784, {128}, 10)->parameters(), 784u * 128 + 128 + 128 * 10 + 10);
  EXPECT_EQ(make_mlp(784, {128}, 10)->describe(), "mlp 784-128-10");
}

TEST(Models, GradientDescentLowersTheLossAndLearnsTheBlobs) {
  const std::uint64_t seed = testing::test_seed(102);
  const Dataset data = blobs(300, 4, 3, seed);
  for (const auto& model : {make_softmax_regression(4, 3), make_mlp(4, {16}, 3)}) {
    std::vector<float> params(model->parameters()), grad(params.size());
    model->initialize(params, seed);
    const double initial = model->loss_and_gradient(params, data, {}, grad);
    double loss = initial;
    for (int step = 0; step < 300; ++step) {
      loss = model->loss_and_gradient(params, data, {}, grad);
      for (std::size_t k = 0; k < params.size(); ++k) params[k] -= 0.2f * grad[k];
    }
    EXPECT_LT(loss, 0.5 * initial) << model->describe();
    // Bayes accuracy of these blobs is about 0.85; a fitted model gets close.
    EXPECT_GT(model->accuracy(params, data), 0.75) << model->describe();
  }
}

}  // namespace
}  // namespace dsignsgd
