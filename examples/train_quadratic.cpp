// The library without the CLI: DCSGD with rand-k against DSGD on a quadratic, the measured floors
// beside the closed forms (theory/predict). Build: part of the default CMake build (build/examples/).
#include <cstdio>

#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/theory/predict.hpp"

int main() {
  using namespace dsignsgd;
  TrainOptions options;  // what a user types; unset options take their defaults
  options.problem.dim = 50;
  options.problem.hessian = "linspace:0.5:2";
  options.problem.x0 = 0.0;
  options.noise = "gaussian:1";
  options.workers = 4;
  options.lr = 0.05;
  options.steps = 20000;
  options.runs = 8;
  options.method = "dcsgd";

  for (const char* compressor : {"identity", "randk:0.25"}) {
    options.compressor = compressor;
    const RunPlan plan = make_run_plan(options);  // every spec parsed once, defaults resolved
    const TrainResult result = train(plan);
    std::fputs(brief_report(result).c_str(), stdout);
    const LossSummary loss = summarize_loss(result);
    const Prediction predicted = predict(plan);
    std::printf("%-11s ω = %-4g floor %.5f ± %.5f   predicted %.5f\n", compressor, result.omega,
                loss.tail_loss.mean, loss.tail_loss.stderr_, predicted.floor.value_or_nan());
  }
  return 0;
}
