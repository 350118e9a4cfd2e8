// Issue 26 item 1: predict's DCSGD floor for the state-dependent quantizers (QSGD, natural) —
// the fixed point of the stationary second moments — against long simulations of the method,
// on a subset of bench/quantizer_floor_grid.py's grid (docs/THEORY.md §3 has the whole grid).
// Where predict calls its floor valid, the method's tail loss must be within kZ standard errors
// plus the stated kQuantizerFloorError of it; and the regression cases of issue 26's audit.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>

#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/sde/simulate.hpp"
#include "dsignsgd/theory/predict.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

using testing::kZ;

TrainOptions quantizer_case(const std::string& compressor, int workers, const std::string& noise,
                            double lr) {
  TrainOptions o;
  o.method = "dcsgd";
  o.compressor = compressor;
  o.noise = noise;
  o.workers = workers;
  o.lr = lr;
  o.problem.dim = 24;
  o.problem.hessian = "linspace:0.2:2";
  o.problem.x0 = 0.0;  // start at the optimum: the tail is stationary sooner
  o.steps = 4000;
  o.runs = 64;
  return o;
}

using GridPoint = std::tuple<std::string, int, std::string, double>;  // η as a fraction of lr_max

class QuantizerFloor : public ::testing::TestWithParam<GridPoint> {};

TEST_P(QuantizerFloor, IsTheMethodsWithinItsStatedError) {
  const auto& [compressor, workers, noise, fraction] = GetParam();
  TrainOptions o = quantizer_case(compressor, workers, noise, 0.01);
  const Prediction first = predict(o);
  ASSERT_TRUE(first.floor.stability.has_value()) << first.floor.reason;
  o.lr = fraction * first.floor.stability->lr_max;
  o.seed = testing::test_seed(83);
  const Prediction p = predict(o);
  ASSERT_TRUE(p.floor.stationary_loss.has_value()) << p.floor.reason;
  ASSERT_TRUE(p.floor.regime.has_value());
  EXPECT_EQ(p.floor.regime->valid, fraction <= kQuantizerValidFraction);
  const SampleStatistics tail = summarize_loss(train(o)).tail_loss;
  const double predicted = *p.floor.stationary_loss;
  std::cout << "[ floor    ] " << compressor << " N=" << workers << " " << noise << " η = "
            << *o.lr << " (" << fraction << " lr_max): measured " << tail.mean << " ± "
            << tail.stderr_ << ", predicted " << predicted << " (ratio " << predicted / tail.mean
            << ")" << std::endl;
  EXPECT_NEAR(predicted, tail.mean, kZ * tail.stderr_ + kQuantizerFloorError * tail.mean);
}

INSTANTIATE_TEST_SUITE_P(
    Grid, QuantizerFloor,
    ::testing::Combine(::testing::Values("qsgd:1", "qsgd:4", "natural"), ::testing::Values(1, 8),
                       ::testing::Values("gaussian:0.3", "student:3:0.3"),
                       ::testing::Values(0.3, 0.5)),
    [](const auto& info) {
      std::string name = std::get<0>(info.param) + "_N" + std::to_string(std::get<1>(info.param)) +
                         "_" + std::get<2>(info.param) + "_" +
                         std::to_string(static_cast<int>(100 * std::get<3>(info.param)));
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

TEST(QuantizerAudit, PredictAtTheAuditsStepSizesIsTheMethods) {
  // Issue 26's audit: predict --method dcsgd --compressor qsgd:1 --noise gaussian:0.3 --dim 24
  // --hessian linspace:0.2:2 --workers 1 --lr L said "exact" and was +1.6 … +26 % off (L = 0.10
  // … 0.22). Now within the stated error where valid; at L = 0.22 (0.54 lr_max) it says not valid.
  for (double lr : {0.10, 0.15, 0.22}) {
    TrainOptions o = quantizer_case("qsgd:1", 1, "gaussian:0.3", lr);
    o.seed = testing::test_seed(5);
    const Prediction p = predict(o);
    ASSERT_TRUE(p.floor.stationary_loss.has_value()) << p.floor.reason;
    EXPECT_EQ(p.floor.regime->valid, lr <= kQuantizerValidFraction * p.floor.stability->lr_max);
    const SampleStatistics tail = summarize_loss(train(o)).tail_loss;
    std::cout << "[ audit    ] L = " << lr << ": measured " << tail.mean << " ± " << tail.stderr_
              << ", predicted " << *p.floor.stationary_loss << std::endl;
    EXPECT_NEAR(*p.floor.stationary_loss, tail.mean,
                kZ * tail.stderr_ + kQuantizerFloorError * tail.mean);
  }
}

TEST(QuantizerAudit, TheSdesDefaultCovarianceKeepsTheMethodsFloor) {
  // Issue 26's audit: sde --method dcsgd --compressor qsgd:4 --noise gaussian:0.8 --dim 50
  // --hessian linspace:0.5:1.5 --workers 4 --lr 0.2 --steps 4000 --runs 64 --x0 0 --seed 5 gave
  // 1.298 with the surrogate default against train's 0.6865 (z = 301).
  TrainOptions o;
  o.method = "dcsgd";
  o.compressor = "qsgd:4";
  o.noise = "gaussian:0.8";
  o.problem.dim = 50;
  o.problem.hessian = "linspace:0.5:1.5";
  o.problem.x0 = 0.0;
  o.workers = 4;
  o.lr = 0.2;
  o.steps = 4000;
  o.runs = 64;
  o.seed = testing::test_seed(5);
  const SampleStatistics method = summarize_loss(train(o)).tail_loss;
  const SdeResult sde = simulate_sde(o, SdeOptions{});
  const SampleStatistics model = summarize_loss(sde.result).tail_loss;
  std::cout << "[ audit    ] method " << method.mean << " ± " << method.stderr_ << ", SDE ("
            << sde.covariance << ") " << model.mean << " ± " << model.stderr_ << std::endl;
  EXPECT_NEAR(model.mean, method.mean, kZ * std::hypot(model.stderr_, method.stderr_));
}

}  // namespace
}  // namespace dsignsgd
