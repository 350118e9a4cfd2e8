#include "dsignsgd/theory/predict.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/norm.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/random/stream.hpp"
#include "dsignsgd/optim/run_plan.hpp"
#include "dsignsgd/theory/stationary.hpp"

namespace dsignsgd {
namespace {

/// Linear-phase validity threshold: predicted stationary RMS gradient per coordinate / σ.
constexpr double kLinearPhaseRatio = 0.3;

nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

nlohmann::json number_or_null(const std::optional<double>& value) {
  return value ? number_or_null(*value) : nlohmann::json(nullptr);
}

MethodFloor unavailable(const std::string& why) {
  MethodFloor floor;
  floor.reason = why;
  return floor;
}

/// A finite value, or nothing.
std::optional<double> finite(double value) {
  return std::isfinite(value) ? std::optional<double>(value) : std::nullopt;
}

struct Setting {
  std::vector<double> eigenvalues;
  double lambda_max = 0.0;
  NoiseSpec noise;
  std::vector<double> agent_scales;
  double mean_square_scale = 1.0;  ///< (1/N) Σ s_i²
  int agents = 1;
  int batch = 1;
  double lr = 0.0;
  bool constant_schedule = true;
  bool quadratic = false;
  bool diagonal_hessian = false;  ///< H diagonal in the coordinates the compressors act on
};

/// Per-coordinate stationary variance of x_j for a linear recursion with contraction a = η κ λ_j
/// and per-step variance q: v = q / (a (2 − a)).
double max_gradient_ratio(const Setting& s, double kappa_ell_over_sigma, double step_variance,
                          double sigma) {
  double worst = 0.0;
  for (double lambda : s.eigenvalues) {
    const double a = s.lr * kappa_ell_over_sigma * lambda;
    const double v = step_variance / (a * (2.0 - a));
    worst = std::max(worst, lambda * std::sqrt(v) / sigma);
  }
  return worst;
}

/// The stationary second moments of DCSGD with a state-dependent quantizer (QSGD, natural) on a
/// quadratic whose Hessian is diagonal in the quantizer's basis, constant η. Exactly,
///   Σ_j a_j (2 − a_j) = (η² / N) (σ̄² + E[D_j(v)]),   a_j = η λ_j,   v = λ ∘ e + Z,
/// with D(v) the quantizer's conditional variance (diagonal: coordinates are rounded
/// independently) averaged over the stationary law of the error e and over the noise Z of the
/// agents. The one approximation: e is taken as N(0, diag Σ) — its covariance is exact, its law is
/// a filtered sum of quantization and gradient noise, near-Gaussian unless η λ_j is close to 1 or
/// 2. E[D(v)] is an inner Monte Carlo over fixed draws (common random numbers: the map Σ ↦ Σ' is
/// deterministic), and the fixed point is found by iteration with Aitken extrapolation; its rate
/// ρ is the linear map's spectral radius: ρ ≥ 1 means no finite second moment (mean-square
/// unstable).
struct QuantizerFixedPoint {
  double floor = INFINITY;       ///< ½ Σ_j λ_j Σ_j
  double omega_effective = NAN;  ///< Σ_j E D_j / Σ_j E v_j² at the fixed point
  bool stable = false;
};

class QuantizerMoments {
 public:
  QuantizerMoments(const Setting& s, const Compressor& compressor, std::size_t d)
      : s_(s), compressor_(compressor), d_(d) {
    draws_ = std::max<std::size_t>(512, (std::size_t{1} << 17) / std::max<std::size_t>(d, 1));
    const NoiseModel model(s.noise, s.agent_scales, s.batch);
    RandomStream rng(StreamAddress{0x0f1b, 0, 0, 0, StreamPurpose::kSdeModel});
    const std::vector<float> zero(d, 0.0f);
    normal_.resize(draws_ * d);
    noise_.resize(draws_ * d);
    for (std::size_t k = 0; k < draws_; ++k) {
      const auto agent = static_cast<std::uint32_t>(k % static_cast<std::size_t>(s.agents));
      model.sample(zero, 0.0, agent, rng, std::span<float>(noise_).subspan(k * d, d));
      for (std::size_t j = 0; j < d; ++j) normal_[k * d + j] = static_cast<float>(rng.normal());
    }
  }

