#pragma once
/// @file
/// Step-size rules: how the scheduled step c = η·η_k and the aggregated direction ĝ give the
/// step length s in x ← x − s ĝ.
///   fixed       s = c
///   normalized  s = c / max(||ĝ||, floor)                            (normalized SGD)
///   adaptive    s = c / (A (L0 + L1 ||ĝ||) + C)                      ([B], Theorem 4.2 read as
///               a step rule, docs/THEORY.md §3) with
///               A = 1 + (ω + d (σ1² ω + σ1²)) / N,  C = L1 d (σ0² + σ0² ω) / N

#include <memory>
#include <span>
#include <string>

#include "dsignsgd/core/norm.hpp"

namespace dsignsgd {

class StepRule {
 public:
  virtual ~StepRule() = default;
  virtual std::string name() const = 0;
  virtual double step(double scheduled, std::span<const float> direction) const = 0;
};

class FixedStep final : public StepRule {
 public:
  std::string name() const override { return "fixed"; }
  double step(double scheduled, std::span<const float>) const override { return scheduled; }
};

class NormalizedStep final : public StepRule {
 public:
  explicit NormalizedStep(double floor) : floor_(floor) {}
  std::string name() const override { return "normalized"; }
  double step(double scheduled, std::span<const float> direction) const override;

 private:
  double floor_;
};

struct AdaptiveStepConstants {
  double l0 = 1.0;
  double l1 = 1.0;
  double sigma0 = 0.0;
  double sigma1 = 0.0;
  double omega = 0.0;
  std::size_t dim = 1;
  std::size_t agents = 1;
};

class AdaptiveNormalizedStep final : public StepRule {
 public:
  explicit AdaptiveNormalizedStep(const AdaptiveStepConstants& constants);
  std::string name() const override { return "adaptive"; }
  double step(double scheduled, std::span<const float> direction) const override;
  double a() const { return a_; }
  double c() const { return c_; }

 private:
  double l0_;
  double l1_;
  double a_;
  double c_;
};

}  // namespace dsignsgd
