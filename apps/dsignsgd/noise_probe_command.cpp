// `dsignsgd noise-probe`: the law of a model's own gradient noise at chosen steps of a plain SGD
// run (stats/noise_probe.hpp), as a table or JSON, and noise_probe.json under --out.
#include <fmt/core.h>

#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "dsignsgd/core/atomic_file.hpp"
#include "dsignsgd/stats/noise_probe.hpp"

namespace dsignsgd::cli {
namespace {

struct NoiseProbeCommand {
  TrainOptions options;
  NoiseProbeOptions probe;
  std::string config;
  std::string out;
  bool json = false;
};

int run_noise_probe(const NoiseProbeCommand& state) {
  state.probe.validate();
  const RunPlan plan = make_run_plan(state.options);
  if (!state.out.empty()) prepare_out_dir(state.out);
  const std::vector<NoisePoint> points = probe_noise(plan, state.probe);
  const nlohmann::json report = noise_probe_json(plan, state.probe, points);
  if (!state.out.empty()) {
    write_file_atomic(std::filesystem::path(state.out) / "noise_probe.json", report.dump(2) + "\n");
    write_file_atomic(std::filesystem::path(state.out) / "noise_tails.csv", noise_tails_csv(points));
  }
  if (state.json) {
    std::cout << report.dump(2) << '\n';
    return 0;
  }
  std::cout << fmt::format("{}, batch {} per agent, {} draws per point\n", plan.problem.name,
                           plan.batch, state.probe.draws);
  std::cout << fmt::format("{:>8} {:>10} {:>10} {:>8} {:>16} {:>9} {:>7}  {}\n", "step", "loss",
                           "scale", "SNR", "tail index", "kurtosis", "KS", "law (--noise)");
  for (const NoisePoint& p : points) {
    std::cout << fmt::format("{:>8} {:>10.4g} {:>10.4g} {:>8.3g} {:>9.3g} ± {:<4.2g} {:>9.3g} "
                             "{:>7.4f}  {}\n",
                             p.step, p.loss, p.scale_median, p.signal_to_noise, p.tail.alpha,
                             p.tail.stderr_, p.excess_kurtosis, p.ks_distance, p.spec);
  }
  if (!state.out.empty()) {
    std::cout << "wrote " << state.out << "/{noise_probe.json,noise_tails.csv}\n";
  }
  return 0;
}

}  // namespace

Runner add_noise_probe_command(CLI::App& app) {
  auto state = std::make_shared<NoiseProbeCommand>();
  CLI::App* c = app.add_subcommand(
      "noise-probe", "the law of the gradient noise (scale, tail index, Student-t fit) at chosen "
                     "steps of plain SGD on the problem");
  add_train_options(*c, state->options);
  c->add_option("--at", state->probe.at, "SGD steps at which to probe, increasing (e.g. 0,500,5000)")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--draws", state->probe.draws, "minibatch gradients per point")
      ->capture_default_str();
  c->add_option("--coordinates", state->probe.coordinates,
                "coordinates probed (a fixed random subset when d is larger)")
      ->capture_default_str();
  c->add_option("--top-fraction", state->probe.top_fraction,
                "Hill's estimator takes the largest fraction of |Z|")
      ->capture_default_str();
  add_out_option(*c, state->out, "noise_probe.json and noise_tails.csv (P(|Z| > z) per point)");
  c->add_option("--config", state->config, "TOML file with the same keys as the flags");
  c->add_flag("--json", state->json, "print JSON");
  return [state]() { return run_noise_probe(*state); };
}

}  // namespace dsignsgd::cli
