#pragma once
/// @file
/// Hyperparameter scaling rules derived from the SDE models (docs/THEORY.md §3, [A]): given a base
/// configuration and a change (compressor, noise, workers, batch, lr), the values of η, B or N
/// that keep an invariant.
///
/// keep = floor       the stationary loss of the closed forms in theory/stationary.hpp. Each
///                    adjustable knob (lr, batch, workers; not the one changed) is solved for
///                    exactly: η by bisection of the exact closed form, B and N as the smallest
///                    integer reaching the base floor.
/// keep = trajectory  the SDE itself (drift and diffusion as functions of time t = k η):
///                    DSGD/DCSGD  dX = −∇f dt + √(η (1+ω) v / (N B)) dW  (noise-dominated regime)
///                    DSignSGD    dX = −m(∇f; σ/√B) dt + √(η/N) √(1 − m²) dW
///                    so η (1+ω) v / (N B), resp. η / N with σ/√B fixed, are the invariants; a
///                    changed η changes the number of steps K = T/η to reach the same time.
/// Every rule carries its derivation and its limits in the output.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsignsgd/optim/run_plan.hpp"

namespace dsignsgd {

enum class ScalingInvariant { kFloor, kTrajectory };
/// Throws ConfigError for option "keep".
ScalingInvariant scaling_invariant_from_string(const std::string& name);

struct ScalingRule {
  std::string adjust;        ///< lr | batch | workers
  RunPlan adjusted;          ///< the changed configuration with the knob set
  double predicted = 0.0;    ///< predicted floor of `adjusted` (keep = floor)
  bool exact = false;        ///< true when the invariant holds exactly in the model
  double tolerance = 0.0;    ///< relative error the model's floor may have (QSGD/natural)
  bool from_below = false;   ///< an integer knob: the floor is reached or passed, not hit
  std::string derivation;    ///< one line: which formula, solved for what
  std::string limits;        ///< where the rule stops holding
};

struct ScalingPlan {
  ScalingInvariant invariant = ScalingInvariant::kFloor;
  RunPlan base;
  RunPlan changed;            ///< base with the change, knobs untouched
  double base_floor = 0.0;    ///< keep = floor: predicted floors
  double changed_floor = 0.0;
  std::vector<ScalingRule> rules;
  std::vector<std::string> no_rule;  ///< knobs that cannot restore the invariant, with reasons
};

/// `changes` are the options the change touched, as KEY=VALUE (as `scale --change` takes them) or
/// bare KEY; their knobs are not adjusted. Throws ConfigError when no rule applies (e.g. no
/// closed form for the configuration): for option "from" when the base has none, else for
/// "change" with the changes as given.
ScalingPlan plan_scaling(const RunPlan& base, const RunPlan& changed,
                         const std::vector<std::string>& changes, ScalingInvariant invariant);
/// Resolves both option sets, then plans.
ScalingPlan plan_scaling(const TrainOptions& base, const TrainOptions& changed,
                         const std::vector<std::string>& changes, ScalingInvariant invariant);

nlohmann::json scaling_json(const ScalingPlan& plan);

}  // namespace dsignsgd
