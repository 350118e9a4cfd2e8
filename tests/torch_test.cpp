// The libtorch component: the flat-buffer round trip (our flat gradient equals the gradient of the
// same network built from torch::nn modules whose weights are read out of the flat buffer), a
// finite-difference check of the transformer, short training runs that must lower the loss, and
// the text problem's data.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <numeric>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/nn/data_problem.hpp"
#include "dsignsgd/nn/model.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/random/stream.hpp"
#include "dsignsgd/torch/torch_models.hpp"

namespace dsignsgd {
namespace {

Dataset random_rows(std::size_t samples, std::size_t features, std::size_t classes,
                    bool tokens, std::uint64_t seed) {
  Dataset data;
  data.samples = samples;
  data.features = features;
  data.classes = classes;
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kSetup});
  for (std::size_t i = 0; i < samples * features; ++i) {
    data.x.push_back(tokens ? static_cast<float>(rng.uniform_below(classes))
                            : static_cast<float>(rng.uniform()));
  }
  for (std::size_t i = 0; i < samples; ++i) {
    data.labels.push_back(tokens ? 0 : static_cast<int>(rng.uniform_below(classes)));
  }
  return data;
}

std::unique_ptr<Model> make(const std::string& architecture, std::size_t features,
                            std::size_t classes, const std::string& arch = "") {
  register_torch_models();
  ModelShape shape;
  shape.features = features;
  shape.classes = classes;
  if (architecture == "cnn") {
    shape.height = shape.width = static_cast<std::size_t>(std::lround(std::sqrt(features)));
  }
  shape.arch = arch;
  return make_registered_model(architecture, shape, architecture);
}

TEST(TorchModels, CnnFlatGradientEqualsTheModuleGradient) {
  const std::uint64_t seed = 11;
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  for (const std::string arch : {"channels=4:6,fc=0", "channels=3:5,fc=7"}) {
    const auto model = make("cnn", 16 * 16, 5, arch);
    const Dataset data = random_rows(9, 16 * 16, 5, false, seed);
    std::vector<float> params(model->parameters()), grad(model->parameters());
    model->initialize(params, seed);
    const double loss = model->loss_and_gradient(params, data, {}, grad);

    // The same network from modules, weights read from the flat buffer in layout order.
    const bool fc = arch.find("fc=7") != std::string::npos;
    const std::int64_t c1 = fc ? 3 : 4, c2 = fc ? 5 : 6;
    torch::nn::Sequential net(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(1, c1, 5).padding(2)), torch::nn::ReLU(),
        torch::nn::MaxPool2d(2),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(c1, c2, 5).padding(2)), torch::nn::ReLU(),
        torch::nn::MaxPool2d(2), torch::nn::Flatten());
    if (fc) {
      net->push_back(torch::nn::Linear(c2 * 16, 7));
      net->push_back(torch::nn::ReLU());
      net->push_back(torch::nn::Linear(7, 5));
    } else {
      net->push_back(torch::nn::Linear(c2 * 16, 5));
    }
    std::size_t offset = 0;
    {
      const torch::NoGradGuard no_grad;
      for (torch::Tensor& p : net->parameters()) {
        std::copy_n(params.data() + offset, p.numel(), p.data_ptr<float>());
        offset += static_cast<std::size_t>(p.numel());
      }
    }
    ASSERT_EQ(offset, params.size()) << arch;  // the layouts cover the same parameters
    torch::Tensor x = torch::from_blob(const_cast<float*>(data.x.data()), {9, 1, 16, 16}).clone();
    torch::Tensor y = torch::empty({9}, torch::kLong);
    for (int i = 0; i < 9; ++i) y[i] = data.labels[static_cast<std::size_t>(i)];
    const torch::Tensor module_loss = torch::cross_entropy_loss(net->forward(x), y);
    module_loss.backward();
    EXPECT_NEAR(loss, module_loss.item<double>(), 1e-5 * std::abs(loss)) << arch;
    offset = 0;
    double worst = 0.0;
    for (const torch::Tensor& p : net->parameters()) {
      const torch::Tensor g = p.grad().contiguous();
      for (std::int64_t i = 0; i < g.numel(); ++i) {
        worst = std::max(worst, static_cast<double>(std::abs(g.data_ptr<float>()[i] -
                                                             grad[offset + static_cast<std::size_t>(i)])));
      }
      offset += static_cast<std::size_t>(g.numel());
    }
    EXPECT_LT(worst, 1e-5) << arch << ": flat gradient differs from the module's";
    // The flat buffer is only read: evaluating again gives the same loss.
    EXPECT_EQ(model->loss_and_gradient(params, data, {}, {}), model->loss_and_gradient(params, data, {}, {}));
  }
}

