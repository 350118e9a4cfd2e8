// `dsignsgd validate`: the algorithm against its SDE at η, η/2, η/4 (weak error and order).
#include <fmt/core.h>

#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/callbacks.hpp"
#include "dsignsgd/sde/validate.hpp"

namespace dsignsgd::cli {


Runner add_validate_command(CLI::App& app) {
  struct State {
    TrainOptions options;
    SdeOptions sde;
    ValidateOptions validate;
    std::string out;
    std::string config;
    bool json = false;
  };
  auto state = std::make_shared<State>();
  state->sde.substeps = kValidateSubsteps;
  CLI::App* c = app.add_subcommand(
      "validate", "algorithm vs SDE at η, η/2, η/4: mean curves, weak error and its order");
  add_train_options(*c, state->options);
  add_sde_options(*c, state->sde);
  c->add_option("--levels", state->validate.levels, "number of step sizes η, η/2, …")
      ->capture_default_str();
  c->add_option_function<std::string>(
       "--extrapolation",
       [state](const std::string& value) {
         if (value != "richardson" && value != "none") {
           throw ConfigError("extrapolation", value, "must be richardson or none");
         }
         state->validate.extrapolate = value == "richardson";
       },
       "richardson: the SDE side integrated with M and 2M substeps and extrapolated (the "
       "continuous SDE, its bias O(h²)); none: the SDE as stepped with --substeps")
      ->default_str("richardson");
  add_output_options(*c, state->out, state->config, state->json, "validate.csv and validate.json");
  return [state]() {
    const RunPlan plan = make_run_plan(state->options);
    const SdePlan sde = SdePlan::resolve(state->sde, plan);
    state->validate.validate(plan);  // before --out is created
    state->validate.validate(sde);
    prepare_out_dir(state->out);
    ProgressBar bar("validate");
    OnProgress progress([&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); });
    const ValidateResult result = validate_sde(plan, sde, state->validate, {&progress});
    bar.finish();
    const nlohmann::json json = validate_json(result, sde, state->validate);
    if (!state->out.empty()) {
      write_file_atomic(std::filesystem::path(state->out) / "validate.csv", validate_csv(result));
      write_file_atomic(std::filesystem::path(state->out) / "validate.json", json.dump(2) + "\n");
    }
    if (state->json) {
      std::cout << json.dump(2) << '\n';
      return 0;
    }
    std::cout << fmt::format(
        "{} vs its SDE ({}, {} × {} substeps{})\n", plan.method->name,
        result.levels.front().sde.covariance, to_string(sde.integrator), sde.substeps,
        state->validate.extrapolate
            ? fmt::format(" and {}, Richardson-extrapolated", 2 * sde.substeps)
            : "");
    std::cout << fmt::format("{:>10} {:>8} {:>14} {:>12} {:>8} {:>14}\n", "eta", "steps",
                             "weak error", "s.e.", "at t", "noise level");
    for (const ValidateLevel& level : result.levels) {
      std::cout << fmt::format("{:>10.4g} {:>8} {:>14.4g} {:>12.2g} {:>8.3g} {:>14.4g}{}\n",
                               level.lr, level.steps, level.weak_error, level.weak_error_stderr,
                               level.weak_error_time, level.null_threshold,
                               level.resolved ? "" : "  (not resolved)");
    }
    std::cout << fmt::format("fitted order {:.2f} ± {:.2f} (90 % interval {:.2f} … {:.2f}){}\n",
                             result.order, result.order_stderr, result.order_low,
                             result.order_high,
                             !result.errors_resolved
                                 ? "  (not resolved: some weak error is within the noise level "
                                   "— the 95 % quantile of the largest gap if there were none; "
                                   "add --runs)"
                             : !result.order_resolved
                                 ? "  (not resolved: the interval is too wide to tell order 1 "
                                   "from 0.5; add --runs or --levels)"
                                 : "");
    return 0;
  };
}

}  // namespace dsignsgd::cli
