#pragma once
/// @file
/// `dsignsgd predict`: the closed forms of docs/THEORY.md §3 for a run plan — stationary floors of every
/// method on quadratics, the regime each is valid in and whether the plan is in it, stability
/// limits on η, and for (L0, L1)-smooth problems [B]'s step bounds. Where no closed form exists
/// the result says so (no number, a reason) instead of giving one. The result is typed;
/// prediction_json() is the JSON the CLI prints.

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "dsignsgd/optim/run_plan.hpp"

namespace dsignsgd {

/// DCSGD's floor with QSGD or natural compression is the fixed point of the stationary second
/// moments with e taken Gaussian (predict.cpp): not exact. Over bench/quantizer_floor_grid.py's
/// grid (docs/THEORY.md §3) its relative error is at most kQuantizerFloorError where
/// η ≤ kQuantizerValidFraction × its lr_max — the regime `predict` reports as valid, and the
/// tolerance `scale --verify` allows its rules.
inline constexpr double kQuantizerFloorError = 0.035;
inline constexpr double kQuantizerValidFraction = 0.5;

struct PredictOptions {
  double epsilon = 1e-3;  ///< target accuracy ε of [B] Theorem 4.2's step bound
};

/// Where a closed form is valid, and whether the plan is there.
struct RegimeCheck {
  std::string name;
  bool valid = false;
  std::string condition;
  /// Sign methods: max_j λ_j √Var(x_j) / σ at stationarity (the linear phase needs it small).
  std::optional<double> max_gradient_to_sigma;
  bool reports_gradient_ratio = false;
};

/// The largest η for which the closed form (or the method) is stable.
struct StabilityLimit {
  double lr_max = 0.0;
  bool in_range = false;
  std::string kind;  ///< gradient methods: what happens beyond lr_max
  std::string note;  ///< sign methods: why the limit is only the formula's
};

/// One method's stationary floor, or why there is none.
struct MethodFloor {
  std::optional<double> stationary_loss;  ///< absent: no (finite) closed form, see reason
  std::string reason;                     ///< empty when nothing is to be said
  std::optional<bool> finite_floor;       ///< false: infinite noise variance, no floor at all
  std::string formula;
  std::string compressor;  ///< dcsgd: the compressor the floor is for
  std::optional<double> noise_variance_per_coordinate;
  std::optional<double> omega;
  bool omega_measured = false;  ///< dcsgd: ω measured at ∇f = 0 (QSGD, natural), not declared
  std::optional<double> ell;               ///< sign methods: small-signal slope ℓ
  std::optional<double> sigma;             ///< sign methods: noise scale σ (per batch)
  std::optional<double> vote_slope_kappa;  ///< sign methods: κ_N (1 for averaging)
  /// Majority vote with even N: P(tie) at m = 0 and the floor factor 1/(1 − P(tie)) the
  /// fair-coin tie break costs over a downlink that could carry sign(0) = 0.
  std::optional<double> tie_probability;
  std::optional<double> tie_floor_factor;
  std::optional<RegimeCheck> regime;
  std::optional<StabilityLimit> stability;

  /// The floor, NaN when there is none.
  double value_or_nan() const;
};

/// [B]'s Theorem 4.2 (DCSGD, pre-scheduled η_t) for an (L0, L1)-smooth problem.
struct L0L1Bounds {
  double l0 = 0.0;
  double l1 = 0.0;
  double a = 0.0;  ///< A = 1 + (ω + d (σ1² ω + σ1²)) / N
  double c = 0.0;  ///< C = L1 d (σ0² + σ0² ω) / N
  double epsilon = 0.0;
  double g_at_x0 = 0.0;       ///< G = L0 + L1 ‖∇f(x0)‖
  double lr_max_at_x0 = 0.0;  ///< 2ε / (G A + C)
};

struct Prediction {
  std::string method;
  std::string compressor;
  std::string problem;
  std::size_t dim = 0;
  std::string noise;
  int workers = 1;
  int batch = 1;
  double lr = 0.0;
  /// Floors of dsgd, dcsgd, dsignsgd and majority for this problem, noise, N, B and η.
  std::map<std::string, MethodFloor> methods;
  /// The plan's own method (a copy of its entry in `methods`, or a reason when it has none).
  MethodFloor floor;
  std::optional<L0L1Bounds> l0l1;  ///< for problems that are not L-smooth (L1 > 0)
};

Prediction predict(const RunPlan& plan, const PredictOptions& predict_options = {});
/// make_run_plan(options), then predict.
Prediction predict(const TrainOptions& options, const PredictOptions& predict_options = {});

/// The JSON of `dsignsgd predict` (null numbers where there is no closed form).
nlohmann::json prediction_json(const Prediction& prediction);

}  // namespace dsignsgd