  /// E[D_j(λ ∘ e + c Z)] for e ~ N(0, diag second_moment), and Σ_j E v_j² (c = 0: no noise).
  std::vector<double> conditional_variance(const std::vector<double>& second_moment,
                                           double noise_weight, double* signal) const {
    std::vector<double> mean(d_, 0.0);
    std::vector<float> v(d_), variance(d_);
    double total = 0.0;
    for (std::size_t k = 0; k < draws_; ++k) {
      for (std::size_t j = 0; j < d_; ++j) {
        v[j] = static_cast<float>(s_.eigenvalues[j] * std::sqrt(second_moment[j]) *
                                      normal_[k * d_ + j] +
                                  noise_weight * noise_[k * d_ + j]);
        total += static_cast<double>(v[j]) * v[j];
      }
      compressor_.variance_diagonal(v, variance);
      for (std::size_t j = 0; j < d_; ++j) mean[j] += variance[j];
    }
    for (double& m : mean) m /= static_cast<double>(draws_);
    if (signal != nullptr) *signal = total / static_cast<double>(draws_);
    return mean;
  }

  /// Σ' = (η² / N) (σ̄² + E D(Σ)) / (a (2 − a)), coordinate by coordinate.
  std::vector<double> step(const std::vector<double>& second_moment, double lr,
                           double noise_variance, double noise_weight, double* omega) const {
    double signal = 0.0;
    const std::vector<double> compression =
        conditional_variance(second_moment, noise_weight, &signal);
    std::vector<double> next(d_);
    double compressed = 0.0;
    for (std::size_t j = 0; j < d_; ++j) {
      const double a = lr * s_.eigenvalues[j];
      next[j] = lr * lr * (noise_variance + compression[j]) / (s_.agents * a * (2.0 - a));
      compressed += compression[j];
    }
    if (omega != nullptr) *omega = compressed / signal;
    return next;
  }

  /// The noise-free map's growth per step at η = lr (power iteration): the mean-square
  /// recursion is stable iff it is < 1. Infinity where some a_j ∉ (0, 2).
  double spectral_radius(double lr) const {
    std::vector<double> sigma(d_);
    for (std::size_t j = 0; j < d_; ++j) {
      const double a = lr * s_.eigenvalues[j];
      if (!(a > 0.0 && a < 2.0)) return INFINITY;
      sigma[j] = 1.0 / s_.eigenvalues[j];
    }
    double rate = 0.0;
    for (int k = 0; k < 24; ++k) {
      const double before = floor_of(sigma);
      sigma = step(sigma, lr, 0.0, 0.0, nullptr);
      rate = floor_of(sigma) / before;
      if (!std::isfinite(rate) || rate == 0.0) return rate;
      for (double& x : sigma) x /= rate;
    }
    return rate;
  }

  double floor_of(const std::vector<double>& second_moment) const {
    double f = 0.0;
    for (std::size_t j = 0; j < d_; ++j) f += 0.5 * s_.eigenvalues[j] * second_moment[j];
    return f;
  }

