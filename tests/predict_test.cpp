// Every number `dsignsgd predict` prints, against long simulations of the algorithm.
#include <fmt/core.h>

#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/theory/predict.hpp"
#include "dsignsgd/theory/stationary.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

using testing::kZ;
using testing::test_seed;

TrainOptions quadratic_case(const std::string& method, const std::string& noise, int workers,
                            double lr) {
  TrainOptions o;
  o.method = method;
  o.noise = noise;
  o.workers = workers;
  o.lr = lr;
  o.problem.dim = 10;
  o.problem.hessian = "linspace:0.5:2";
  o.problem.x0 = 0.0;
  o.steps = 30000;
  o.runs = 16;
  return o;
}

struct PredictCase {
  std::string method, noise;
  int workers;
  double lr;
  double model_error;  ///< relative error of the closed form itself (0: exact)
};

class PredictedFloor : public ::testing::TestWithParam<PredictCase> {};

TEST_P(PredictedFloor, MatchesALongSimulation) {
  const PredictCase& c = GetParam();
  TrainOptions o = quadratic_case(c.method, c.noise, c.workers, c.lr);
  o.seed = test_seed(71);
  const nlohmann::json prediction = prediction_json(predict(o, {}));
  ASSERT_TRUE(prediction["stationary_loss"].is_number()) << prediction.dump(2);
  ASSERT_TRUE(prediction["regime"]["valid"].get<bool>());
  const double predicted = prediction["stationary_loss"].get<double>();
  const SampleStatistics tail = summarize_loss(train(o)).tail_loss;
  std::cout << fmt::format("[ predict  ] {} {} N={}: measured {:.6g} ± {:.2g}, predicted {:.6g}\n",
                           c.method, c.noise, c.workers, tail.mean, tail.stderr_, predicted);
  EXPECT_NEAR(tail.mean, predicted, kZ * tail.stderr_ + c.model_error * predicted);
}

// Linear-phase forms (sign methods) carry a 3 % model error (docs/VALIDATION.md).
INSTANTIATE_TEST_SUITE_P(
    EveryClosedForm, PredictedFloor,
    ::testing::Values(PredictCase{"dsgd", "gaussian:1", 4, 0.1, 0.0},
                      PredictCase{"dcsgd", "gaussian:1", 4, 0.05, 0.0},
                      PredictCase{"dsignsgd", "gaussian:1", 4, 0.01, 0.03},
                      PredictCase{"dsignsgd", "cauchy:1", 8, 0.01, 0.03},
                      PredictCase{"dsignsgd", "student:1.5:1", 4, 0.01, 0.03},
                      PredictCase{"majority", "gaussian:1", 5, 0.01, 0.03},
                      PredictCase{"majority", "gaussian:1", 9, 0.01, 0.03}),
    [](const ::testing::TestParamInfo<PredictCase>& info) {
      return fmt::format("case{}_{}", info.index, info.param.method);
    });

TEST(Predict, StabilityLimitSeparatesConvergenceFromDivergence) {
  // DSGD: η_max = 2 / λ_max; just below it the runs stay bounded, above it they all diverge.
  // (DCSGD's limit 2 / (λ_max (1 + ω/N)) is a mean-square one: beyond it E f explodes while
  // single runs may stay bounded, so a per-run divergence count cannot test it.)
  for (const char* method : {"dsgd"}) {
    TrainOptions o = quadratic_case(method, "gaussian:0.1", 4, 0.1);
    o.steps = 3000;
    o.runs = 4;
    o.seed = test_seed(72);
    const double lr_max = prediction_json(predict(o, {}))["stability"]["lr_max"].get<double>();
    o.lr = 0.9 * lr_max;
    EXPECT_EQ(summarize_loss(train(o)).diverged_runs, 0) << method;
    o.lr = 1.1 * lr_max;
    o.divergence_factor = 1e6;
    EXPECT_EQ(summarize_loss(train(o)).diverged_runs, o.runs) << method;
  }
}

TEST(Predict, HeavyTailsHaveNoFloorForDsgdButOneForSignSgd) {
  TrainOptions o = quadratic_case("dsgd", "cauchy:1", 4, 0.01);
  const nlohmann::json prediction = prediction_json(predict(o, {}));
  EXPECT_TRUE(prediction["stationary_loss"].is_null());
  EXPECT_FALSE(prediction["methods"]["dsgd"]["finite_floor"].get<bool>());
  EXPECT_FALSE(prediction["methods"]["dcsgd"]["finite_floor"].get<bool>());
  EXPECT_TRUE(prediction["methods"]["dsignsgd"]["stationary_loss"].is_number());
  // The algorithm agrees: DSGD's tail average does not settle (its standard error is of the
  // order of the mean, driven by rare huge jumps) while DSignSGD's is tight.
  o.steps = 20000;
  o.seed = test_seed(73);
  o.divergence_factor = 1e30;
  const SampleStatistics dsgd = summarize_loss(train(o)).tail_loss;
  o.method = "dsignsgd";
  const SampleStatistics sign = summarize_loss(train(o)).tail_loss;
  EXPECT_GT(dsgd.mean, 100 * sign.mean);
  EXPECT_LT(sign.stderr_, 0.05 * sign.mean);
}

TEST(Predict, SaysSoWhereThereIsNoClosedForm) {
  TrainOptions o = quadratic_case("dcsgd", "gaussian:1", 4, 0.01);
  o.compressor = "qsgd:4";
  nlohmann::json prediction = prediction_json(predict(o, {}));
  EXPECT_TRUE(prediction["stationary_loss"].is_null());
  EXPECT_NE(prediction["reason"].get<std::string>().find("qsgd"), std::string::npos);
  o.compressor = "";
  o.problem.problem = "quartic";
  o.problem.hessian = "identity";
  prediction = prediction_json(predict(o, {}));
  EXPECT_TRUE(prediction["stationary_loss"].is_null());
  EXPECT_TRUE(prediction.contains("l0l1"));
  EXPECT_TRUE(prediction["l0l1"]["theorem_4_3"]["lr_max"].is_null());
  o.problem.problem = "quadratic";
  o.schedule = "invsqrt";
  EXPECT_TRUE(prediction_json(predict(o, {}))["stationary_loss"].is_null());
}

TEST(MajorityVote, SlopeMatchesTheBinomialFormula) {
  // κ_N = N C(N−1, (N−1)/2) / 2^(N−1) for odd N; even N equals N − 1 (ties are fair coins).
  EXPECT_DOUBLE_EQ(majority_vote_slope(1), 1.0);
  EXPECT_DOUBLE_EQ(majority_vote_slope(3), 1.5);
  EXPECT_DOUBLE_EQ(majority_vote_slope(5), 1.875);
  EXPECT_DOUBLE_EQ(majority_vote_slope(4), 1.5);
  EXPECT_NEAR(majority_vote_slope(401), std::sqrt(2.0 * 401 / M_PI), 0.01);
}

}  // namespace
}  // namespace dsignsgd
