#include "dsignsgd/noise/noise_model.hpp"

#include <boost/math/distributions/students_t.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>
#include <numbers>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/random/batch.hpp"

namespace dsignsgd {
namespace {

constexpr const char* kNoiseForms =
    "none, gaussian:σ, student:ν:σ, cauchy:σ, affine:σ0:σ1 or relative:σ";

double positive_scale(const Spec& spec, std::size_t index) {
  const double value = parse_double(spec.args[index], "noise");
  if (value < 0.0) throw ConfigError("noise", spec.text, "scale must be >= 0");
  return value;
}

}  // namespace

NoiseSpec NoiseSpec::parse(const std::string& text) {
  try {
    return parse_unchecked(text);
  } catch (const ConfigError& e) {
    if (e.value() == text) throw;
    throw ConfigError("noise", text, e.constraint());  // name the whole specification
  }
}

NoiseSpec NoiseSpec::parse_unchecked(const std::string& text) {
  const Spec spec = parse_spec(text);
  NoiseSpec noise;
  if (spec.name == "none") {
    require_arg_count(spec, 0, "noise", "none");
  } else if (spec.name == "gaussian" || spec.name == "cauchy" || spec.name == "relative") {
    require_arg_count(spec, 1, "noise", spec.name + ":σ");
    noise.kind = spec.name == "gaussian" ? NoiseKind::kGaussian
                 : spec.name == "cauchy" ? NoiseKind::kCauchy
                                         : NoiseKind::kRelative;
    noise.sigma = positive_scale(spec, 0);
    if (noise.kind == NoiseKind::kCauchy) noise.nu = 1.0;
  } else if (spec.name == "student") {
    require_arg_count(spec, 2, "noise", "student:ν:σ");
    noise.kind = NoiseKind::kStudent;
    noise.nu = parse_double(spec.args[0], "noise");
    if (!(noise.nu > 0.0)) throw ConfigError("noise", text, "degrees of freedom ν must be > 0");
    noise.sigma = positive_scale(spec, 1);
  } else if (spec.name == "affine") {
    require_arg_count(spec, 2, "noise", "affine:σ0:σ1");
    noise.kind = NoiseKind::kAffine;
    noise.sigma0 = positive_scale(spec, 0);
    noise.sigma1 = positive_scale(spec, 1);
  } else {
    throw ConfigError("noise", text, std::string("must be one of ") + kNoiseForms);
  }
  return noise;
}

std::string NoiseSpec::to_string() const {
  switch (kind) {
    case NoiseKind::kNone:
      return "none";
    case NoiseKind::kGaussian:
      return "gaussian:" + format_double(sigma);
    case NoiseKind::kStudent:
      return "student:" + format_double(nu) + ":" + format_double(sigma);
    case NoiseKind::kCauchy:
      return "cauchy:" + format_double(sigma);
    case NoiseKind::kAffine:
      return "affine:" + format_double(sigma0) + ":" + format_double(sigma1);
    case NoiseKind::kRelative:
      return "relative:" + format_double(sigma);
  }
  return "?";
}

double NoiseSpec::scale(double grad_norm) const {
  switch (kind) {
    case NoiseKind::kNone:
      return 0.0;
    case NoiseKind::kAffine:
      return std::sqrt(sigma0 * sigma0 + sigma1 * sigma1 * grad_norm * grad_norm);
    case NoiseKind::kRelative:
      return sigma * grad_norm;
    default:
      return sigma;
  }
}

namespace {

/// p_ν(0) = Γ((ν+1)/2) / (√(νπ) Γ(ν/2)), the density of t_ν at 0.
double student_density_at_0(double nu) {
  return std::exp(boost::math::lgamma(0.5 * (nu + 1.0)) - boost::math::lgamma(0.5 * nu)) /
         std::sqrt(nu * std::numbers::pi);
}

}  // namespace

double NoiseSpec::coordinate_variance(double grad_norm) const {
  const double s = scale(grad_norm);
  if (kind == NoiseKind::kCauchy) return std::numeric_limits<double>::infinity();
  if (kind == NoiseKind::kStudent) {
    return nu > 2.0 ? s * s * nu / (nu - 2.0) : std::numeric_limits<double>::infinity();
  }
  return s * s;
}

double NoiseSpec::small_signal_slope() const {
  if (kind == NoiseKind::kStudent || kind == NoiseKind::kCauchy)
    return 2.0 * student_density_at_0(nu);
  return std::sqrt(2.0 / std::numbers::pi);
}

double NoiseSpec::unit_cdf(double u) const {
  if (kind == NoiseKind::kStudent || kind == NoiseKind::kCauchy) {
    return boost::math::cdf(boost::math::students_t_distribution<double>(nu), u);
  }
  return 0.5 * std::erfc(-u / std::numbers::sqrt2);
}

namespace {

/// P(|T_ν| < a), a ≥ 0, by the incomplete beta on whichever side keeps its argument accurate:
/// I_x(1/2, ν/2) with x = a²/(ν+a²) while x < 1/2, else 1 − I_y(ν/2, 1/2) with y = ν/(ν+a²); the
/// first-order term 2 p(0) a below 1e-100.
double student_two_sided(double a, double nu, double density_at_0) {
  if (a < 1e-100) return 2.0 * density_at_0 * a;
  if (a * a < nu) return boost::math::ibeta(0.5, 0.5 * nu, 1.0 / (1.0 + nu / (a * a)));
  return boost::math::ibetac(0.5 * nu, 0.5, 1.0 / (1.0 + (a / nu) * a));
}

}  // namespace

StudentMeanSign::StudentMeanSign(double nu) : nu_(nu), density_at_0_(student_density_at_0(nu)) {
  if (nu >= 1.0 && nu <= 64.0 && nu == std::floor(nu)) {
    integer_nu_ = static_cast<int>(nu);
    // ν odd: a_0 = 1, a_k = a_{k−1} 2k/(2k+1), k < (ν−1)/2; ν even: b_0 = 1,
    // b_k = b_{k−1} (2k−1)/(2k), k < ν/2.
    const bool odd = integer_nu_ % 2 == 1;
    const int terms = odd ? (integer_nu_ - 1) / 2 : integer_nu_ / 2;
    double c = 1.0;
    for (int k = 0; k < terms; ++k) {
      if (k > 0) c *= odd ? (2.0 * k) / (2.0 * k + 1.0) : (2.0 * k - 1.0) / (2.0 * k);
      coefficients_.push_back(c);
    }
  }
}

void StudentMeanSign::operator()(double u, double& m, double& dm) const {
  if (integer_nu_ == 0) {
    // P(|T| < |u|) = I_{u²/(ν+u²)}(1/2, ν/2): no cancellation near u = 0, where 2 F(u) − 1 loses
    // every digit; below 1e-100 the first-order term 2 p(0) u is exact to double precision.
    dm = 2.0 * boost::math::pdf(boost::math::students_t_distribution<double>(nu_), u);
    m = std::copysign(student_two_sided(std::abs(u), nu_, density_at_0_), u);
    return;
  }
  const double x = u / std::sqrt(nu_);
  // cos θ = 1/√(1 + x²), sin θ = x cos θ; through hypot where x² would overflow.
  const double radius = std::abs(x) < 1e150 ? std::sqrt(1.0 + x * x) : std::hypot(1.0, x);
  const double cos_theta = 1.0 / radius;
  const double sin_theta = x / radius;
  const double cos2 = cos_theta * cos_theta;
  // Horner in cos²θ over the coefficients.
  double sum = 0.0;
  for (auto k = coefficients_.size(); k-- > 0;) sum = sum * cos2 + coefficients_[k];
  if (integer_nu_ % 2 == 1) {
    m = 2.0 / std::numbers::pi * (std::atan(x) + sin_theta * cos_theta * sum);
  } else {
    m = sin_theta * sum;
  }
  // p_ν(u) = p_ν(0) (1 + u²/ν)^(−(ν+1)/2) = p_ν(0) cos^(ν+1) θ.
  double power = cos_theta;
  for (int k = 0; k < integer_nu_; ++k) power *= cos_theta;
  dm = 2.0 * density_at_0_ * power;
}

NoiseModel::NoiseModel(NoiseSpec spec, std::vector<double> agent_scales, int batch)
    : spec_(spec), agent_scales_(std::move(agent_scales)), batch_(batch) {}

double NoiseModel::agent_scale(std::uint32_t agent) const {
  return agent_scales_.empty() ? 1.0 : agent_scales_[agent];
}

void NoiseModel::sample(std::span<const float> grad, double grad_norm, std::uint32_t agent,
                        RandomStream& rng, std::span<float> out) const {
  const std::size_t d = grad.size();
  const double scale = spec_.scale(grad_norm) * agent_scale(agent);
  if (spec_.kind == NoiseKind::kNone || scale == 0.0) {
    std::copy(grad.begin(), grad.end(), out.begin());
    return;
  }
  switch (spec_.kind) {
    case NoiseKind::kCauchy:
      for (std::size_t j = 0; j < d; ++j) {
        out[j] = static_cast<float>(grad[j] + scale * rng.cauchy());
      }
      return;
    case NoiseKind::kStudent: {
      const double mean_scale = scale / batch_;
      for (std::size_t j = 0; j < d; ++j) {
        double sum = 0.0;
        for (int b = 0; b < batch_; ++b) sum += rng.student_t(spec_.nu);
        out[j] = static_cast<float>(grad[j] + mean_scale * sum);
      }
      return;
    }
    default: {  // Gaussian family: the mean of B draws is one draw at scale/√B.
      const auto batch_scale = static_cast<float>(scale / std::sqrt(static_cast<double>(batch_)));
      fill_standard_normal(rng, out.first(d));
      for (std::size_t j = 0; j < d; ++j) out[j] = grad[j] + batch_scale * out[j];
      return;
    }
  }
}

}  // namespace dsignsgd
