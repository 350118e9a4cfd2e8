// The SDE models of DSGD, DCSGD, DSignSGD and majority vote (see sde_model.hpp).
#include <cmath>
#include <numbers>
#include <optional>

#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/enum_names.hpp"
#include "dsignsgd/core/join.hpp"
#include "dsignsgd/core/cpu_dispatch.hpp"
#include "dsignsgd/core/fast_math.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/optim/method.hpp"
#include "dsignsgd/optim/run_plan.hpp"
#include "dsignsgd/random/batch.hpp"
#include "dsignsgd/sde/sde_model.hpp"

namespace dsignsgd {
namespace {

std::vector<double> agent_scales_of(const RunPlan& plan) {
  if (!plan.agent_scales.empty()) return plan.agent_scales;
  return std::vector<double>(static_cast<std::size_t>(plan.workers), 1.0);
}

// ---- DSGD and DCSGD ---------------------------------------------------------------------------

class GradientSde final : public SdeModel {
 public:
  GradientSde(NoiseModel noise, int agents, std::shared_ptr<const Compressor> compressor,
              CompressionCovariance covariance)
      : noise_(std::move(noise)),
        agents_(agents),
        compressor_(std::move(compressor)),
        covariance_(covariance) {
    double sum = 0.0;
    for (int i = 0; i < agents_; ++i) {
      const double s = noise_.agent_scale(static_cast<std::uint32_t>(i));
      sum += s * s;
    }
    mean_square_scale_ = sum / agents_;
  }

  std::string name() const override {
    return compressor_ ? "dcsgd (" + compressor_->name() + ")" : "dsgd";
  }
  std::string covariance_description() const override {
    if (!compressor_) return "gradient-noise covariance";
    switch (covariance_) {
      case CompressionCovariance::kExact:
        return "rand-k exact compression covariance";
      case CompressionCovariance::kSurrogate:
        return "diagonal surrogate ω diag(E[(∇f + Z)²]) of the compression covariance";
      case CompressionCovariance::kMonteCarlo:
        return "Monte Carlo estimate of E_Z[Φ(∇f + Z)] (" + std::to_string(kMonteCarloDraws) +
               " noise draws per agent and step)";
    }
    return "";
  }
  bool additive_noise() const override {
    const NoiseKind kind = noise_.spec().kind;
    return !compressor_ && kind != NoiseKind::kAffine && kind != NoiseKind::kRelative;
  }
  bool coordinatewise_diffusion() const override {
    const NoiseKind kind = noise_.spec().kind;
    return (kind != NoiseKind::kAffine && kind != NoiseKind::kRelative) &&
           (!compressor_ || covariance_ == CompressionCovariance::kSurrogate);
  }

  void mean_direction(std::span<const float> grad, double, std::span<float> phi,
                      std::span<float> dphi) const override {
    std::copy(grad.begin(), grad.end(), phi.begin());
    std::fill(dphi.begin(), dphi.end(), 1.0f);
  }

