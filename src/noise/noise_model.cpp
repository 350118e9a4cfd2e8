#include "dsignsgd/noise/noise_model.hpp"

#include <boost/math/distributions/students_t.hpp>
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

double NoiseSpec::coordinate_variance(double grad_norm) const {
  const double s = scale(grad_norm);
  if (kind == NoiseKind::kCauchy) return std::numeric_limits<double>::infinity();
  if (kind == NoiseKind::kStudent) {
    return nu > 2.0 ? s * s * nu / (nu - 2.0) : std::numeric_limits<double>::infinity();
  }
  return s * s;
}

double NoiseSpec::small_signal_slope() const {
  if (kind == NoiseKind::kStudent || kind == NoiseKind::kCauchy) {
    // 2 p(0) for t_ν: 2 Γ((ν+1)/2) / (√(νπ) Γ(ν/2)).
    return 2.0 * std::exp(boost::math::lgamma(0.5 * (nu + 1.0)) - boost::math::lgamma(0.5 * nu)) /
           std::sqrt(nu * std::numbers::pi);
  }
  return std::sqrt(2.0 / std::numbers::pi);
}

double NoiseSpec::unit_cdf(double u) const {
  if (kind == NoiseKind::kStudent || kind == NoiseKind::kCauchy) {
    return boost::math::cdf(boost::math::students_t_distribution<double>(nu), u);
  }
  return 0.5 * std::erfc(-u / std::numbers::sqrt2);
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
