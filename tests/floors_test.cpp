// docs/THEORY.md §3's stationary floors on the quadratic against long-run averages of the real algorithm.
// Tolerance: kZ standard errors of the mean over independent runs (each run's tail average is
// one sample), plus, for DSignSGD only, the linearization error of its closed form (3 %).
#include <fmt/core.h>

#include "dsignsgd/io/report.hpp"
#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/theory/stationary.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

using testing::kZ;
using testing::test_seed;

struct FloorCase {
  std::string method;
  std::string compressor;
  std::string noise;
  int workers;
  double lr;
  int batch;
};

std::ostream& operator<<(std::ostream& out, const FloorCase& c) {
  return out << c.method << "/" << c.compressor << "/" << c.noise << "/N=" << c.workers
             << "/lr=" << c.lr << "/B=" << c.batch;
}

class StationaryFloor : public ::testing::TestWithParam<FloorCase> {};

TEST_P(StationaryFloor, MatchesTheClosedForm) {
  const FloorCase& c = GetParam();
  TrainOptions o;
  o.method = c.method;
  o.compressor = c.compressor;
  o.noise = c.noise;
  o.workers = c.workers;
  o.lr = c.lr;
  o.batch = c.batch;
  o.problem.dim = 10;
  o.problem.hessian = "linspace:0.5:2";
  o.problem.x0 = 0.0;
  o.steps = 40000;
  o.runs = 16;
  o.seed = test_seed(41);
  const TrainResult result = train(o);
  const LossSummary loss = summarize_loss(result);
  ASSERT_EQ(loss.diverged_runs, 0);

  const NoiseSpec noise = NoiseSpec::parse(c.noise);
  const std::vector<double> lambda = make_problem(result.plan.problem)->hessian_eigenvalues();
  FloorPrediction predicted;
  double model_error = 0.0;
  if (c.method == "dsgd") {
    predicted = dsgd_floor(lambda, noise.coordinate_variance(0) / c.batch, c.workers, c.lr);
  } else if (c.method == "dcsgd") {
    predicted = dcsgd_randk_floor(lambda, noise.coordinate_variance(0) / c.batch, result.omega,
                                  c.workers, c.lr);
  } else {
    predicted = dsignsgd_floor(lambda, noise.sigma, noise.small_signal_slope(), c.workers, c.lr);
    model_error = 0.03 * predicted.value;
  }
  ASSERT_TRUE(predicted.stable);
  const double tolerance = kZ * loss.tail_loss.stderr_ + model_error;
  std::cout << fmt::format("[ floor    ] measured {:.6g} ± {:.2g}, predicted {:.6g}\n",
                           loss.tail_loss.mean, loss.tail_loss.stderr_, predicted.value);
  EXPECT_NEAR(loss.tail_loss.mean, predicted.value, tolerance);
}

INSTANTIATE_TEST_SUITE_P(Spec3, StationaryFloor,
                         ::testing::Values(FloorCase{"dsgd", "identity", "gaussian:1", 4, 0.1, 1},
                                           FloorCase{"dsgd", "identity", "gaussian:2", 1, 0.5, 1},
                                           FloorCase{"dsgd", "identity", "gaussian:1", 2, 0.1, 4},
                                           FloorCase{"dsgd", "identity", "student:4:1", 4, 0.1, 1},
                                           FloorCase{"dcsgd", "randk:0.2", "gaussian:1", 4, 0.1, 1},
                                           FloorCase{"dcsgd", "randk:0.1", "gaussian:0.5", 8, 0.05,
                                                     1},
                                           FloorCase{"dcsgd", "randk:0.5", "gaussian:1", 1, 0.2, 2},
                                           FloorCase{"dsignsgd", "sign", "gaussian:1", 4, 0.01, 1},
                                           FloorCase{"dsignsgd", "sign", "cauchy:1", 4, 0.01, 1}),
                         [](const ::testing::TestParamInfo<FloorCase>& info) {
                           return fmt::format("case{}_{}", info.index, info.param.method);
                         });

}  // namespace
}  // namespace dsignsgd
