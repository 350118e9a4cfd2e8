// `dsignsgd scale`: hyperparameters that keep the floor or the trajectory after a change.
#include <fmt/core.h>
#include <fmt/format.h>

#include <iostream>

#include "commands.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/theory/scaling.hpp"

namespace dsignsgd::cli {
namespace {

nlohmann::json verify_json(const RunPlan& plan, SampleStatistics& tail) {
  const TrainResult result = train(plan);
  tail = summarize_loss(result).tail_loss;
  const double stderr_ = standard_error(tail);
  return {{"tail_loss_mean", tail.mean},
          {"tail_loss_stderr", std::isnan(stderr_) ? nlohmann::json(nullptr) : nlohmann::json(stderr_)},
          {"diverged_runs", summarize_loss(result).diverged_runs}};
}

struct ScaleCommand {
  std::string from;
  std::vector<std::string> changes;
  std::string keep = "floor";
  bool verify = false;
  int runs = 0;
  bool json = false;
};

/// The base configuration from --from and the changed one with every --change applied.
std::pair<TrainOptions, TrainOptions> base_and_changed(const ScaleCommand& state) {
  TrainOptions base;
  CLI::App probe{"", "train"};
  TrainOptions unused;
  add_train_options(probe, unused);
  const ConfigArguments from = config_file_arguments(state.from, probe, {}, "from");
  try {
    parse_train_arguments(base, from.arguments, "from");
  } catch (const ConfigError& e) {
    const std::string origin = from.origin_of(e.constraint());
    throw ConfigError("from", state.from, (origin.empty() ? "" : origin + ": ") + e.constraint());
  }
  TrainOptions changed = base;
  std::vector<std::string> args;
  for (const std::string& change : state.changes) {
    const auto equals = change.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw ConfigError("change", change, "must be KEY=VALUE with a key of `train`");
    }
    const std::string key = change.substr(0, equals);
    if (probe.get_option_no_throw("--" + key) == nullptr) {
      throw ConfigError("change", change, "unknown key '" + key + "'");
    }
    args.push_back("--" + change);
  }
  parse_train_arguments(changed, args, "change");
  return {base, changed};
}

/// Whether a rule's measured floor is the base's: within 3 standard errors plus the tolerance
/// of its model (QSGD/natural: predict's stated error), or at most that for an integer knob
/// (reached from below). Null when there is nothing to judge by: an approximate rule without a
/// stated tolerance, or one run per side (no standard error).
nlohmann::json verdict(const ScalingRule& rule, const SampleStatistics& tail,
                       const SampleStatistics& base, double spread) {
  if (!(tail.count > 1 && base.count > 1 && std::isfinite(spread))) return nullptr;
  if (!rule.exact && rule.tolerance == 0.0 && !rule.from_below) return nullptr;
  const double allowed = 3.0 * spread + rule.tolerance * std::abs(base.mean);
  const double off = tail.mean - base.mean;
  return rule.from_below ? off <= allowed : std::abs(off) <= allowed;
}

/// --verify: simulates the base, the changed configuration and every rule into `out`.
void verify_rules(const ScaleCommand& state, const ScalingPlan& plan, nlohmann::json& out) {
  const auto with_runs = [&](RunPlan o) {
    if (state.runs > 0) o.runs = state.runs;
    return o;
  };
  SampleStatistics base_tail, changed_tail;
  out["verify"]["base"] = verify_json(with_runs(plan.base), base_tail);
  out["verify"]["changed"] = verify_json(with_runs(plan.changed), changed_tail);
  for (std::size_t i = 0; i < plan.rules.size(); ++i) {
    SampleStatistics tail;
    nlohmann::json v = verify_json(with_runs(plan.rules[i].adjusted), tail);
    // With one run per side there is no standard error: no z (null), not ±inf.
    const double spread = std::hypot(tail.stderr_, base_tail.stderr_);
    v["z_vs_base"] = tail.count > 1 && base_tail.count > 1 && spread > 0
                         ? nlohmann::json((tail.mean - base_tail.mean) / spread)
                         : nlohmann::json(nullptr);
    v["verified"] = verdict(plan.rules[i], tail, base_tail, spread);
    out["rules"][i]["verify"] = v;
  }
}

/// A verified floor as "mean ± s.e.", or with one run "mean (1 run, no s.e.)".
std::string measured(const nlohmann::json& v) {
  const double mean = v["tail_loss_mean"].get<double>();
  return v["tail_loss_stderr"].is_null()
             ? fmt::format("{:.5g} (1 run, no s.e.)", mean)
             : fmt::format("{:.5g} ± {:.2g}", mean, v["tail_loss_stderr"].get<double>());
}

void print_plan(const ScaleCommand& state, const ScalingPlan& plan, ScalingInvariant invariant,
                const nlohmann::json& out) {
  std::cout << fmt::format("keep the {} of {} after {}\n", state.keep, plan.base.method->name,
                           fmt::join(state.changes, ", "));
  if (invariant == ScalingInvariant::kFloor) {
    std::cout << fmt::format("  predicted floor: base {:.5g}, after the change {:.5g}\n",
                             plan.base_floor, plan.changed_floor);
  }
  for (std::size_t i = 0; i < plan.rules.size(); ++i) {
    const ScalingRule& rule = plan.rules[i];
    std::cout << fmt::format("  adjust {:<8} lr {:.5g}, batch {}, workers {}, steps {}{}\n",
                             rule.adjust, rule.adjusted.lr, rule.adjusted.batch,
                             rule.adjusted.workers, rule.adjusted.steps,
                             rule.exact ? "" : "  (approximate)");
    std::cout << "           " << rule.derivation << "\n           limits: " << rule.limits
              << '\n';
    if (state.verify) {
      const auto& v = out["rules"][i]["verify"];
      const std::string z = v["z_vs_base"].is_null()
                                ? "no z: give --runs 2 or more"
                                : fmt::format("z = {:+.1f} vs base", v["z_vs_base"].get<double>());
      std::cout << fmt::format("           measured floor {} ({})\n", measured(v), z);
      if (v["verified"] == false) {
        std::cout << fmt::format(
            "           WARNING: the rule misses the base floor by more than 3 s.e.{} — do not "
            "rely on it here\n",
            rule.tolerance > 0 ? fmt::format(" + {:g} % (the model's stated error)",
                                             100 * rule.tolerance)
                               : std::string());
      }
    }
  }
  for (const std::string& why : plan.no_rule) std::cout << "  no rule: " << why << '\n';
  if (state.verify) {
    std::cout << fmt::format("  measured: base {}, changed {}\n", measured(out["verify"]["base"]),
                             measured(out["verify"]["changed"]));
  }
}

int run_scale(const ScaleCommand& state) {
  const ScalingInvariant invariant = scaling_invariant_from_string(state.keep);
  const auto [base, changed] = base_and_changed(state);
  if (state.runs < 0) throw ConfigError("runs", std::to_string(state.runs), "must be >= 1");
  const ScalingPlan plan = plan_scaling(base, changed, state.changes, invariant);
  nlohmann::json out = scaling_json(plan);
  if (state.verify) verify_rules(state, plan, out);
  if (state.json) {
    std::cout << out.dump(2) << '\n';
  } else {
    print_plan(state, plan, invariant, out);
  }
  return 0;
}

}  // namespace

Runner add_scale_command(CLI::App& app) {
  auto state = std::make_shared<ScaleCommand>();
  CLI::App* c = app.add_subcommand(
      "scale", "η, B or N that keep the floor or the trajectory when something changes");
  c->add_option("--from", state->from, "base configuration (TOML, keys of `train`)")->required();
  c->add_option("--change", state->changes, "KEY=VALUE, e.g. compressor=randk:0.1 (repeatable)")
      ->required();
  c->add_option("--keep", state->keep, "floor | trajectory")->capture_default_str();
  c->add_flag("--verify", state->verify, "simulate the base and every rule, print their floors");
  c->add_option("--runs", state->runs, "runs for --verify (default: the base configuration's)");
  c->add_flag("--json", state->json, "print JSON");
  return [state]() { return run_scale(*state); };
}

}  // namespace dsignsgd::cli
