// `dsignsgd noise-probe`: the law of a model's own gradient noise at chosen steps of a plain SGD
// run (stats/noise_probe.hpp), as a table or JSON, and noise_probe.json under --out.
#include <fmt/core.h>

#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "dsignsgd/core/atomic_file.hpp"
#include "dsignsgd/stats/local_model.hpp"
#include "dsignsgd/stats/noise_probe.hpp"

namespace dsignsgd::cli {
namespace {

struct NoiseProbeCommand {
  TrainOptions options;
  NoiseProbeOptions probe;
  std::string config;
  std::string out;
  bool json = false;
  bool local_model = false;
  LocalModelOptions model{.compressors = {"randk:0.5", "randk:0.125", "qsgd:16:512", "qsgd:2:512"}};
};

LocalModelOptions model_options(const NoiseProbeCommand& state) {
  LocalModelOptions o = state.model;
  o.draws = state.probe.draws;
  o.coordinates = state.probe.coordinates;
  return o;
}

/// --local-model: the separable quadratic model at the last probed step, and each method's
/// predicted excess loss over the run's --steps at its --lr and --workers.
nlohmann::json local_model_report(const RunPlan& plan, const NoiseProbeCommand& state,
                                  const LocalModel& model) {
  nlohmann::json out = local_model_json(model);
  out["horizon_steps"] = plan.steps;
  out["predictions"] = nlohmann::json::array();
  std::vector<std::pair<std::string, std::string>> methods = {{"dsgd", ""}};
  for (const std::string& c : state.model.compressors) methods.emplace_back("dcsgd", c);
  methods.emplace_back("dsignsgd", "");
  methods.emplace_back("majority", "");
  for (const auto& [method, compressor] : methods) {
    const LocalPrediction p =
        predict_local(model, method, compressor, plan.workers, plan.lr, plan.steps);
    out["predictions"].push_back(
        {{"method", method},
         {"compressor", compressor},
         {"excess_loss", std::isfinite(p.excess_loss) ? nlohmann::json(p.excess_loss) : nullptr},
         {"stable", p.stable},
         {"stability_ratio", p.stability_ratio},
         {"reason", p.reason}});
  }
  return out;
}

void print_local_model(const nlohmann::json& m) {
  std::cout << fmt::format(
      "local quadratic model at step {}: λ_max {:.4g}, mean H_jj {:.3g} ± {:.2g} ({:.0f} % < 0), "
      "noise {} (ℓ {:.4g}), {:.0f} % of coordinates without shape\n",
      m["step"].get<std::int64_t>(), m["lambda_max"].get<double>(),
      m["curvature_mean"].get<double>(), m["curvature_stderr"].get<double>(),
      100 * m["negative_curvature_fraction"].get<double>(), m["law"].get<std::string>(),
      m["ell"].is_null() ? std::nan("") : m["ell"].get<double>(),
      100 * m["shapeless_fraction"].get<double>());
  std::cout << fmt::format("predicted excess loss over {} steps (--lr, --workers of the run):\n",
                           m["horizon_steps"].get<std::int64_t>());
  for (const nlohmann::json& p : m["predictions"]) {
    const std::string name =
        p["method"].get<std::string>() + (p["compressor"].get<std::string>().empty()
                                              ? ""
                                              : " " + p["compressor"].get<std::string>());
    const std::string omega =
        m["effective_omega"].contains(p["compressor"].get<std::string>())
            ? fmt::format("  (ω_eff {:.3g})",
                          m["effective_omega"][p["compressor"].get<std::string>()].get<double>())
            : "";
    std::cout << fmt::format(
        "  {:<22} {:>12}{}{}\n", name,
        p["excess_loss"].is_null() ? "none" : fmt::format("{:.4g}", p["excess_loss"].get<double>()),
        p["stable"].get<bool>() ? "" : "  unstable", omega);
  }
}

int run_noise_probe(const NoiseProbeCommand& state) {
  state.probe.validate();
  if (state.local_model) model_options(state).validate();
  const RunPlan plan = make_run_plan(state.options);
  if (!state.out.empty()) prepare_out_dir(state.out);
  LocalModel model;  // from the probe's own SGD run: one run, not two
  const std::vector<NoisePoint> points =
      state.local_model
          ? probe_noise_and_local_model(plan, state.probe, model_options(state), model)
          : probe_noise(plan, state.probe);
  nlohmann::json report = noise_probe_json(plan, state.probe, points);
  if (state.local_model) report["local_model"] = local_model_report(plan, state, model);
  if (!state.out.empty()) {
    write_file_atomic(std::filesystem::path(state.out) / "noise_probe.json", report.dump(2) + "\n");
    write_file_atomic(std::filesystem::path(state.out) / "noise_tails.csv",
                      noise_tails_csv(points));
  }
  if (state.json) {
    std::cout << report.dump(2) << '\n';
    return 0;
  }
  std::cout << fmt::format("{}, batch {} per agent, {} draws per point\n", plan.problem.name,
                           plan.batch, state.probe.draws);
  std::cout << fmt::format("{:>8} {:>10} {:>10} {:>8} {:>16} {:>16} {:>9} {:>7}  {}\n", "step",
                           "loss", "scale", "SNR", "tail index", "t fit: ν", "kurtosis", "KS",
                           "law (--noise)");
  for (const NoisePoint& p : points) {
    std::cout << fmt::format(
        "{:>8} {:>10.4g} {:>10.4g} {:>8.3g} {:>9.3g} ± {:<4.2g} {:>9.3g} ± {:<4.2g} {:>9.3g} "
        "{:>7.4f}  {}\n",
        p.step, p.loss, p.scale_median, p.signal_to_noise, p.tail.alpha, p.tail.stderr_, p.fit.nu,
        p.fit.nu_stderr, p.excess_kurtosis, p.ks_distance, p.spec);
  }
  if (state.local_model) print_local_model(report["local_model"]);
  if (!state.out.empty()) {
    std::cout << "wrote " << state.out << "/{noise_probe.json,noise_tails.csv}\n";
  }
  return 0;
}

}  // namespace

Runner add_noise_probe_command(CLI::App& app) {
  auto state = std::make_shared<NoiseProbeCommand>();
  CLI::App* c = app.add_subcommand(
      "noise-probe",
      "the law of the gradient noise (scale, tail index, Student-t fit) at chosen "
      "steps of plain SGD on the problem");
  add_train_options(*c, state->options);
  c->add_option("--at", state->probe.at,
                "SGD steps at which to probe, increasing (e.g. 0,500,5000)")
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
  c->add_flag("--local-model", state->local_model,
              "at the last --at step also measure the curvature (Hutchinson diagonal, λ_max) and "
              "each compressor's variance, and print every method's predicted excess loss over "
              "--steps at --lr and --workers (stats/local_model.hpp)");
  c->add_option("--local-compressors", state->model.compressors,
                "unbiased compressors the local model measures")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--hutchinson-probes", state->model.hutchinson_probes,
                "random vectors for the Hessian's diagonal")
      ->capture_default_str();
  add_out_option(*c, state->out, "noise_probe.json and noise_tails.csv (P(|Z| > z) per point)");
  c->add_option("--config", state->config, "TOML file with the same keys as the flags");
  c->add_flag("--json", state->json, "print JSON");
  return [state]() { return run_noise_probe(*state); };
}

}  // namespace dsignsgd::cli