  void diffusion(double step_size, SdeCoefficients& c, RandomStream& rng) const override {
    const std::size_t d = c.grad.size();
    // v̄ = (1/N) Σ_i s_i² v(||g||) / B.
    const double v =
        noise_.spec().coordinate_variance(c.grad_norm) * mean_square_scale_ / noise_.batch();
    const double scale = step_size / agents_;
    c.beta = 0.0;
    if (!compressor_) {
      std::fill(c.diffusion.begin(), c.diffusion.end(), static_cast<float>(std::sqrt(scale * v)));
      return;
    }
    const double omega = compressor_->omega(d);
    switch (covariance_) {
      case CompressionCovariance::kSurrogate:
        for (std::size_t j = 0; j < d; ++j) {
          const double g2 = static_cast<double>(c.grad[j]) * c.grad[j];
          c.diffusion[j] = static_cast<float>(std::sqrt(scale * ((1.0 + omega) * v + omega * g2)));
        }
        return;
      case CompressionCovariance::kExact: {
        // (η/N)[(1+ω) v̄ I + ω d/(d−1) diag(g²) − ω/(d−1) g gᵀ] = D − c g gᵀ
        //   = D^{1/2} (I − β u uᵀ)², u = D^{-1/2} g / ||D^{-1/2} g||, β = 1 − √(1 − γ),
        //   γ = c ||D^{-1/2} g||² (<= 1, so the matrix is positive semi-definite).
        if (d == 1) {
          std::fill(c.diffusion.begin(), c.diffusion.end(),
                    static_cast<float>(std::sqrt(scale * v)));
          return;
        }
        const double dd = static_cast<double>(d);
        const double rank_one = scale * omega / (dd - 1.0);
        double u_norm_sq = 0.0;
        for (std::size_t j = 0; j < d; ++j) {
          const double g2 = static_cast<double>(c.grad[j]) * c.grad[j];
          const double diag = scale * ((1.0 + omega) * v + omega * dd / (dd - 1.0) * g2);
          c.diffusion[j] = static_cast<float>(std::sqrt(diag));
          const double u = diag > 0.0 ? c.grad[j] / std::sqrt(diag) : 0.0;
          c.rank_one[j] = static_cast<float>(u);
          u_norm_sq += u * u;
        }
        if (u_norm_sq > 0.0) {
          const double gamma = std::min(1.0, rank_one * u_norm_sq);
          c.beta = 1.0 - std::sqrt(1.0 - gamma);
          const auto inv = static_cast<float>(1.0 / std::sqrt(u_norm_sq));
          for (float& u : c.rank_one) u *= inv;
        }
        return;
      }
      case CompressionCovariance::kMonteCarlo: {
        // v̄ + (1/(N S)) Σ_i Σ_s diag Cov[C(g + Z_is)]
        std::vector<float>& sample = c.scratch;
        std::vector<float>& variance = c.scratch2;
        std::vector<double> sum(d, 0.0);
        for (int i = 0; i < agents_; ++i) {
          for (int draw = 0; draw < kMonteCarloDraws; ++draw) {
            noise_.sample(c.grad, c.grad_norm, static_cast<std::uint32_t>(i), rng, sample);
            compressor_->variance_diagonal(sample, variance);
            for (std::size_t j = 0; j < d; ++j) sum[j] += variance[j];
          }
        }
        const double inv = 1.0 / (static_cast<double>(agents_) * kMonteCarloDraws);
        for (std::size_t j = 0; j < d; ++j) {
          c.diffusion[j] = static_cast<float>(std::sqrt(scale * (v + sum[j] * inv)));
        }
        return;
      }
    }
  }

 private:
  static constexpr int kMonteCarloDraws = 4;
  NoiseModel noise_;
  int agents_;
  std::shared_ptr<const Compressor> compressor_;  ///< null: DSGD
  CompressionCovariance covariance_;
  double mean_square_scale_ = 1.0;
};

// ---- mean sign ----------------------------------------------------------------------------------

/// m(g) = E[sign(g + Z)] and m'(g) for one agent's noise at scale sigma (docs/THEORY.md §2).
class MeanSign {
 public:
  explicit MeanSign(const NoiseSpec& spec) : spec_(spec) {
    if (spec.kind == NoiseKind::kStudent) student_.emplace(spec.nu);
  }

  void operator()(double g, double sigma, double& m, double& dm) const {
    if (sigma <= 0.0) {
      m = g > 0 ? 1.0 : g < 0 ? -1.0 : 0.0;
      dm = 0.0;
      return;
    }
    const double u = g / sigma;
    switch (spec_.kind) {
      case NoiseKind::kCauchy:
        m = 2.0 / std::numbers::pi * std::atan(u);
        dm = 2.0 / std::numbers::pi / (sigma * (1.0 + u * u));
        return;
      case NoiseKind::kStudent:
        (*student_)(u, m, dm);
        dm /= sigma;
        return;
      default:
        m = std::erf(u / std::numbers::sqrt2);
        dm = std::sqrt(2.0 / std::numbers::pi) / sigma * std::exp(-0.5 * u * u);
        return;
    }
  }

