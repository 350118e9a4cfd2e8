// `dsignsgd sde`: Monte Carlo paths of a method's SDE, written like `train`'s output.
#include <fmt/core.h>

#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/callbacks.hpp"
#include "dsignsgd/sde/simulate.hpp"

namespace dsignsgd::cli {
namespace {

struct SdeCommand {
  TrainOptions options;
  SdeOptions sde;
  std::string out;
  std::string config;
  bool json = false;
};

}  // namespace

Runner add_sde_command(CLI::App& app) {
  auto state = std::make_shared<SdeCommand>();
  CLI::App* c = app.add_subcommand(
      "sde", "simulate the SDE model of a method (same flags and outputs as train)");
  add_train_options(*c, state->options);
  add_sde_options(*c, state->sde);
  add_output_options(*c, state->out, state->config, state->json, "metrics.csv and summary.json");
  return [state]() {
    const RunPlan plan = make_run_plan(state->options);
    const SdePlan sde_plan = SdePlan::resolve(state->sde, plan);
    prepare_out_dir(state->out);
    ProgressBar bar("sde");
    OnProgress progress([&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); });
    const SdeResult sde = simulate_sde(plan, sde_plan, {&progress});
    bar.finish();
    const nlohmann::json summary = sde_json(sde, sde_plan);
    if (!state->out.empty()) write_train_outputs(sde.result, state->out, &summary);
    if (state->json) {
      std::cout << summary.dump(2) << '\n';
      return 0;
    }
    const LossSummary loss = summarize_loss(sde.result);
    const RunPlan& p = sde.result.plan;
    std::cout << fmt::format("SDE of {} ({}), {} with {} substep(s), drift correction {}\n",
                             sde.model, sde.covariance, sde.integrator, sde_plan.substeps,
                             to_string(sde_plan.drift_correction));
    std::cout << fmt::format("  d = {}, N = {}, noise {}, {} paths × {} steps ({:.2f} s)\n",
                             sde.result.dim, p.workers, p.noise.to_string(), p.runs, p.steps,
                             sde.result.wall_seconds);
    std::cout << "  final loss  " << mean_and_stderr(loss.final_loss, 6, 2) << '\n';
    std::cout << "  tail loss   " << mean_and_stderr(loss.tail_loss, 6, 2) << '\n';
    std::cout << fmt::format("  diverged    {} of {} paths\n", loss.diverged_runs, p.runs);
    return 0;
  };
}

}  // namespace dsignsgd::cli
