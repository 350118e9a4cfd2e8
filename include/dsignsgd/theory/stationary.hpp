#pragma once
/// @file
/// Closed-form stationary losses on the quadratic f = ½ Σ λ_j x_j² (docs/THEORY.md §3), constant step η,
/// N agents, per-coordinate noise variance s² (already divided by the batch size).
///
/// | method       | stationary E f − f*                                  | regime |
/// |--------------|------------------------------------------------------|----------------------------|
/// | DSGD         | Σ_j η s² / (2N (2 − η λ_j))                          | exact for the method |
/// | DCSGD rand-k | Σ_j η s² (1+ω) / (2N (2 − η λ_j (1 + ω/N)))          | exact; ηλ(1+ω/N) < 2 |
/// | DSignSGD     | Σ_j η σ / (2 ℓ N (2 − η ℓ λ_j / σ)) ≈ η σ d / (4 ℓ N) | linear phase |∇f| ≪ σ |
///
/// Derivations (each checked by simulation in tests/): for DSGD the coordinate recursion
/// x' = (1 − ηλ) x − η ξ̄ with Var ξ̄ = s²/N has stationary variance v = η² s² / (N ηλ (2 − ηλ)),
/// and E f_j = λ v / 2. Rand-k adds per agent the conditional variance ω g_j², which gives the
/// (1 + ω) and (1 + ω/N) factors. DSignSGD in the linear phase has mean sign m ≈ ℓ λ x / σ and
/// per-step variance (1 − m²)/N ≈ 1/N, i.e. the DSGD recursion with λ → ℓλ/σ and s² → 1.

#include <optional>
#include <vector>

namespace dsignsgd {

enum class DriftCorrection;  // sde/sde_model.hpp
enum class IntegratorKind;   // sde/integrator.hpp

struct FloorPrediction {
  double value = 0.0;  ///< predicted stationary E f − f*
  bool stable = true;  ///< false: the recursion diverges (no stationary floor)
};

FloorPrediction dsgd_floor(const std::vector<double>& eigenvalues, double noise_variance,
                           int agents, double lr);
FloorPrediction dcsgd_randk_floor(const std::vector<double>& eigenvalues, double noise_variance,
                                  double omega, int agents, double lr);
/// @param sigma noise scale per coordinate (after batch), ell the small-signal slope ℓ.
FloorPrediction dsignsgd_floor(const std::vector<double>& eigenvalues, double sigma, double ell,
                               int agents, double lr);

/// Slope κ_N = d E[sign S] / dm at m = 0 for a majority vote of N agents with mean sign m each
/// (ties broken by a fair coin): κ_N = N C(N−1, ⌊(N−1)/2⌋) / 2^(N−1) for odd N; κ_1 = 1.
double majority_vote_slope(int agents);

/// Probability that N agents' votes tie at m = 0: C(N, N/2) / 2^N for even N, 0 for odd N. The
/// downlink carries one bit, so a tie is broken by a fair coin and the vote's per-step variance
/// stays 1 (sign(0) = 0 would make it 1 − P(tie)): the floor is 1/(1 − P(tie)) times what a
/// ternary downlink would give — N = 2: 2, 4: 1.6, 16: 1.245, 64: 1.11.
double majority_tie_probability(int agents);

/// Majority vote in the linear phase: mean vote κ_N ℓ λ x / σ, per-step variance ≈ 1 (one sign),
/// so Σ_j η σ / (2 κ_N ℓ (2 − η κ_N ℓ λ_j / σ)) ≈ η σ d / (4 κ_N ℓ). κ_N grows like √(2N/π):
/// more agents help majority vote only like √N, against N for averaged signs.
FloorPrediction majority_floor(const std::vector<double>& eigenvalues, double sigma, double ell,
                               int agents, double lr);

/// The SDE models' own floors on the quadratic, for the linear(ized) methods: per coordinate the
/// model is dX = −a X dt + √(q + p X²) dW with
///   a = λ κ (1 + c z/2),  z = η λ κ,  c = 0 (none), +1 (classic), −1 (stability),
///   q = η s²/N, p = η ω λ²/N  (DSGD: κ = 1, ω = 0; DCSGD rand-k: κ = 1, s² → (1+ω) s²),
/// where κ is the method's slope (1 for the gradient methods). Integrated by Euler–Maruyama with
/// M substeps, h = η/M, the stationary second moment is
///   E X² = q h / (1 − (1 − a h)² − p h)   (M = ∞: the SDE itself, q / (2a − p)),
/// and E f = Σ_j λ_j E X_j² / 2. With c = 0 and M = 1 this is the method's own recursion (the
/// exact floors above); with c = −1 and M = ∞ it equals them too ([B]'s stability correction);
/// with c = +1, M = ∞ it is the method's floor × (2 − z)/(2 + z), with c = 0, M = ∞ × (2 − z)/2
/// (DSGD). `substeps` 0 means M = ∞. Unstable (no floor) when the denominator is not positive.
/// Platen's weak order-2 scheme (additive noise, ω = 0 only) steps Y' = A Y + s (1 − a h/2) ΔW
/// with A = 1 − a h + (a h)²/2, so E X² = q h (1 − a h/2)² / (1 − A²); for ω > 0 there is no
/// closed form here (value NaN).
FloorPrediction gradient_sde_floor(const std::vector<double>& eigenvalues, double noise_variance,
                                   double omega, int agents, double lr, DriftCorrection correction,
                                   int substeps, IntegratorKind integrator);

}  // namespace dsignsgd