TEST(TorchModels, TransformerGradientMatchesFiniteDifferences) {
  const std::uint64_t seed = 12;
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  const auto model = make("transformer", 9, 11, "width=8,layers=2,heads=2");
  const Dataset data = random_rows(6, 9, 11, true, seed);
  std::vector<float> params(model->parameters()), grad(model->parameters());
  model->initialize(params, seed);
  // Larger weights than the 0.02 initialization so that every block matters.
  RandomStream rng(StreamAddress{seed, 1, 0, 0, StreamPurpose::kSetup});
  for (float& p : params) p += static_cast<float>(0.3 * rng.normal());
  const double loss = model->loss_and_gradient(params, data, {}, grad);
  EXPECT_NEAR(loss, std::log(11.0), 1.5);
  // Central differences along 6 random directions; float32 forward passes, h = 1e-2.
  for (int trial = 0; trial < 6; ++trial) {
    std::vector<float> v(params.size());
    double norm = 0.0;
    for (float& e : v) {
      e = static_cast<float>(rng.normal());
      norm += static_cast<double>(e) * e;
    }
    double slope = 0.0;
    for (std::size_t k = 0; k < v.size(); ++k) {
      v[k] = static_cast<float>(v[k] / std::sqrt(norm));
      slope += static_cast<double>(grad[k]) * v[k];
    }
    const double h = 1e-2;
    std::vector<float> plus(params), minus(params);
    for (std::size_t k = 0; k < v.size(); ++k) {
      plus[k] += static_cast<float>(h * v[k]);
      minus[k] -= static_cast<float>(h * v[k]);
    }
    const double numeric = (model->loss_and_gradient(plus, data, {}, {}) -
                            model->loss_and_gradient(minus, data, {}, {})) / (2 * h);
    EXPECT_NEAR(numeric, slope, 2e-3 + 2e-2 * std::abs(slope)) << "direction " << trial;
  }
}

TEST(TorchProblems, KjvCorpusAndShortTrainingRunsLowerTheLoss) {
  const std::filesystem::path data_dir = DSIGNSGD_DATA_DIR;
  if (!std::filesystem::exists(data_dir / "kjv" / "kjv.txt") ||
      !std::filesystem::exists(data_dir / "fashion-mnist")) {
    GTEST_FAIL() << "data not installed: run scripts/install_data.sh " << data_dir;
  }
  register_torch_models();
  struct Case {
    const char* problem;
    std::int64_t steps;
    double lr;
    double required_drop;  ///< test loss must fall by at least this factor
  };
  for (const Case c : {Case{"fashion-cnn", 60, 2e-3, 0.6}, Case{"kjv-transformer", 60, 3e-3, 0.8}}) {
    TrainOptions options;
    options.problem.problem = c.problem;
    options.data_dir = data_dir.string();
    options.method = "dsignsgd";
    options.workers = 2;
    options.batch = 16;
    options.lr = c.lr;
    options.steps = c.steps;
    options.runs = 1;
    options.log_every = c.steps;
    options.eval_batch = 64;
    options.noise = "none";
    options.seed = 5;
    std::printf("%s seed %llu\n", c.problem, static_cast<unsigned long long>(options.seed));
    const TrainResult result = train(options);
    ASSERT_EQ(result.extra_metric_names.at(0), "test_loss");
    const RunTrace& run = result.runs.at(0);
    const std::size_t extras = result.extra_metric_names.size();
    const double first = run.extra.at(0);
    const double last = run.extra.at(extras);  // row 1 = the final step
    std::printf("%s test loss %.4f -> %.4f\n", c.problem, first, last);
    EXPECT_LT(last, c.required_drop * first) << c.problem;
    if (std::string(c.problem) == "kjv-transformer") {
      ASSERT_EQ(extras, 3u);
      EXPECT_EQ(result.extra_metric_names[2], "test_bits_per_char");
      EXPECT_NEAR(run.extra.at(extras + 2), last / std::log(2.0), 1e-9);
    }
  }
}

TEST(TorchModels, BadArchitectureIsAConfigError) {
  EXPECT_THROW(make("cnn", 784, 10, "channels=4"), ConfigError);
  EXPECT_THROW(make("cnn", 784, 10, "kernels=3"), ConfigError);
  EXPECT_THROW(make("transformer", 65, 80, "width=10,heads=4"), ConfigError);
  EXPECT_THROW(make("cnn", 30, 10), ConfigError);  // not a square image
}

}  // namespace
}  // namespace dsignsgd