 private:
  NoiseSpec spec_;
  std::optional<StudentMeanSign> student_;
};

/// out[j] = erf(g[j] · scale), vectorized for the CPU at hand (identical results on each).
DSIGNSGD_DISPATCHED(void, erf_scaled, (const float* g, float scale, float* out, std::size_t n),
                    (g, scale, out, n)) {
  for (std::size_t j = 0; j < n; ++j) out[j] = erf_fast(g[j] * scale);
}

/// out[j] = peak · exp(−(g[j] · scale)²).
DSIGNSGD_DISPATCHED(void, gaussian_scaled,
                    (const float* g, float scale, float peak, float* out, std::size_t n),
                    (g, scale, peak, out, n)) {
  for (std::size_t j = 0; j < n; ++j) {
    const float u = g[j] * scale;
    out[j] = peak * exp_neg(-u * u);
  }
}

/// Per-agent scale of the batch-mean noise coordinate.
double agent_sign_scale(const NoiseModel& noise, std::uint32_t agent, double grad_norm) {
  const NoiseSpec& spec = noise.spec();
  const double base = spec.scale(grad_norm) * noise.agent_scale(agent);
  if (spec.kind == NoiseKind::kCauchy || spec.kind == NoiseKind::kStudent) return base;
  return base / std::sqrt(static_cast<double>(noise.batch()));
}

// ---- DSignSGD and majority vote -----------------------------------------------------------------

class SignSde final : public SdeModel {
 public:
  SignSde(NoiseModel noise, int agents, bool majority)
      : noise_(std::move(noise)), mean_sign_(noise_.spec()), agents_(agents), majority_(majority) {
    homogeneous_ = true;
    for (int i = 1; i < agents_; ++i) {
      if (noise_.agent_scale(static_cast<std::uint32_t>(i)) != noise_.agent_scale(0)) {
        homogeneous_ = false;
      }
    }
    const NoiseKind kind = noise_.spec().kind;
    fast_gaussian_ = !majority_ && homogeneous_ &&
                     (kind == NoiseKind::kGaussian || kind == NoiseKind::kAffine ||
                      kind == NoiseKind::kRelative);
  }

  std::string name() const override { return majority_ ? "majority" : "dsignsgd"; }
  std::string covariance_description() const override {
    return majority_ ? "1 − E[sign S]², S a sum of N independent ±1 votes"
                     : "(1/N) Σ_i (1 − m_i²), m_i the mean sign through the noise CDF";
  }
  bool coordinatewise_diffusion() const override {
    const NoiseKind kind = noise_.spec().kind;
    return kind != NoiseKind::kAffine && kind != NoiseKind::kRelative;
  }

  void mean_direction(std::span<const float> grad, double grad_norm, std::span<float> phi,
                      std::span<float> dphi) const override {
    const std::size_t d = grad.size();
    if (fast_gaussian_) {
      // φ = erf(g / (√2 σ)), φ' = √(2/π)/σ e^{−g²/(2σ²)}: vectorized single precision.
      const double sigma = agent_sign_scale(noise_, 0, grad_norm);
      if (sigma > 0.0) {
        const auto inv = static_cast<float>(1.0 / (std::numbers::sqrt2 * sigma));
        erf_scaled(grad.data(), inv, phi.data(), d);
        if (!dphi.empty()) {
          const auto peak = static_cast<float>(std::sqrt(2.0 / std::numbers::pi) / sigma);
          gaussian_scaled(grad.data(), inv, peak, dphi.data(), d);
        }
        return;
      }
    }
    const std::vector<double>& sigmas = agent_sigmas(grad_norm);
    for (std::size_t j = 0; j < d; ++j) {
      double value = 0.0;
      double derivative = 0.0;
      evaluate(grad[j], sigmas, value, derivative, nullptr);
      phi[j] = static_cast<float>(value);
      if (!dphi.empty()) dphi[j] = static_cast<float>(derivative);
    }
  }

  void diffusion(double step_size, SdeCoefficients& c, RandomStream&) const override {
    c.beta = 0.0;
    const std::size_t d = c.grad.size();
    const double scale = majority_ ? step_size : step_size / agents_;
    if (majority_ || homogeneous_) {
      // The variance factor is 1 − φ² (one agent's m for averaged signs, the vote's mean for
      // majority), and φ = c.scratch was just computed by SdeSystem::evaluate.
      const auto s = static_cast<float>(scale);
      for (std::size_t j = 0; j < d; ++j) {
        const float m = c.scratch[j];
        const float v = 1.0f - m * m;
        c.diffusion[j] = std::sqrt(s * (v > 0.0f ? v : 0.0f));
      }
      return;
    }
    const std::vector<double>& sigmas = agent_sigmas(c.grad_norm);
    for (std::size_t j = 0; j < d; ++j) {
      double value = 0.0;
      double derivative = 0.0;
      double variance = 0.0;
      evaluate(c.grad[j], sigmas, value, derivative, &variance);
      c.diffusion[j] = static_cast<float>(std::sqrt(scale * std::max(0.0, variance)));
    }
  }

 private:
  /// Each agent's noise scale at this gradient norm (one entry when all agents are alike).
  const std::vector<double>& agent_sigmas(double grad_norm) const {
    thread_local std::vector<double> sigmas;
    const std::size_t agents = homogeneous_ ? 1 : static_cast<std::size_t>(agents_);
    sigmas.resize(agents);
    for (std::size_t i = 0; i < agents; ++i) {
      sigmas[i] = agent_sign_scale(noise_, static_cast<std::uint32_t>(i), grad_norm);
    }
    return sigmas;
  }

