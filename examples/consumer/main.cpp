// Built against an installed dsignsgd (find_package(dsignsgd), target dsignsgd::dsignsgd):
// DSignSGD with 4 agents on a quadratic, its measured floor beside `predict`'s closed form.
// Exits 1 when they disagree by more than 4 standard errors + 5 %.
#include <cmath>
#include <cstdio>

#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/theory/predict.hpp"
#include "dsignsgd/version.hpp"

int main() {
  using namespace dsignsgd;
  TrainOptions options;
  options.method = "dsignsgd";
  options.problem.dim = 32;
  options.problem.x0 = 1.0;
  options.noise = "gaussian:1";
  options.workers = 4;
  options.lr = 0.05;
  options.steps = 3000;
  options.runs = 8;
  const RunPlan plan = make_run_plan(options);
  const SampleStatistics floor = summarize_loss(train(plan)).tail_loss;
  const double predicted = predict(plan).floor.value_or_nan();
  std::printf("dsignsgd %s (commit %s): DSignSGD floor %.5f ± %.5f, predicted %.5f\n", kVersion,
              kGitCommit, floor.mean, floor.stderr_, predicted);
  return std::abs(floor.mean - predicted) <= 4.0 * floor.stderr_ + 0.05 * predicted ? 0 : 1;
}
