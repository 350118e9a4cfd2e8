#pragma once
/// @file
/// Integrators for the SDE models, with the Brownian increments passed in explicitly.
///
/// A macro step k covers [t_k, t_k + Δ] with Δ = η·η_k (the discrete method's step). With
/// --substeps M (a power of two) it is split into M substeps of h = Δ/M whose increments come
/// from a Brownian bridge (Lévy's construction): the macro increment is drawn first and refined
/// level by level, so the M fine increments sum to the macro increment and paths with different
/// M are coupled — a coarse path is the sum of the fine increments.
///
///   euler      Euler–Maruyama, X ← X + b(X) h + S(X) ΔW; weak order 1.
///   platen2    Platen's explicit weak order-2.0 scheme (Kloeden & Platen 1992, eq. 15.1.1)
///              without its cross terms. Weak order 2 for additive noise and for diagonal noise
///              whose coefficient j depends on X only through X_j (e.g. a separable f with a
///              diagonal Hessian); with state-dependent noise on a rotated problem the dropped
///              cross terms make it weak order 1, and simulate_sde refuses that combination.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dsignsgd/sde/sde_model.hpp"

namespace dsignsgd {

/// Fills increments (M × d, substep-major) with Brownian increments over a macro step of length
/// dt: level 0 is one N(0, dt) per coordinate from stream (seed, path, agent 0, step, kBrownian),
/// level l splits every interval in two with bridge draws from agent l.
void brownian_increments(std::uint64_t seed, std::uint32_t path, std::uint32_t step, double dt,
                         std::size_t dim, int substeps, std::span<float> increments);

class SdeIntegrator {
 public:
  virtual ~SdeIntegrator() = default;
  virtual std::string name() const = 0;
  virtual int weak_order() const = 0;
  /// Advances x by one substep of length h with increment dw ~ N(0, h I). `step_size` is the
  /// discrete step η_t the SDE models. `c` holds the coefficients at x on entry (evaluated by
  /// the caller) and is left stale on exit.
  virtual void substep(const SdeSystem& system, std::span<float> x, double step_size, double h,
                       std::span<const float> dw, SdeCoefficients& c, RandomStream& rng) = 0;
};

enum class IntegratorKind { kEuler, kPlaten2 };
std::string to_string(IntegratorKind kind);
/// "euler" or "platen2"; throws ConfigError for option "integrator".
IntegratorKind integrator_from_string(const std::string& name);

std::unique_ptr<SdeIntegrator> make_integrator(IntegratorKind kind);

}  // namespace dsignsgd