  /// φ(g), φ'(g) and the per-step variance factor of one coordinate. The scratch is reached
  /// through pointers taken once per call (see sample_indices in compress/sparse.cpp: in the
  /// shared library each mention of a thread_local is a __tls_get_addr call).
  void evaluate(double g, const std::vector<double>& sigmas, double& phi, double& dphi,
                double* variance) const {
    thread_local std::vector<double> m_storage, dm_storage, count_storage;
    const std::size_t agents = sigmas.size();
    m_storage.resize(agents);
    dm_storage.resize(agents);
    double* const m = m_storage.data();
    double* const dm = dm_storage.data();
    for (std::size_t i = 0; i < agents; ++i) mean_sign_(g, sigmas[i], m[i], dm[i]);
    if (!majority_) {
      double sum = 0.0, dsum = 0.0, var = 0.0;
      for (std::size_t i = 0; i < agents; ++i) {
        sum += m[i];
        dsum += dm[i];
        var += 1.0 - m[i] * m[i];
      }
      phi = sum / agents;
      dphi = dsum / agents;
      if (variance) *variance = var / agents;
      return;
    }
    count_storage.resize(static_cast<std::size_t>(agents_) + 1);
    double* const count = count_storage.data();
    phi = vote_mean(m, agents, count);
    // φ' by the chain rule through each agent's m_i, with a central difference of the vote.
    constexpr double kH = 1e-6;
    double slope = 0.0;
    for (std::size_t i = 0; i < agents; ++i) {
      if (dm[i] == 0.0) continue;
      const double saved = m[i];
      m[i] = std::min(1.0, saved + kH);
      const double up = vote_mean(m, agents, count);
      m[i] = std::max(-1.0, saved - kH);
      const double down = vote_mean(m, agents, count);
      m[i] = saved;
      slope += (up - down) / (2.0 * kH) * dm[i];
    }
    dphi = slope;
    if (variance) *variance = 1.0 - phi * phi;  // ties are broken by a fair coin: sign is ±1
  }

  /// E[sign S], S = Σ_i ε_i, P(ε_i = +1) = (1 + m_i)/2 (all agents alike when m has one entry,
  /// m_count = 1); count holds N + 1 doubles of scratch, count[k] = P(k votes for +1).
  double vote_mean(const double* m, std::size_t m_count, double* count) const {
    const std::size_t n = static_cast<std::size_t>(agents_);
    std::fill(count, count + n + 1, 0.0);
    count[0] = 1.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double p = 0.5 * (1.0 + m[m_count == 1 ? 0 : i]);
      for (std::size_t k = i + 1; k > 0; --k) count[k] = count[k] * (1.0 - p) + count[k - 1] * p;
      count[0] *= 1.0 - p;
    }
    double mean = 0.0;
    for (std::size_t k = 0; k <= n; ++k) {
      const auto s = static_cast<double>(2 * k) - static_cast<double>(n);
      mean += s > 0 ? count[k] : s < 0 ? -count[k] : 0.0;
    }
    return mean;
  }

  NoiseModel noise_;
  MeanSign mean_sign_;
  int agents_;
  bool majority_;
  bool homogeneous_ = true;
  bool fast_gaussian_ = false;  ///< averaged signs, identical agents, Gaussian family
};

}  // namespace

namespace {

constexpr EnumNames<DriftCorrection, 3> kDriftCorrectionNames{
    "drift-correction",
    {{{DriftCorrection::kNone, "none"},
      {DriftCorrection::kClassic, "classic"},
      {DriftCorrection::kStability, "stability"}}}};
constexpr EnumNames<CompressionCovariance, 3> kCompressionCovarianceNames{
    "compression-covariance",
    {{{CompressionCovariance::kExact, "exact"},
      {CompressionCovariance::kSurrogate, "surrogate"},
      {CompressionCovariance::kMonteCarlo, "monte-carlo"}}}};

/// The names of the methods that have an SDE model, for the message of one that has none.
std::string modelled_method_names() {
  std::vector<std::string> names;
  for (const MethodInfo* info : methods_with_model()) names.push_back(info->name);
  return join(names, ", ");
}

}  // namespace

// ---- shared pieces ------------------------------------------------------------------------------

std::string to_string(DriftCorrection correction) {
  return kDriftCorrectionNames.to_string(correction);
}
DriftCorrection drift_correction_from_string(const std::string& name) {
  return kDriftCorrectionNames.from_string(name);
}
std::string to_string(CompressionCovariance covariance) {
  return kCompressionCovarianceNames.to_string(covariance);
}
CompressionCovariance compression_covariance_from_string(const std::string& name) {
  return kCompressionCovarianceNames.from_string(name);
}

