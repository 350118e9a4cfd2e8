#pragma once
/// @file
/// What gradient noise does a model really have? At chosen points of a plain SGD run (the plan's
/// problem, step size and batch), draw many minibatch gradients at the same parameters and
/// describe, over coordinates, the noise Z = g − mean(g): its scale, Hill's tail index of |Z|
/// with its standard error, how far it is from Gaussian (excess kurtosis, Kolmogorov distance),
/// a maximum-likelihood Student-t fit (ν with its standard error), and the summary the SDE
/// models take — `gaussian:σ`, `student:ν:σ` or `cauchy:σ`, the noise of
/// one agent's gradient at the plan's batch (docs/THEORY.md §1's noise models; issue 28).
///
/// Each coordinate is standardized by a robust scale (its median |Z| over the draws, divided by
/// the same quantity of the fitted law), so that coordinates of different scale pool into one
/// sample of shape; the tail index of a scale mixture of t_ν is ν.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsignsgd/optim/run_plan.hpp"
#include "dsignsgd/stats/fits.hpp"

namespace dsignsgd {

struct NoiseProbeOptions {
  std::vector<std::int64_t> at = {0};  ///< SGD steps before each probe (increasing, ≥ 0)
  int draws = 256;                     ///< minibatch gradients per probe point (≥ 32)
  std::size_t coordinates = 4096;      ///< coordinates sampled (all when d is smaller)
  double top_fraction = 0.02;          ///< Hill's estimator: the largest 2 % of |Z|

  /// Throws ConfigError naming the option ("at", "draws", "coordinates", "top-fraction").
  void validate() const;
};

/// The noise at one point of the run.
struct NoisePoint {
  std::int64_t step = 0;
  double loss = 0.0;
  double grad_norm = 0.0;        ///< of the mean of the draws
  std::size_t coordinates = 0;   ///< probed
  int draws = 0;
  double scale_median = 0.0;     ///< per-coordinate standard deviation of Z: median over coords
  double scale_rms = 0.0;        ///< √(mean over coordinates of Var Z_j)
  double signal_to_noise = 0.0;  ///< ‖mean g‖ / √(Σ_j Var Z_j) over the probed coordinates
  /// Fraction of the drawn values that equal their coordinate's median exactly (sparse inputs: a
  /// first-layer weight of a pixel no image of the batch lights gets the same gradient, 0 or
  /// λx, from every such batch), and of the coordinates whose draws are mostly one value (no
  /// shape: left out of the tail's pool).
  double at_centre_fraction = 0.0;
  double shapeless_fraction = 0.0;
  TailIndex tail;                ///< Hill on the pooled standardized |Z|
  double excess_kurtosis = 0.0;  ///< of the pooled standardized Z (0 for Gaussian)
  double ks_distance = 0.0;      ///< sup |F(z) − Φ(z)| of the pooled standardized Z
  std::string law;               ///< gaussian | student | cauchy
  /// Student-t degrees of freedom (law student; ∞ gaussian, 1 cauchy): the maximum-likelihood
  /// fit of s·t_ν to the pooled standardized Z off their coordinate's median (fit_student_t; the
  /// exact zeros are at_centre_fraction's atom), rounded to 2 decimals; its standard error is
  /// fit.nu_stderr.
  double nu = 0.0;
  StudentTFit fit;               ///< the fit itself, whatever the law called
  double sigma = 0.0;            ///< the law's scale (per coordinate, median over coordinates)
  std::string spec;              ///< as --noise takes it: "student:3.1:0.042"
  /// The tail of the pooled standardized |Z| (each coordinate's median |Z| = 1): P(|Z| > z)
  /// at 60 probabilities from 1/2 down to 10/n, log-spaced, as (probability, z).
  std::vector<std::pair<double, double>> tail_curve;
};

/// Probes the noise of `plan`'s agents' gradients at each step of `options.at`.
std::vector<NoisePoint> probe_noise(const RunPlan& plan, const NoiseProbeOptions& options);

/// Classifies a pooled sample of standardized noise values (per-coordinate robust scale 1):
/// fills tail, excess_kurtosis, ks_distance, law, nu and the law's scale factor relative to the
/// robust unit scale (returned).
double classify_noise(std::vector<double> standardized, double top_fraction, NoisePoint& out);

/// noise_tails.csv: step, probability, |z| rows of every point's tail curve (a figure's data).
std::string noise_tails_csv(const std::vector<NoisePoint>& points);

nlohmann::json noise_probe_json(const RunPlan& plan, const NoiseProbeOptions& options,
                                const std::vector<NoisePoint>& points);

}  // namespace dsignsgd
