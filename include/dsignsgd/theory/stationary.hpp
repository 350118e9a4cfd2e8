#pragma once
/// @file
/// Closed-form stationary losses on the quadratic f = ½ Σ λ_j x_j² (SPEC §3), constant step η,
/// N agents, per-coordinate noise variance s² (already divided by the batch size).
///
///   DSGD         Σ_j η s² / (2N (2 − η λ_j))                          exact for the discrete
///   method DCSGD rand-k Σ_j η s² (1+ω) / (2N (2 − η λ_j (1 + ω/N)))         exact; needs ηλ(1+ω/N)
///   < 2 DSignSGD     Σ_j η σ / (2 ℓ N (2 − η ℓ λ_j / σ))   ≈ η σ d / (4 ℓ N)   linear phase |∇f| ≪
///   σ
///
/// Derivations (each checked by simulation in tests/): for DSGD the coordinate recursion
/// x' = (1 − ηλ) x − η ξ̄ with Var ξ̄ = s²/N has stationary variance v = η² s² / (N ηλ (2 − ηλ)),
/// and E f_j = λ v / 2. Rand-k adds per agent the conditional variance ω g_j², which gives the
/// (1 + ω) and (1 + ω/N) factors. DSignSGD in the linear phase has mean sign m ≈ ℓ λ x / σ and
/// per-step variance (1 − m²)/N ≈ 1/N, i.e. the DSGD recursion with λ → ℓλ/σ and s² → 1.

#include <optional>
#include <vector>

namespace dsignsgd {

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

/// Majority vote in the linear phase: mean vote κ_N ℓ λ x / σ, per-step variance ≈ 1 (one sign),
/// so Σ_j η σ / (2 κ_N ℓ (2 − η κ_N ℓ λ_j / σ)) ≈ η σ d / (4 κ_N ℓ). κ_N grows like √(2N/π):
/// more agents help majority vote only like √N, against N for averaged signs.
FloorPrediction majority_floor(const std::vector<double>& eigenvalues, double sigma, double ell,
                               int agents, double lr);

}  // namespace dsignsgd