void SdeCoefficients::resize(std::size_t d) {
  grad.resize(d);
  drift.resize(d);
  diffusion.resize(d);
  rank_one.resize(d);
  scratch.resize(d);
  scratch2.resize(d);
}

void SdeCoefficients::apply_diffusion(std::span<const float> dw, std::span<float> out) const {
  const std::size_t d = dw.size();
  if (beta == 0.0) {
    for (std::size_t j = 0; j < d; ++j) out[j] = diffusion[j] * dw[j];
    return;
  }
  double projection = 0.0;
  for (std::size_t j = 0; j < d; ++j) projection += static_cast<double>(rank_one[j]) * dw[j];
  const auto shift = static_cast<float>(beta * projection);
  for (std::size_t j = 0; j < d; ++j) out[j] = diffusion[j] * (dw[j] - shift * rank_one[j]);
}

void SdeSystem::evaluate(std::span<const float> x, double step_size, SdeCoefficients& c,
                         RandomStream& rng, bool drift_only) const {
  const std::size_t d = x.size();
  c.resize(d);
  c.loss = problem_.loss_and_gradient(x, c.grad) - problem_.optimal_loss();
  double norm_sq = 0.0;
  for (float g : c.grad) norm_sq += static_cast<double>(g) * g;
  c.grad_norm = std::sqrt(norm_sq);
  std::vector<float>& phi = c.scratch;
  std::vector<float>& hphi = c.scratch2;
  if (correction_ == DriftCorrection::kNone) {
    model_.mean_direction(c.grad, c.grad_norm, phi, {});
    for (std::size_t j = 0; j < d; ++j) c.drift[j] = -phi[j];
  } else {
    // b ∓ (η/2) J_b b with b = −φ(g), J_b b = φ'(g) ⊙ (H φ): classic subtracts it, stability adds
    // it. φ' goes into c.drift first.
    model_.mean_direction(c.grad, c.grad_norm, phi, c.drift);
    problem_.hessian_vector(x, phi, hphi);
    const auto half = static_cast<float>(
        correction_ == DriftCorrection::kClassic ? -0.5 * step_size : 0.5 * step_size);
    for (std::size_t j = 0; j < d; ++j) c.drift[j] = -phi[j] + half * c.drift[j] * hphi[j];
  }
  if (!drift_only) model_.diffusion(step_size, c, rng);
}

std::unique_ptr<SdeModel> make_sde_model(const RunPlan& plan, CompressionCovariance covariance) {
  const MethodInfo& method = *plan.method;
  const NoiseSpec& spec = plan.noise;
  NoiseModel noise(spec, agent_scales_of(plan), plan.batch);
  switch (method.model) {
    case ModelFamily::kGradient: {
      if (!std::isfinite(spec.coordinate_variance(1.0))) {
        throw ConfigError("noise", spec.to_string(),
                          "the " + method.name +
                              " SDE needs finite noise variance (Student-t with ν > 2); under "
                              "heavier tails it has no diffusion limit — run `train` instead");
      }
      if (method.dense()) {
        return std::make_unique<GradientSde>(std::move(noise), plan.workers, nullptr, covariance);
      }
      const std::shared_ptr<const Compressor>& compressor = plan.compressor;
      if (!compressor->unbiased()) {
        throw ConfigError("compressor", compressor->name(),
                          "the DCSGD SDE models unbiased compressors only");
      }
      if (covariance == CompressionCovariance::kExact &&
          compressor->covariance_form() != CovarianceForm::kSampling) {
        throw ConfigError(
            "compression-covariance", "exact",
            "is available for randk only; use surrogate or monte-carlo for " + compressor->name());
      }
      return std::make_unique<GradientSde>(std::move(noise), plan.workers, compressor, covariance);
    }
    case ModelFamily::kSign:
      if (spec.kind == NoiseKind::kStudent && plan.batch > 1) {
        throw ConfigError("batch", std::to_string(plan.batch),
                          "the sign SDE needs the law of the batch-mean noise: with Student-t "
                          "noise only --batch 1 has a closed form");
      }
      return std::make_unique<SignSde>(std::move(noise), plan.workers, method.majority_vote());
    case ModelFamily::kNone:
      break;
  }
  throw ConfigError("method", method.name,
                    "has no SDE model yet (models: " + modelled_method_names() + ")");
}

}  // namespace dsignsgd