 private:
  const Setting& s_;
  const Compressor& compressor_;
  std::size_t d_;
  std::size_t draws_ = 0;
  std::vector<float> normal_, noise_;
};

/// The largest η with a finite stationary second moment: bisection of spectral_radius(η) = 1 on
/// (0, 2 / λ_max), to 0.1 % (the MC draws are fixed, so the radius is a deterministic function).
/// It depends on everything in the setting but η, so it is computed once per setting: `scale`'s
/// bisections ask predict for the floor at many η, and this search is most of a predict's cost.
double quantizer_lr_max(const QuantizerMoments& moments, const Setting& s,
                        const Compressor& compressor) {
  static std::mutex mutex;
  static std::map<std::string, double> cache;
  // Appended piece by piece: GCC 12's -Wrestrict misfires on a chain of operator+ here.
  std::string key = compressor.name();
  for (const std::string& part :
       {s.noise.to_string(), std::to_string(s.agents), std::to_string(s.batch)}) {
    key += "|";
    key += part;
  }
  for (double scale : s.agent_scales) {
    key += "|s";
    key += format_double(scale);
  }
  for (double lambda : s.eigenvalues) {
    key += "|";
    key += format_double(lambda);
  }
  {
    const std::lock_guard lock(mutex);
    if (const auto it = cache.find(key); it != cache.end()) return it->second;
  }
  double low = 0.0, high = 2.0 / s.lambda_max;
  while (high - low > 1e-3 * high) {
    const double mid = 0.5 * (low + high);
    (moments.spectral_radius(mid) < 1.0 ? low : high) = mid;
  }
  const std::lock_guard lock(mutex);
  cache[key] = low;
  return low;
}

/// Iterates Σ ↦ step(Σ) from DSGD's moments (E D = 0), extrapolating by Aitken's rule once the
/// rate ρ = Δf_k / Δf_{k−1} has settled; stops when f changes by < 1e-10 relative, or calls the
/// recursion unstable when ρ ≥ 1 persists or f exceeds 10¹² × DSGD's.
QuantizerFixedPoint solve_quantizer_moments(const QuantizerMoments& moments, const Setting& s,
                                            std::size_t d, double noise_variance) {
  QuantizerFixedPoint out;
  std::vector<double> sigma(d);
  for (std::size_t j = 0; j < d; ++j) {
    const double a = s.lr * s.eigenvalues[j];
    if (!(a > 0.0 && a < 2.0)) return out;
    sigma[j] = s.lr * s.lr * std::max(noise_variance, 1e-300) / (s.agents * a * (2.0 - a));
  }
  const double start = moments.floor_of(sigma);
  double previous_delta = NAN, previous_rate = NAN, f = start, omega = NAN;
  int settled = 0, growing = 0;
  for (int iteration = 0; iteration < 400; ++iteration) {
    std::vector<double> next = moments.step(sigma, s.lr, noise_variance, 1.0, &omega);
    const double f_next = moments.floor_of(next);
    const double delta = f_next - f;
    const double rate = delta / previous_delta;
    if (!std::isfinite(f_next) || f_next > 1e12 * start) return out;
    if (std::abs(delta) <= 1e-10 * f_next) {
      out.floor = f_next;
      out.omega_effective = omega;
      out.stable = true;
      return out;
    }
    settled = std::isfinite(rate) && std::abs(rate - previous_rate) < 1e-3 ? settled + 1 : 0;
    growing = std::isfinite(rate) && rate >= 1.0 ? growing + 1 : 0;
    if (growing >= 20) return out;  // the linear map's spectral radius is ≥ 1
    if (settled >= 3 && rate > 0.0 && rate < 1.0) {  // Aitken: the geometric tail summed
      for (std::size_t j = 0; j < d; ++j) {
        next[j] += rate / (1.0 - rate) * (next[j] - sigma[j]);
      }
      settled = 0;
      previous_delta = NAN;
    } else {
      previous_delta = delta;
    }
    previous_rate = rate;
    sigma = std::move(next);
    f = moments.floor_of(sigma);
  }
  return out;  // not converged in 400 iterations: at the stability edge, reported unstable
}

/// v̄ = (1/N) Σ_i s_i² v / B: the per-coordinate noise variance the agents' mean carries.
double per_coordinate_variance(const Setting& s) {
  return s.noise.coordinate_variance(0.0) * s.mean_square_scale / s.batch;
}

/// Why DSGD/DCSGD have no stationary floor under this noise, if they have none.
std::optional<MethodFloor> no_gradient_floor(const Setting& s, double variance) {
  if (s.noise.kind == NoiseKind::kAffine || s.noise.kind == NoiseKind::kRelative) {
    return unavailable("state-dependent noise (affine/relative): no closed-form floor");
  }
  if (!std::isfinite(variance)) {
    MethodFloor out = unavailable("infinite noise variance (" + s.noise.to_string() +
                                  "): no finite stationary floor — the loss is dominated by ever "
                                  "larger jumps");
    out.finite_floor = false;
    return out;
  }
  return std::nullopt;
}

MethodFloor gradient_method(const Setting& s, bool compressed, double omega,
                            const std::string& compressor, bool omega_measured) {
  const double variance = per_coordinate_variance(s);
  if (std::optional<MethodFloor> none = no_gradient_floor(s, variance)) return *none;
  if (compressed && std::isnan(omega)) {
    return unavailable("no closed form for " + compressor +
                       ": it does not report its variance; simulate with `dsignsgd sde "
                       "--compression-covariance monte-carlo`");
  }
  const double factor = compressed ? 1.0 + omega / s.agents : 1.0;
  const FloorPrediction floor =
      compressed ? dcsgd_randk_floor(s.eigenvalues, variance, omega, s.agents, s.lr)
                 : dsgd_floor(s.eigenvalues, variance, s.agents, s.lr);
  const double lr_max = 2.0 / (s.lambda_max * factor);
  MethodFloor out;
  out.stationary_loss = finite(floor.value);
  out.formula =
      compressed ? "Σ_j η σ² (1+ω) / (2N (2 − η λ_j (1 + ω/N)))" : "Σ_j η σ² / (2N (2 − η λ_j))";
  out.noise_variance_per_coordinate = variance;
  out.regime =
      RegimeCheck{"exact for the discrete method (quadratic, constant η)", floor.stable,
                  compressed ? "η λ_max (1 + ω/N) < 2" : "η λ_max < 2", std::nullopt, false};
  StabilityLimit stability;
  stability.lr_max = lr_max;
  stability.in_range = s.lr < lr_max;
  stability.kind = compressed ? "mean-square: beyond lr_max E f grows without bound, although "
                                "single runs may stay bounded (multiplicative compression noise)"
                              : "every run: beyond lr_max the iterates grow like |1 − η λ_max|^k";
  out.stability = stability;
  if (compressed) out.omega = omega;
  out.omega_measured = omega_measured;
  if (!floor.stable) out.reason = "η beyond the stability limit: the iterates diverge";
  return out;
}

/// DCSGD's floor with a state-dependent quantizer (QSGD, natural): the fixed point of the
/// stationary second moments (solve_quantizer_moments), its stability limit, and the regime its
/// error was measured in (docs/THEORY.md §3, tests/quantizer_floor_test.cpp).
MethodFloor quantizer_method(const Setting& s, const Compressor& compressor, std::size_t d) {
  const double variance = per_coordinate_variance(s);
  if (std::optional<MethodFloor> none = no_gradient_floor(s, variance)) return *none;
  if (!s.diagonal_hessian) {
    return unavailable("rotated Hessian: " + compressor.name() +
                       " rounds in other coordinates than H's eigenbasis; the floor is computed "
                       "for diagonal quadratics only — simulate with `dsignsgd sde "
                       "--compression-covariance monte-carlo`");
  }
  const QuantizerMoments moments(s, compressor, d);
  const QuantizerFixedPoint fixed = solve_quantizer_moments(moments, s, d, variance);
  MethodFloor out;
  out.stationary_loss = fixed.stable ? std::optional<double>(fixed.floor) : std::nullopt;
  out.formula =
      "½ Σ_j λ_j Σ_j,  Σ_j η λ_j (2 − η λ_j) = (η²/N) (σ² + E[D_j(λ ∘ e + Z)]),  e ~ N(0, diag Σ)"
      " (D: the quantizer's conditional variance, inner Monte Carlo)";
  out.noise_variance_per_coordinate = variance;
  out.omega = fixed.omega_effective;
  out.omega_measured = true;
  const double lr_max = quantizer_lr_max(moments, s, compressor);
  out.regime = RegimeCheck{
      "fixed point of the stationary second moments, e taken Gaussian: within " +
          format_double(std::round(1000 * kQuantizerFloorError) / 10) +
          " % of the method over docs/THEORY.md §3's grid (QSGD s ∈ {1, 2, 4, 16} and natural, "
          "N ∈ {1, 2, 8}, Gaussian and Student-t noise) where η ≤ " +
          format_double(kQuantizerValidFraction) + " lr_max",
      fixed.stable && s.lr <= kQuantizerValidFraction * lr_max,
      "η ≤ " + format_double(kQuantizerValidFraction) + " lr_max", std::nullopt, false};
  StabilityLimit stability;
  stability.lr_max = lr_max;
  stability.in_range = fixed.stable;
  stability.kind = "mean-square: beyond lr_max E f grows without bound, although single runs may "
                   "stay bounded (multiplicative compression noise)";
  out.stability = stability;
  if (!fixed.stable) out.reason = "η beyond the stability limit: E f grows without bound";
  return out;
}

MethodFloor sign_method(const Setting& s, bool majority) {
  if (s.noise.kind == NoiseKind::kNone) {
    return unavailable("no noise: the sign method oscillates at the scale of η, no linear phase");
  }
  if (s.noise.kind == NoiseKind::kAffine || s.noise.kind == NoiseKind::kRelative) {
    return unavailable("state-dependent noise (affine/relative): no closed-form floor");
  }
  if (s.noise.kind == NoiseKind::kStudent && s.batch > 1) {
    return unavailable("Student-t noise with batch > 1: the batch mean has no closed-form law");
  }
  // Agent i's scale σ_i; in the linear phase the mean sign is (1/N) Σ_i ℓ g/σ_i = ℓ g/σ_H with
  // σ_H the harmonic mean, and majority vote's slope is κ_N ℓ/σ_H likewise: heterogeneous agents
  // enter through σ_H alone.
  const double per_batch =
      s.noise.kind == NoiseKind::kGaussian ? 1.0 / std::sqrt(static_cast<double>(s.batch)) : 1.0;
  double inverse_sum = 0.0;
  double smallest = INFINITY;
  for (int i = 0; i < s.agents; ++i) {
    const double scale = s.agent_scales.empty() ? 1.0 : s.agent_scales[static_cast<std::size_t>(i)];
    inverse_sum += 1.0 / (s.noise.sigma * scale * per_batch);
    smallest = std::min(smallest, s.noise.sigma * scale * per_batch);
  }
  const double sigma = s.agents / inverse_sum;  // σ_H
  const double ell = s.noise.small_signal_slope();
  const double kappa = majority ? majority_vote_slope(s.agents) : 1.0;
  const FloorPrediction floor = majority
                                    ? majority_floor(s.eigenvalues, sigma, ell, s.agents, s.lr)
                                    : dsignsgd_floor(s.eigenvalues, sigma, ell, s.agents, s.lr);
  const double step_variance = majority ? s.lr * s.lr : s.lr * s.lr / s.agents;
  // The linear phase needs |∇f_j| ≪ σ_i for every agent: the smallest σ_i binds.
  const double ratio =
      floor.stable ? max_gradient_ratio(s, kappa * ell / sigma, step_variance, smallest) : NAN;
  const bool linear = floor.stable && ratio < kLinearPhaseRatio;
  MethodFloor out;
  out.stationary_loss = finite(floor.value);
  out.formula =
      std::string(majority ? "Σ_j η σ / (2 κ_N ℓ (2 − η κ_N ℓ λ_j / σ)) ≈ η σ d / (4 κ_N ℓ)"
                           : "Σ_j η σ / (2 ℓ N (2 − η ℓ λ_j / σ)) ≈ η σ d / (4 ℓ N)") +
      (s.agent_scales.empty() ? "" : ", σ = harmonic mean of the agents' σ_i");
  out.ell = ell;
  out.sigma = sigma;
  out.vote_slope_kappa = kappa;
  if (majority && s.agents % 2 == 0) {
    out.tie_probability = majority_tie_probability(s.agents);
    out.tie_floor_factor = 1.0 / (1.0 - *out.tie_probability);
  }
  out.regime = RegimeCheck{"linear phase: stationary |∇f_j| ≪ σ", linear,
                           "max_j λ_j √Var(x_j) / min_i σ_i < " + format_double(kLinearPhaseRatio),
                           finite(ratio), true};
  StabilityLimit stability;
  stability.lr_max = 2.0 * sigma / (kappa * ell * s.lambda_max);
  stability.in_range = s.lr < stability.lr_max;
  stability.note =
      "sign methods stay bounded for every η; beyond lr_max the linear-phase "
      "recursion overshoots and the formula does not apply";
  out.stability = stability;
  return out;
}

nlohmann::json floor_json(const MethodFloor& f) {
  nlohmann::json out = {{"stationary_loss", number_or_null(f.stationary_loss)}};
  if (!f.reason.empty()) out["reason"] = f.reason;
  if (f.finite_floor) out["finite_floor"] = *f.finite_floor;
  if (!f.formula.empty()) out["formula"] = f.formula;
  if (!f.compressor.empty()) out["compressor"] = f.compressor;
  if (f.noise_variance_per_coordinate) {
    out["noise_variance_per_coordinate"] = *f.noise_variance_per_coordinate;
  }
  if (f.omega) out["omega"] = *f.omega;
  if (f.omega_measured) out["omega_measured"] = true;
  if (f.ell) out["ell"] = *f.ell;
  if (f.sigma) out["sigma"] = *f.sigma;
  if (f.vote_slope_kappa) out["vote_slope_kappa"] = *f.vote_slope_kappa;
  if (f.tie_probability) {
    out["ties"] = {{"probability", *f.tie_probability},
                   {"floor_factor", *f.tie_floor_factor},
                   {"note",
                    "even N: a tie of the votes is broken by a fair coin (the 1-bit "
                    "downlink cannot carry 0), so the vote's variance stays 1 instead of "
                    "1 − P(tie) and the floor is floor_factor times that of sign(0) = 0"}};
  }
  if (f.regime) {
    out["regime"] = {
        {"name", f.regime->name}, {"valid", f.regime->valid}, {"condition", f.regime->condition}};
    if (f.regime->reports_gradient_ratio) {
      out["regime"]["max_gradient_to_sigma"] = number_or_null(f.regime->max_gradient_to_sigma);
    }
  }
  if (f.stability) {
    out["stability"] = {{"lr_max", f.stability->lr_max}, {"in_range", f.stability->in_range}};
    if (!f.stability->kind.empty()) out["stability"]["kind"] = f.stability->kind;
    if (!f.stability->note.empty()) out["stability"]["note"] = f.stability->note;
  }
  return out;
}

/// The stationary floor of `info` on the quadratic of `s`, sending `compressor` (null: the
/// method's default compressor).
MethodFloor method_floor(const Setting& s, const MethodInfo& info,
                         std::shared_ptr<const Compressor> compressor, std::size_t d) {
  switch (info.model) {
    case ModelFamily::kGradient: {
      if (info.dense()) return gradient_method(s, false, 0.0, "identity", false);
      if (!compressor) compressor = make_compressor(info.default_compressor);
      // Rand-k's ω is exact; QSGD's and natural's variance depends on the vector rounded:
      // their floor is the fixed point of the stationary moments.
      const CovarianceForm form = compressor->covariance_form();
      MethodFloor floor =
          form == CovarianceForm::kDiagonal
              ? quantizer_method(s, *compressor, d)
              : gradient_method(s, true,
                                form == CovarianceForm::kSampling ? compressor->omega(d) : NAN,
                                compressor->name(), false);
      floor.compressor = compressor->name();
      return floor;
    }
    case ModelFamily::kSign:
      return sign_method(s, info.majority_vote());
    case ModelFamily::kNone:
      break;
  }
  return unavailable("no closed-form floor for " + info.name);
}

}  // namespace

Prediction predict(const TrainOptions& options, const PredictOptions& predict_options) {
  return predict(make_run_plan(options), predict_options);
}

namespace {

/// What the closed forms need of the plan and its problem.
Setting setting_of(const RunPlan& plan, const Problem& problem) {
  Setting s;
  s.noise = plan.noise;
  s.agents = plan.workers;
  s.batch = plan.batch;
  s.lr = plan.lr;
  s.constant_schedule = plan.schedule.kind == ScheduleKind::kConst && plan.schedule.warmup == 0;
  s.eigenvalues = problem.hessian_eigenvalues();
  s.quadratic = !s.eigenvalues.empty();
  s.diagonal_hessian = s.quadratic && problem.separable();
  for (double lambda : s.eigenvalues) s.lambda_max = std::max(s.lambda_max, lambda);
  if (!plan.agent_scales.empty()) {
    s.agent_scales = plan.agent_scales;
    double sum = 0.0;
    for (double scale : s.agent_scales) sum += scale * scale;
    s.mean_square_scale = sum / s.agent_scales.size();
  }
  return s;
}

/// The stationary floors (quadratic, constant η) of every method with a model, and the plan's.
void predict_floors(const Setting& s, const RunPlan& plan, std::size_t d, Prediction& out) {
  // Every method with a model has a closed-form floor on a quadratic.
  for (const MethodInfo* info : methods_with_model()) {
    out.methods[info->name] =
        !s.quadratic ? unavailable("not a quadratic: no closed-form stationary floor")
        : !s.constant_schedule
            ? unavailable("decaying schedule: the floor shrinks with η_k, no stationary value")
            : method_floor(s, *info, info == plan.method ? plan.compressor : nullptr, d);
  }
  out.floor = out.methods.count(plan.method->name) != 0
                  ? out.methods[plan.method->name]
                  : unavailable("no closed-form floor for " + plan.method->name);
}

/// [B]'s step bounds at x0 for an (L0, L1)-smooth problem, with the problem's own constants.
L0L1Bounds l0l1_bounds(const Setting& s, const RunPlan& plan, const Problem& problem,
                       const SmoothnessConstants& smooth, double epsilon) {
  const std::size_t d = plan.problem.dim;
  std::vector<float> x0(d, static_cast<float>(plan.problem.x0));
  std::vector<float> grad(d);
  problem.loss_and_gradient(x0, grad);
  const double norm = l2_norm(grad);
  const double omega = std::isnan(plan.compressor->omega(d)) ? 0.0 : plan.compressor->omega(d);
  const double s0 = s.noise.kind == NoiseKind::kAffine ? s.noise.sigma0 : 0.0;
  const double s1 = s.noise.kind == NoiseKind::kAffine     ? s.noise.sigma1
                    : s.noise.kind == NoiseKind::kRelative ? s.noise.sigma
                                                           : 0.0;
  const double dd = static_cast<double>(d);
  L0L1Bounds b;
  b.l0 = smooth.l0;
  b.l1 = smooth.l1;
  b.a = 1.0 + (omega + dd * (s1 * s1 * omega + s1 * s1)) / s.agents;
  b.c = smooth.l1 * dd * (s0 * s0 + s0 * s0 * omega) / s.agents;
  b.epsilon = epsilon;
  b.g_at_x0 = smooth.l0 + smooth.l1 * norm;
  b.lr_max_at_x0 = 2.0 * epsilon / (b.g_at_x0 * b.a + b.c);
  return b;
}

}  // namespace

Prediction predict(const RunPlan& plan, const PredictOptions& predict_options) {
  if (!(predict_options.epsilon > 0.0) || !std::isfinite(predict_options.epsilon)) {
    throw ConfigError("epsilon", format_double(predict_options.epsilon), "must be > 0 and finite");
  }
  if (plan.has_data) {
    throw ConfigError("problem", plan.problem.name,
                      "has no closed-form predictions: predict needs a synthetic problem "
                      "(quadratic, quartic, cosh)");
  }
  const std::size_t d = plan.problem.dim;
  const std::unique_ptr<Problem> problem = make_problem(seeded_problem(plan));
  const Setting s = setting_of(plan, *problem);

  Prediction out;
  out.method = plan.method->name;
  out.compressor = plan.compressor->name();
  out.problem = problem->describe();
  out.dim = d;
  out.noise = s.noise.to_string();
  out.workers = s.agents;
  out.batch = s.batch;
  out.lr = s.lr;
  predict_floors(s, plan, d, out);
  const SmoothnessConstants smooth = problem->smoothness();
  if (smooth.l1 > 0.0) {  // not L-smooth: [B]'s setting
    out.l0l1 = l0l1_bounds(s, plan, *problem, smooth, predict_options.epsilon);
  }
  return out;
}

double MethodFloor::value_or_nan() const { return stationary_loss.value_or(std::nan("")); }

nlohmann::json prediction_json(const Prediction& p) {
  nlohmann::json out = {{"command", "predict"}, {"method", p.method}, {"compressor", p.compressor},
                        {"problem", p.problem}, {"dim", p.dim},       {"noise", p.noise},
                        {"workers", p.workers}, {"batch", p.batch},   {"lr", p.lr}};
  nlohmann::json methods = nlohmann::json::object();
  for (const auto& [name, floor] : p.methods) methods[name] = floor_json(floor);
  out["methods"] = methods;
  const nlohmann::json own = floor_json(p.floor);
  out["stationary_loss"] = own["stationary_loss"];
  for (const char* key : {"regime", "stability", "reason", "ties"}) {
    if (own.contains(key)) out[key] = own[key];
  }
  if (p.l0l1) {
    const L0L1Bounds& b = *p.l0l1;
    out["l0l1"] = {
        {"l0", b.l0},
        {"l1", b.l1},
        {"theorem_4_2",
         {{"applies_to", "DCSGD with a pre-scheduled η_t"},
          {"bound", "η η_t < 2ε / (G A + C),  G = L0 + L1 E‖∇f(X_t)‖"},
          {"A", b.a},
          {"C", b.c},
          {"epsilon", b.epsilon},
          {"G_at_x0", b.g_at_x0},
          {"lr_max_at_x0", b.lr_max_at_x0},
          {"note",
           "the admissible step shrinks as ‖∇f‖ grows: a fixed decaying schedule cannot "
           "satisfy it everywhere unless it carries 1/‖∇f‖ (normalization)"}}},
        {"theorem_4_3",
         {{"applies_to", "DSignSGD"},
          {"bound", "η η_t < ℓ_ν / K,  K = L1 d σ_H,1 / (2N) + √d (L0 + L1) M_ν"},
          {"lr_max", nullptr},
          {"reason",
           "the constants ℓ_ν and M_ν are defined in [B]'s appendix, which was not "
           "available; no number is printed"}}},
    };
  }
  return out;
}

}  // namespace dsignsgd
