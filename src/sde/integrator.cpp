#include "dsignsgd/core/enum_names.hpp"
#include "dsignsgd/sde/integrator.hpp"

#include <cmath>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/random/batch.hpp"

namespace dsignsgd {

void brownian_increments(std::uint64_t seed, std::uint32_t path, std::uint32_t step, double dt,
                         std::size_t dim, int substeps, std::span<float> increments) {
  thread_local std::vector<float> normals;
  normals.resize(dim * static_cast<std::size_t>(substeps));
  {
    RandomStream level0(StreamAddress{seed, path, 0, step, StreamPurpose::kBrownian});
    fill_standard_normal(level0, std::span(increments.data(), dim));
    const auto root = static_cast<float>(std::sqrt(dt));
    for (std::size_t j = 0; j < dim; ++j) increments[j] *= root;
  }
  // Level l: 2^(l-1) intervals of length dt / 2^(l-1), each split at its midpoint:
  // left = W/2 + (√len / 2) ξ, right = W/2 − (√len / 2) ξ.
  std::size_t intervals = 1;
  double length = dt;
  for (std::uint32_t level = 1; intervals < static_cast<std::size_t>(substeps); ++level) {
    RandomStream rng(StreamAddress{seed, path, level, step, StreamPurpose::kBrownian});
    fill_standard_normal(rng, std::span(normals.data(), intervals * dim));
    const auto half_root = static_cast<float>(0.5 * std::sqrt(length));
    for (std::size_t i = intervals; i-- > 0;) {  // backwards: intervals move to 2i and 2i + 1
      for (std::size_t j = 0; j < dim; ++j) {
        const float whole = increments[i * dim + j];
        const float bridge = half_root * normals[i * dim + j];
        increments[(2 * i) * dim + j] = 0.5f * whole + bridge;
        increments[(2 * i + 1) * dim + j] = 0.5f * whole - bridge;
      }
    }
    intervals *= 2;
    length *= 0.5;
  }
}

namespace {

class EulerMaruyama final : public SdeIntegrator {
 public:
  std::string name() const override { return "euler"; }
  int weak_order() const override { return 1; }
  void substep(const SdeSystem&, std::span<float> x, double, double h,
               std::span<const float> dw, SdeCoefficients& c, RandomStream&) override {
    const std::size_t d = x.size();
    noise_.resize(d);
    c.apply_diffusion(dw, noise_);
    const auto hf = static_cast<float>(h);
    for (std::size_t j = 0; j < d; ++j) x[j] += c.drift[j] * hf + noise_[j];
  }

 private:
  std::vector<float> noise_;
};

/// Kloeden–Platen (15.1.1) for diagonal noise without the r ≠ j cross terms:
///   Ῡ  = Y + a h + s ⊙ ΔW,   R± = Y + a h ± s √h
///   Y' = Y + ½ (a(Ῡ) + a) h + ¼ (s(R+) + s(R−) + 2 s) ⊙ ΔW + ¼ (s(R+) − s(R−)) ⊙ (ΔW² − h)/√h
class Platen2 final : public SdeIntegrator {
 public:
  std::string name() const override { return "platen2"; }
  int weak_order() const override { return 2; }
  void substep(const SdeSystem& system, std::span<float> x, double step_size, double h,
               std::span<const float> dw, SdeCoefficients& c, RandomStream& rng) override {
    const std::size_t d = x.size();
    a_.assign(c.drift.begin(), c.drift.end());
    s_.assign(c.diffusion.begin(), c.diffusion.end());
    support_.resize(d);
    const auto hf = static_cast<float>(h);
    const auto root = static_cast<float>(std::sqrt(h));
    // a(Ῡ)
    for (std::size_t j = 0; j < d; ++j) support_[j] = x[j] + a_[j] * hf + s_[j] * dw[j];
    system.evaluate(support_, step_size, c, rng, /*drift_only=*/true);
    a_bar_.assign(c.drift.begin(), c.drift.end());
    // s(R+), s(R−)
    for (std::size_t j = 0; j < d; ++j) support_[j] = x[j] + a_[j] * hf + s_[j] * root;
    system.evaluate(support_, step_size, c, rng);
    s_plus_.assign(c.diffusion.begin(), c.diffusion.end());
    for (std::size_t j = 0; j < d; ++j) support_[j] = x[j] + a_[j] * hf - s_[j] * root;
    system.evaluate(support_, step_size, c, rng);
    const float inv_root = 1.0f / root;
    for (std::size_t j = 0; j < d; ++j) {
      const float s_minus = c.diffusion[j];
      x[j] += 0.5f * (a_bar_[j] + a_[j]) * hf +
              0.25f * (s_plus_[j] + s_minus + 2.0f * s_[j]) * dw[j] +
              0.25f * (s_plus_[j] - s_minus) * (dw[j] * dw[j] - hf) * inv_root;
    }
  }

 private:
  std::vector<float> a_, s_, a_bar_, s_plus_, support_;
};

}  // namespace

namespace {
constexpr EnumNames<IntegratorKind, 2> kIntegratorNames{
    "integrator", {{{IntegratorKind::kEuler, "euler"}, {IntegratorKind::kPlaten2, "platen2"}}}};
}  // namespace

std::string to_string(IntegratorKind kind) { return kIntegratorNames.to_string(kind); }
IntegratorKind integrator_from_string(const std::string& name) {
  return kIntegratorNames.from_string(name);
}

std::unique_ptr<SdeIntegrator> make_integrator(IntegratorKind kind) {
  if (kind == IntegratorKind::kEuler) return std::make_unique<EulerMaruyama>();
  return std::make_unique<Platen2>();
}

}  // namespace dsignsgd
