// `dsignsgd compare`: the main job of `make run` — DSGD, DCSGD (rand-k) and DSignSGD on one
// quadratic under Gaussian and Cauchy noise, with the measured tail loss beside the closed-form
// floor of docs/THEORY.md §3 where one exists.
#include <fmt/core.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/callbacks.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/theory/predict.hpp"

namespace dsignsgd::cli {
namespace {

struct CompareCommand {
  TrainOptions base;
  double sigma = 1.0;
  std::string randk = "randk:0.1";
  std::string out = "results/compare";
};

/// The predicted floor of a run (theory/predict), ∞ when the noise leaves no finite floor, NaN
/// when docs/THEORY.md §3 has no closed form.
double predicted_floor(const TrainResult& result) {
  const MethodFloor floor = predict(result.plan).floor;
  if (floor.finite_floor == false) return std::numeric_limits<double>::infinity();
  return floor.value_or_nan();
}

std::string format_value(double value) {
  if (std::isnan(value)) return "–";
  if (std::isinf(value)) return "none (∞)";
  return fmt::format("{:.4g}", value);
}

struct CompareCase {
  std::string method, compressor, noise;
};

/// The six cases, resolved before anything runs (a bad --randk is refused under its own name).
std::vector<RunPlan> compare_plans(const CompareCommand& state, std::vector<CompareCase>& cases) {
  if (!(state.sigma > 0.0) || !std::isfinite(state.sigma)) {  // D20: not "--noise 'gaussian:inf'"
    throw ConfigError("sigma", fmt::format("{}", state.sigma), "must be > 0 and finite");
  }
  const std::string s = fmt::format("{}", state.sigma);
  for (const std::string& noise : {"gaussian:" + s, "cauchy:" + s}) {
    cases.push_back({"dsgd", "identity", noise});
    cases.push_back({"dcsgd", state.randk, noise});
    cases.push_back({"dsignsgd", "sign", noise});
  }
  std::vector<RunPlan> plans;
  for (const CompareCase& item : cases) {
    TrainOptions options = state.base;
    options.method = item.method;
    options.compressor = item.compressor;
    options.noise = item.noise;
    try {
      plans.push_back(make_run_plan(options));
    } catch (const ConfigError& e) {
      if (e.option() != "compressor") throw;
      throw ConfigError("randk", state.randk, e.constraint());  // the flag compare has
    }
  }
  return plans;
}

int run_compare(const CompareCommand& state) {
  std::vector<CompareCase> cases;
  const std::vector<RunPlan> plans = compare_plans(state, cases);
  prepare_out_dir(state.out);
  std::ostringstream csv;
  csv << "method,compressor,noise,tail_loss_mean,tail_loss_stderr,predicted_floor,"
         "diverged_runs,runs,uplink_bits_per_coordinate\n";
  std::cout << fmt::format("quadratic {} d = {}, N = {}, η = {}, K = {}, R = {}, x0 = {}\n\n",
                           state.base.problem.hessian, plans.front().problem.dim,
                           plans.front().workers, plans.front().lr, plans.front().steps,
                           plans.front().runs, plans.front().problem.x0);
  std::cout << fmt::format("{:<10} {:<11} {:<12} {:>22} {:>12} {:>9} {:>10}\n", "method",
                           "compressor", "noise", "tail loss ± s.e.", "predicted", "diverged",
                           "bits/coord");
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const CompareCase& item = cases[c];
    ProgressBar bar(item.method + " " + item.noise);
    OnProgress progress([&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); });
    const TrainResult result = train(plans[c], {&progress});
    bar.finish();
    const std::string name = item.method + "_" + item.noise.substr(0, item.noise.find(':'));
    write_train_outputs(result, std::filesystem::path(state.out) / name);
    const LossSummary loss = summarize_loss(result);
    const double predicted = predicted_floor(result);
    const double bits =
        static_cast<double>(result.uplink_bits_per_step) / static_cast<double>(result.dim);
    const std::string measured =
        loss.tail_loss.count == 0
            ? "all diverged"
            : mean_and_stderr(loss.tail_loss, 4, 2);
    std::cout << fmt::format("{:<10} {:<11} {:<12} {:>22} {:>12} {:>5}/{:<3} {:>10.3f}\n",
                             item.method, result.plan.compressor->name(), item.noise, measured,
                             format_value(predicted), loss.diverged_runs, result.plan.runs,
                             bits);
    csv << fmt::format("{},{},{},{},{},{},{},{},{}\n", item.method,
                       result.plan.compressor->name(), item.noise, loss.tail_loss.mean,
                       standard_error(loss.tail_loss), predicted, loss.diverged_runs, result.plan.runs,
                       bits);
  }
  write_file_atomic(std::filesystem::path(state.out) / "compare.csv", csv.str());
  std::cout << "\npredicted: docs/THEORY.md §3 floors (DSGD, DCSGD rand-k exact; DSignSGD linear phase);"
               " 'none' = infinite-variance noise, no finite floor.\n"
            << "wrote " << state.out
            << "/compare.csv and one metrics.csv/summary.json per row\n";
  return 0;
}

}  // namespace

Runner add_compare_command(CLI::App& app) {
  auto state = std::make_shared<CompareCommand>();
  CLI::App* c = app.add_subcommand(
      "compare", "DSGD vs DCSGD (rand-k) vs DSignSGD under Gaussian and Cauchy noise");
  TrainOptions& base = state->base;
  base.problem.dim = 100;
  base.workers = 4;
  base.lr = 0.01;
  base.steps = 4000;
  base.runs = 16;
  base.problem.x0 = 1.0;
  c->add_option("--dim", base.problem.dim, "dimension d (default 100)")->check(whole_number());
  c->add_option("--hessian", base.problem.hessian, "quadratic spectrum")->capture_default_str();
  c->add_option("--workers", base.workers, "agents N")->capture_default_str();
  c->add_option("--lr", base.lr, "learning rate η (default 0.01)");
  c->add_option("--steps", base.steps, "iterations K (default 4000)");
  c->add_option("--runs", base.runs, "independent runs R (default 16)");
  c->add_option("--seed", base.seed, "master seed")->check(whole_number())->capture_default_str();
  c->add_option("--threads", base.threads, "worker threads (0: all cores)");
  c->add_option("--sigma", state->sigma, "noise scale σ of both noises")->capture_default_str();
  c->add_option("--randk", state->randk, "DCSGD's compressor")->capture_default_str();
  add_out_option(*c, state->out, "compare.csv and one metrics.csv/summary.json per case");
  return [state]() { return run_compare(*state); };
}

}  // namespace dsignsgd::cli
