#include "dsignsgd/core/join.hpp"
#include "dsignsgd/core/enum_names.hpp"
#include "dsignsgd/theory/scaling.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/optim/method.hpp"
#include "dsignsgd/theory/predict.hpp"

namespace dsignsgd {
namespace {

constexpr int kMaxInteger = 1 << 16;  // search bound for B and N

/// A predicted floor's value, NaN when there is none or the plan is beyond its stability limit.
double floor_value(const MethodFloor& floor) {
  if (floor.stability && !floor.stability->in_range) return std::nan("");
  return floor.value_or_nan();
}

/// The closed-form floor of a configuration, NaN when there is none (data problems: never).
double floor_of(const RunPlan& plan) {
  return plan.has_data ? std::nan("") : floor_value(predict(plan).floor);
}

std::string reason_of(const RunPlan& plan) {
  const MethodFloor floor = predict(plan).floor;
  return floor.reason.empty() ? "no closed-form floor" : floor.reason;
}

/// The sign family's rules (floor linear in σ, drift through m(∇f; σ/√B)).
bool is_sign(const RunPlan& o) { return o.method->model == ModelFamily::kSign; }

double omega_of(const RunPlan& o) {
  const double omega = o.compressor->omega(o.problem.dim);
  return std::isnan(omega) ? 0.0 : omega;
}

/// Per-coordinate variance of one draw (Gaussian family, Student ν > 2) or the scale σ. A data
/// problem's noise is its own minibatch noise, of unknown variance v per sample: 1 stands for v,
/// which cancels in every ratio (plan_scaling refuses changes of the noise there).
double noise_level(const RunPlan& o, bool sign) {
  if (o.has_data) return 1.0;
  return sign ? o.noise.sigma : o.noise.coordinate_variance(0.0);
}

/// predict's floor expression for a plan with the values it used: "floor = <formula> (η = …,
/// N = …, σ² = … per coordinate, …)" — the text of the number the rules solve for. `floor` is
/// predict(plan).floor.
std::string floor_expression(const RunPlan& plan, const MethodFloor& floor) {
  std::vector<std::string> values{"η = " + significant(plan.lr, 4),
                                  "N = " + std::to_string(plan.workers),
                                  "B = " + std::to_string(plan.batch)};
  if (floor.noise_variance_per_coordinate) {
    values.push_back("σ² = " + significant(*floor.noise_variance_per_coordinate, 4) +
                     " per coordinate and batch");
  }
  if (floor.omega) {
    values.push_back(std::string(floor.omega_measured ? "ω measured at ∇f = 0 " : "ω ") + "= " +
                     significant(*floor.omega, 4));
  }
  if (floor.sigma) values.push_back("σ = " + significant(*floor.sigma, 4) + " per batch");
  if (floor.ell) values.push_back("ℓ = " + significant(*floor.ell, 4));
  if (floor.vote_slope_kappa && plan.method->majority_vote()) {
    values.push_back("κ_N = " + significant(*floor.vote_slope_kappa, 4));
  }
  return "floor = " + floor.formula + " (predict's expression; " + join(values, ", ") + ")";
}

ScalingRule floor_rule_lr(const RunPlan& changed, double target) {
  // The floor increases with η (within the stability range): bisection on [0, η_max).
  ScalingRule rule;
  rule.adjust = "lr";
  double lo = 0.0;
  double hi = changed.lr;
  RunPlan probe = changed;
  // Grow hi until the floor exceeds the target or the model leaves its range.
  for (int i = 0; i < 60; ++i) {
    probe.lr = hi;
    const double f = floor_of(probe);
    if (!(f < target)) break;
    lo = hi;
    hi *= 2.0;
  }
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    probe.lr = mid;
    const double f = floor_of(probe);
    if (f < target) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  rule.adjusted = changed;
  rule.adjusted.lr = lo;
  // The same time horizon T = K η, so the transient is as far along as in the base run.
  rule.adjusted.steps = std::max<std::int64_t>(
      1, std::llround(static_cast<double>(changed.steps) * changed.lr / lo));
  rule.predicted = floor_of(rule.adjusted);
  rule.exact = true;
  return rule;
}

/// Smallest integer value of batch or workers whose floor is at most target.
std::optional<ScalingRule> floor_rule_integer(const RunPlan& changed, double target,
                                              const std::string& knob) {
  RunPlan probe = changed;
  int& value = knob == "batch" ? probe.batch : probe.workers;
  const int start = value;
  // Floors decrease with B and N; exponential then binary search for the first value <= target.
  int lo = start;
  int hi = start;
  while (hi < kMaxInteger) {
    value = hi;
    const double f = floor_of(probe);
    if (f <= target * (1.0 + 1e-12)) break;
    lo = hi;
    hi *= 2;
  }
  if (hi >= kMaxInteger) return std::nullopt;
  while (hi - lo > 1) {
    const int mid = lo + (hi - lo) / 2;
    value = mid;
    if (floor_of(probe) <= target * (1.0 + 1e-12)) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  value = hi;
  if (knob == "workers" && !probe.agent_scales.empty()) return std::nullopt;
  ScalingRule rule;
  rule.adjust = knob;
  rule.adjusted = probe;
  rule.predicted = floor_of(probe);
  rule.exact = false;  // integer: the floor is reached from below
  return rule;
}

/// The change as the user gave it: which options it touched, and its text for messages.
struct Changes {
  std::vector<std::string> keys;
  std::string text;  ///< "compressor=qsgd:4, workers=8" (as given)

  explicit Changes(const std::vector<std::string>& changes) : text(join(changes, ", ")) {
    for (const std::string& change : changes) keys.push_back(change.substr(0, change.find('=')));
  }
  bool touched(const std::string& key) const {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  }
};

/// The derivation of the smallest integer B or N reaching the base floor, with its first-order
/// estimate: floor ∝ knob^(−1), or knob^(−1/2) with `square_root`.
std::string integer_rule_derivation(const ScalingPlan& plan, const std::string& knob,
                                    const std::string& form, bool square_root) {
  const int current = knob == "batch" ? plan.changed.batch : plan.changed.workers;
  const double ratio = plan.changed_floor / plan.base_floor;
  const std::string fb = significant(plan.base_floor, 4), fc = significant(plan.changed_floor, 4);
  const std::string power = square_root ? "²" : "";
  return "smallest integer " + knob + " with " + form + " ≤ floor_base = " + fb +
         "; to first order floor ∝ " + knob + (square_root ? "^(−1/2)" : "^(−1)") + ", so " +
         knob + "' = " + knob + " · (floor_changed / floor_base)" + power + " = " +
         std::to_string(current) + " · (" + fc + " / " + fb + ")" + power + " = " +
         significant(current * (square_root ? ratio * ratio : ratio), 4);
}

void plan_floor(ScalingPlan& plan, const Changes& changes) {
  plan.base_floor = floor_of(plan.base);
  // Predicted once: its value is the changed floor, its expression the rules' derivations.
  const std::optional<MethodFloor> changed_floor =
      plan.changed.has_data ? std::nullopt : std::optional(predict(plan.changed).floor);
  plan.changed_floor = changed_floor ? floor_value(*changed_floor) : std::nan("");
  if (std::isnan(plan.base_floor)) {
    throw ConfigError("from", plan.base.method->name,
                      "the base configuration has no closed-form floor (" + reason_of(plan.base) +
                          "); no floor rule applies");
  }
  if (std::isnan(plan.changed_floor)) {
    throw ConfigError("change", changes.text,
                      "the changed configuration has no closed-form floor (" +
                          reason_of(plan.changed) + ")");
  }
  const bool sign = is_sign(plan.changed);
  const NoiseSpec& noise = plan.changed.noise;
  const auto touched = [&](const std::string& key) { return changes.touched(key); };
  // As predict's floor: QSGD's and natural's is the fixed point of the stationary moments
  // (predict.cpp's quantizer_method), an approximation with a measured error; rand-k's is exact.
  const bool quantizer = !sign && !plan.changed.method->dense() &&
                         plan.changed.compressor->covariance_form() == CovarianceForm::kDiagonal;
  const bool majority_vote = sign && plan.changed.method->majority_vote();
  // The floor as predict computes it: its own expression and the values it used (one source).
  const std::string form = floor_expression(plan.changed, *changed_floor);
  const std::string fb = significant(plan.base_floor, 4), fc = significant(plan.changed_floor, 4);
  if (!touched("lr")) {
    ScalingRule rule = floor_rule_lr(plan.changed, plan.base_floor);
    rule.exact = !quantizer;
    rule.tolerance = quantizer ? kQuantizerFloorError : 0.0;
    rule.derivation = "solve " + form + " = floor_base = " + fb + " for η by bisection" +
                      (quantizer ? " (predict's fixed point, within its stated error)" : "") +
                      "; to first order floor ∝ η, so η' = η · floor_base / floor_changed = " +
                      significant(plan.changed.lr, 4) + " · " + fb + " / " + fc + " = " +
                      significant(plan.changed.lr * plan.base_floor / plan.changed_floor, 4);
    rule.limits = rule.adjusted.lr < plan.changed.lr
                      ? "a smaller η slows convergence: the time to reach the floor grows like 1/η"
                      : "a larger η moves closer to the stability limit (predict's lr_max)";
    plan.rules.push_back(rule);
  }
  for (const char* knob : {"batch", "workers"}) {
    if (touched(knob)) continue;
    if (std::string(knob) == "batch" && sign && noise.kind == NoiseKind::kCauchy) {
      plan.no_rule.push_back("batch: the mean of B Cauchy draws is Cauchy with the same scale, so "
                             "the batch size does not move DSignSGD's floor");
      continue;
    }
    if (std::string(knob) == "batch" && sign && noise.kind == NoiseKind::kStudent) {
      plan.no_rule.push_back("batch: with Student-t noise the batch mean has no closed-form law");
      continue;
    }
    auto rule = floor_rule_integer(plan.changed, plan.base_floor, knob);
    if (!rule) {
      plan.no_rule.push_back(std::string(knob) + ": no value up to 65536 reaches the base floor" +
                             (plan.changed.agent_scales.empty() ? ""
                                                                : " (per-agent scales are fixed)"));
      continue;
    }
    rule->tolerance = quantizer ? kQuantizerFloorError : 0.0;
    rule->from_below = true;
    // To first order the floor falls like 1/B or 1/N, except DSignSGD's with B (σ_B ∝ 1/√B)
    // and majority vote's with N (κ_N ≈ √(2N/π)): like their square roots.
    const bool batch = std::string(knob) == "batch";
    rule->derivation = integer_rule_derivation(plan, knob, form,
                                               (sign && batch) || (majority_vote && !batch));
    rule->limits = batch ? "B draws per agent per step cost B× the computation"
                   : majority_vote ? "majority vote's floor falls only like 1/√N (κ_N ≈ √(2N/π))"
                                   : "more agents cost more communication per step";
    plan.rules.push_back(*rule);
  }
}

/// A batch change for DSignSGD: in the linear phase a step moves by η m ≈ η κ ℓ ∇f/σ_B on average
/// with variance ≈ η²/N. Over K steps the drift is η K κ ℓ ∇f/σ_B and the spread η² K/N; both stay
/// when σ_B → σ_B' with η' = η σ_B/σ_B' and K' = K (σ_B'/σ_B)² — for σ_B ∝ 1/√B, η' = η √(B'/B)
/// and K' = K B/B': B/ℓ takes η/√ℓ over ℓK steps, the rule SVAG supports (docs/PYTHON.md), not
/// SGD's η/ℓ.
void plan_sign_batch(ScalingPlan& plan) {
  const RunPlan& b = plan.base;
  const RunPlan& c = plan.changed;
  const double ratio = static_cast<double>(c.batch) / b.batch;  // B'/B
  ScalingRule rule;
  rule.adjust = "lr";
  rule.adjusted = c;
  rule.adjusted.lr = b.lr * std::sqrt(ratio);
  rule.adjusted.steps = std::max<std::int64_t>(1, std::llround(b.steps / ratio));
  rule.exact = false;
  rule.derivation = "DSignSGD in the linear phase moves by η κ ℓ ∇f/σ_B per step with variance "
                    "η²/N: over K steps drift η K κ ℓ ∇f/σ_B and spread η² K/N, both kept by "
                    "σ_B → σ_B' with η' = η σ_B/σ_B', K' = K (σ_B'/σ_B)², i.e. for σ_B ∝ 1/√B: "
                    "η' = η · " + format_double(std::sqrt(ratio)) + " = √(B'/B) η over K' = K B/B' "
                    "steps (B → B/ℓ: η/√ℓ over ℓK, not SGD's η/ℓ)";
  rule.limits = "the linear phase |∇f| ≪ σ_B (early training with large gradients is not in it); "
                "σ_B ∝ 1/√B needs a noise variance (tail index > 2: heavier tails shrink σ_B more "
                "slowly with B)";
  plan.rules.push_back(rule);
  plan.no_rule.push_back("workers: the drift's σ_B/√B does not depend on N");
}

/// DSignSGD's trajectory rules: its SDE depends on η and N only through η/N.
void plan_sign_trajectory(ScalingPlan& plan, const Changes& changes) {
  const RunPlan& b = plan.base;
  const RunPlan& c = plan.changed;
  const auto touched = [&](const std::string& key) { return changes.touched(key); };
  // Invariants: η/N (diffusion) and σ/√B (drift through m).
  if (touched("noise") || (touched("batch") && (touched("lr") || touched("workers")))) {
    throw ConfigError("change", changes.text,
                      "DSignSGD's drift −m(∇f; σ/√B) changes with σ: no trajectory rule keeps "
                      "it (use --keep floor); a batch change alone has one (η √(B'/B), K B/B')");
  }
  if (touched("batch")) {
    plan_sign_batch(plan);
    return;
  }
  const double ratio_lr = c.lr / b.lr;
  const double ratio_n = static_cast<double>(c.workers) / b.workers;
  if (!touched("lr")) {
    ScalingRule rule;
    rule.adjust = "lr";
    rule.adjusted = c;
    rule.adjusted.lr = b.lr * ratio_n;
    rule.adjusted.steps = std::max<std::int64_t>(1, std::llround(b.steps / ratio_n));
    rule.exact = true;
    rule.derivation = "DSignSGD's SDE dX = −m(∇f) dt + √(η/N) √(1 − m²) dW depends on η and N "
                      "only through η/N: (η, N) → (κη, κN) leaves it unchanged, reached in K/κ "
                      "steps (linear speed-up, [A]); κ = N'/N = " +
                      std::to_string(c.workers) + "/" + std::to_string(b.workers) +
                      ": η' = " + significant(b.lr, 4) + " · " + significant(ratio_n, 4) + " = " +
                      significant(rule.adjusted.lr, 4) + " over K' = " +
                      std::to_string(rule.adjusted.steps) + " steps";
    rule.limits = "first-order SDE: larger η makes the discrete method deviate from the SDE "
                  "by O(η)";
    plan.rules.push_back(rule);
  }
  if (!touched("workers")) {
    const double n = b.workers * ratio_lr;
    if (std::abs(n - std::round(n)) < 1e-9 && n >= 1) {
      ScalingRule rule;
      rule.adjust = "workers";
      rule.adjusted = c;
      rule.adjusted.workers = static_cast<int>(std::round(n));
      rule.adjusted.steps = std::max<std::int64_t>(1, std::llround(b.steps / ratio_lr));
      rule.exact = true;
      rule.derivation = "η/N fixed: N' = N η'/η = " + std::to_string(b.workers) + " · " +
                        significant(ratio_lr, 4) + " = " + std::to_string(rule.adjusted.workers) +
                        ", K' = K η/η' = " + std::to_string(rule.adjusted.steps);
      rule.limits = "N must come out an integer";
      plan.rules.push_back(rule);
    } else {
      plan.no_rule.push_back("workers: N η'/η is not an integer");
    }
  }
}

/// DSGD's and DCSGD's trajectory rules: the invariant η (1+ω) v / (N B), drift −∇f.
void plan_gradient_trajectory(ScalingPlan& plan, const Changes& changes) {
  const RunPlan& b = plan.base;
  const RunPlan& c = plan.changed;
  const auto touched = [&](const std::string& key) { return changes.touched(key); };
  const double q_base = b.lr * (1.0 + omega_of(b)) * noise_level(b, false) / (b.workers * b.batch);
  const double q_changed =
      c.lr * (1.0 + omega_of(c)) * noise_level(c, false) / (c.workers * c.batch);
  if (!std::isfinite(q_base) || !std::isfinite(q_changed)) {
    throw ConfigError("change", changes.text,
                      "infinite noise variance: the SDE has no diffusion limit");
  }
  const double ratio = q_changed / q_base;  // diffusion² grew by this factor
  const bool compressed = omega_of(c) > 0.0 || omega_of(b) > 0.0;
  const std::string limits =
      compressed ? "exact only where the gradient noise dominates: the rand-k covariance also has "
                   "a term η ω ∇f²/N that these rules do not hold fixed"
                 : "first-order SDE: the discrete method deviates by O(η)";
  if (!touched("lr")) {
    ScalingRule rule;
    rule.adjust = "lr";
    rule.adjusted = c;
    rule.adjusted.lr = c.lr / ratio;
    rule.adjusted.steps = std::max<std::int64_t>(1, std::llround(b.steps * b.lr / rule.adjusted.lr));
    rule.exact = !compressed;
    rule.derivation = "dX = −∇f dt + √(q) dW with q = η (1+ω) v / (N B) = " +
                      significant(q_base, 4) + " in the base and " + significant(q_changed, 4) +
                      " after the change: η' = η · " + format_double(1 / ratio) + " = " +
                      significant(rule.adjusted.lr, 4) + " keeps q, K' = T/η' = " +
                      std::to_string(rule.adjusted.steps) + " steps reach the same time T";
    rule.limits = limits;
    plan.rules.push_back(rule);
  }
  for (const char* knob : {"batch", "workers"}) {
    if (touched(knob)) continue;
    const int current = std::string(knob) == "batch" ? c.batch : c.workers;
    const double wanted = current * ratio;
    const double off = std::abs(wanted - std::round(wanted));
    // Within 1 % of an integer (rand-k keeps round(q d) coordinates, so ω is 3.0008, not 3):
    // the integer, and the derivation says how far it is.
    if (off > 0.01 * wanted || wanted < 0.995) {
      plan.no_rule.push_back(std::string(knob) + ": " + knob + " · " + format_double(ratio) +
                             " is not a positive integer");
      continue;
    }
    ScalingRule rule;
    rule.adjust = knob;
    rule.adjusted = c;
    (std::string(knob) == "batch" ? rule.adjusted.batch : rule.adjusted.workers) =
        static_cast<int>(std::round(wanted));
    rule.exact = !compressed;
    rule.derivation = "q = η (1+ω) v / (N B) = " + significant(q_changed, 4) + " after the change, " +
                      significant(q_base, 4) + " in the base; q fixed: " + knob + "' = " + knob +
                      " · " + format_double(ratio) +
                      (off > 1e-9 ? " = " + format_double(wanted) + ", rounded" : std::string());
    rule.limits = limits;
    plan.rules.push_back(rule);
  }
}

void plan_trajectory(ScalingPlan& plan, const Changes& changes) {
  const bool sign = is_sign(plan.changed);
  if (sign != is_sign(plan.base)) {
    throw ConfigError("change", changes.text, "a trajectory rule needs the same kind of method");
  }
  if (sign) {
    plan_sign_trajectory(plan, changes);
  } else {
    plan_gradient_trajectory(plan, changes);
  }
}

/// A data problem (a network on its own minibatch noise) has no closed-form floor, but the SDE's
/// trajectory invariants hold for any f: allowed with keep = trajectory when the noise is the
/// network's own (no injected noise, not changed). The dimension is the model's, for ω.
void require_data_trajectory(ScalingPlan& plan, const Changes& changes) {
  if (plan.invariant == ScalingInvariant::kFloor) {
    throw ConfigError("keep", "floor",
                      "a data problem has no closed-form floor; --keep trajectory holds the SDE's "
                      "invariants (η (1+ω) v / (N B), η/N for DSignSGD) for any model");
  }
  if (plan.base.problem.name != plan.changed.problem.name || changes.touched("noise") ||
      plan.base.noise.kind != NoiseKind::kNone || plan.changed.noise.kind != NoiseKind::kNone) {
    throw ConfigError("change", changes.text,
                      "on a data problem the rules hold the network's own minibatch noise fixed: "
                      "keep the problem and --noise none");
  }
  for (RunPlan* plan_of : {&plan.base, &plan.changed}) {
    const NoiseModel noise(plan_of->noise, plan_of->agent_scales, plan_of->batch);
    plan_of->problem.dim = make_problem_source(*plan_of, noise, 1)->dim();
  }
}

nlohmann::json rule_json(const ScalingRule& rule) {
  return {{"adjust", rule.adjust},
          {"lr", rule.adjusted.lr},
          {"batch", rule.adjusted.batch},
          {"workers", rule.adjusted.workers},
          {"steps", rule.adjusted.steps},
          {"predicted_floor", std::isfinite(rule.predicted) && rule.predicted > 0
                                  ? nlohmann::json(rule.predicted)
                                  : nlohmann::json(nullptr)},
          {"exact", rule.exact},
          {"tolerance", rule.tolerance},
          {"derivation", rule.derivation},
          {"limits", rule.limits}};
}

}  // namespace

ScalingInvariant scaling_invariant_from_string(const std::string& name) {
  static constexpr EnumNames<ScalingInvariant, 2> kNames{
      "keep", {{{ScalingInvariant::kFloor, "floor"}, {ScalingInvariant::kTrajectory, "trajectory"}}}};
  return kNames.from_string(name);
}

ScalingPlan plan_scaling(const TrainOptions& base, const TrainOptions& changed,
                         const std::vector<std::string>& changes, ScalingInvariant invariant) {
  return plan_scaling(make_run_plan(base), make_run_plan(changed), changes, invariant);
}

ScalingPlan plan_scaling(const RunPlan& base, const RunPlan& changed,
                         const std::vector<std::string>& changes, ScalingInvariant invariant) {
  ScalingPlan plan;
  plan.invariant = invariant;
  plan.base = base;
  plan.changed = changed;
  if (base.has_data || changed.has_data) require_data_trajectory(plan, Changes(changes));
  if (invariant == ScalingInvariant::kFloor) {
    plan_floor(plan, Changes(changes));
  } else {
    plan_trajectory(plan, Changes(changes));
  }
  for (ScalingRule& rule : plan.rules) {
    if (invariant == ScalingInvariant::kTrajectory) rule.predicted = floor_of(rule.adjusted);
  }
  return plan;
}

nlohmann::json scaling_json(const ScalingPlan& plan) {
  nlohmann::json rules = nlohmann::json::array();
  for (const ScalingRule& rule : plan.rules) rules.push_back(rule_json(rule));
  const auto floor = [](double value) {
    return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
  };
  return {{"command", "scale"},
          {"keep", plan.invariant == ScalingInvariant::kFloor ? "floor" : "trajectory"},
          {"base", plan_json(plan.base)},
          {"changed", plan_json(plan.changed)},
          {"base_floor", floor(plan.base_floor)},
          {"changed_floor", floor(plan.changed_floor)},
          {"rules", rules},
          {"no_rule", plan.no_rule}};
}

}  // namespace dsignsgd
