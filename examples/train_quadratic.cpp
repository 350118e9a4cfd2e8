// The library without the CLI: DCSGD with rand-k against DSGD on a quadratic, floors compared with
// the closed form of SPEC §3. Build: part of the default CMake build (build/examples/).
#include <cstdio>

#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/theory/stationary.hpp"

int main() {
  using namespace dsignsgd;
  TrainOptions options;
  options.problem.dim = 50;
  options.problem.hessian = "linspace:0.5:2";
  options.problem.x0 = 0.0;
  options.noise = "gaussian:1";
  options.workers = 4;
  options.lr = 0.05;
  options.steps = 20000;
  options.runs = 8;

  for (const char* compressor : {"identity", "randk:0.25"}) {
    options.method = "dcsgd";
    options.compressor = compressor;
    const TrainResult result = train(options);
    const LossSummary loss = summarize_loss(result);
    const auto eigenvalues = make_problem(result.plan.problem)->hessian_eigenvalues();
    const FloorPrediction predicted =
        dcsgd_randk_floor(eigenvalues, 1.0, result.omega, options.workers, result.plan.lr);
    std::printf("%-11s ω = %-4g floor %.5f ± %.5f   predicted %.5f\n", compressor, result.omega,
                loss.tail_loss.mean, loss.tail_loss.stderr_, predicted.value);
  }
  return 0;
}
