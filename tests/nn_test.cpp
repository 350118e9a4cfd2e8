// The Eigen models: gradients against finite differences, and training that lowers the loss.
#include <algorithm>

#include "dsignsgd/core/config_error.hpp"
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

#include <filesystem>

#include "dsignsgd/io/report.hpp"
#include "dsignsgd/nn/data_problem.hpp"
#include "dsignsgd/optim/trainer.hpp"

namespace dsignsgd {
namespace {

/// Real data installed by scripts/install_data.sh (make test runs it first).
TrainOptions data_run(const std::string& problem, const std::string& method) {
  TrainOptions o;
  o.problem.problem = problem;
  o.data_dir = DSIGNSGD_DATA_DIR;
  o.method = method;
  o.noise = "none";
  o.workers = 4;
  o.batch = 16;
  o.runs = 2;
  o.seed = testing::test_seed(103);
  return o;
}

TEST(DataProblems, TrainingLowersTheLossAndClassifiesTheTestSet) {
  struct Case {
    std::string problem, method;
    double lr;
    std::int64_t steps;
    double min_accuracy;  ///< well below what these runs reach, far above chance
  };
  for (const Case& c : {Case{"breast-cancer-logreg", "dsignsgd", 0.001, 2000, 0.90},
                        Case{"breast-cancer-logreg", "dsgd", 0.1, 2000, 0.90},
                        Case{"digits-mlp", "dsignsgd", 0.002, 1500, 0.85},
                        Case{"digits-logreg", "dcsgd", 0.05, 1500, 0.85}}) {
    TrainOptions o = data_run(c.problem, c.method);
    o.lr = c.lr;
    o.steps = c.steps;
    const TrainResult result = train(o);
    const double final_loss = summarize_loss(result).final_loss.mean;
    // The training loss (on the fixed evaluation rows) falls to a third of its start or less.
    EXPECT_LT(final_loss, result.initial_loss / 3) << c.problem << " " << c.method;
    const nlohmann::json metrics = summary_json(result)["final_metrics"];
    EXPECT_GT(metrics["test_accuracy"]["mean"].get<double>(), c.min_accuracy)
        << c.problem << " " << c.method;
  }
}

TEST(DataProblems, AMissingDataSetSaysWhereItComesFrom) {
  TrainOptions o = data_run("mnist-mlp", "dsignsgd");
  o.data_dir = "/nonexistent";
  try {
    train(o);
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("install_data.sh"), std::string::npos) << e.what();
  }
}

TEST(DataProblems, AModelNoComponentRegisteredIsAConfigErrorNamingTheFix) {
  try {
    make_registered_model("no-such-architecture", ModelShape{}, "some-problem");
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.option(), "problem");
    EXPECT_NE(std::string(e.what()).find("libtorch-dev"), std::string::npos) << e.what();
  }
}

TEST(DataProblems, ShardsPartitionTheTrainingSet) {
  for (const char* split : {"iid", "label-skew"}) {
    TrainOptions o = data_run("digits-logreg", "dsgd");
    o.split = split;
    const RunPlan plan = make_run_plan(o);
    const auto problem = load_data_problem(plan.problem.name, plan.data, plan.workers, 1);
    std::vector<int> seen(problem->train.samples, 0);
    for (const auto& shard : problem->shards) {
      for (std::size_t row : shard) ++seen[row];
    }
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; })) << split;
    if (std::string(split) == "label-skew") {
      // Agent 0 sees mostly the smallest labels.
      int low = 0;
      for (std::size_t row : problem->shards[0]) low += problem->train.labels[row] < 3;
      EXPECT_GT(low, static_cast<int>(0.9 * problem->shards[0].size()));
    }
  }
}

}  // namespace
}  // namespace dsignsgd
