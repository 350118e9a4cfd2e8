#include "dsignsgd/stats/noise_probe.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/random/stream.hpp"
#include "probe_run.hpp"

namespace dsignsgd {
namespace {

/// P(|z| > value) at 60 log-spaced probabilities from 1/2 down to 10/n.
std::vector<std::pair<double, double>> tail_curve(const std::vector<double>& z) {
  std::vector<double> magnitudes(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) magnitudes[i] = std::abs(z[i]);
  std::sort(magnitudes.begin(), magnitudes.end());
  const auto n = static_cast<double>(magnitudes.size());
  const double lowest = std::log(10.0 / n), highest = std::log(0.5);
  std::vector<std::pair<double, double>> curve;
  for (int i = 0; i < 60; ++i) {
    const double p = std::exp(highest + (lowest - highest) * i / 59.0);
    const auto index = static_cast<std::size_t>(std::min(n - 1.0, std::floor((1.0 - p) * n)));
    curve.emplace_back(p, magnitudes[index]);
  }
  return curve;
}

}  // namespace

namespace probe_detail {

/// Describes draws × coordinates gradients: scales, signal to noise, and the law of the pooled
/// robustly standardized noise.
NoisePoint describe_draws(const std::vector<double>& g, int draws, std::size_t coordinates,
                          double top_fraction, CoordinateNoise* per_coordinate) {
  NoisePoint point;
  point.draws = draws;
  point.coordinates = coordinates;
  std::vector<double> stds, robust, pooled, column(static_cast<std::size_t>(draws));
  double mean_norm_sq = 0.0, variance_sum = 0.0;
  std::size_t at_centre = 0, shapeless = 0;
  pooled.reserve(g.size());
  for (std::size_t c = 0; c < coordinates; ++c) {
    double mean = 0.0;
    for (int m = 0; m < draws; ++m) mean += g[static_cast<std::size_t>(m) * coordinates + c];
    mean /= draws;
    double variance = 0.0;
    for (int m = 0; m < draws; ++m) {
      column[static_cast<std::size_t>(m)] = g[static_cast<std::size_t>(m) * coordinates + c] - mean;
      variance += column[static_cast<std::size_t>(m)] * column[static_cast<std::size_t>(m)];
    }
    variance /= draws - 1;
    mean_norm_sq += mean * mean;
    variance_sum += variance;
    if (per_coordinate) {
      per_coordinate->mean.push_back(mean);
      per_coordinate->variance.push_back(variance);
      per_coordinate->law_scale.push_back(0.0);  // the law's factor times r, below
    }
    stds.push_back(std::sqrt(variance));
    // Shape and scale from the median-centred draws: the mean of heavy-tailed draws is itself
    // heavy-tailed (for Cauchy noise as wide as one draw) and would widen every Z.
    const double centre = median(column);
    std::vector<double> absolute(column.size());
    for (std::size_t m = 0; m < column.size(); ++m) {
      column[m] -= centre;
      absolute[m] = std::abs(column[m]);
      at_centre += column[m] == 0.0 ? 1 : 0;
    }
    const double r = median(absolute);
    if (!(r > 0.0)) {  // most draws at one value (a dead unit, an unlit pixel): no shape
      ++shapeless;
      continue;
    }
    if (per_coordinate) per_coordinate->law_scale.back() = r;
    robust.push_back(r);
    for (double z : column) pooled.push_back(z / r);
  }
  point.at_centre_fraction = static_cast<double>(at_centre) / static_cast<double>(g.size());
  point.shapeless_fraction = static_cast<double>(shapeless) / static_cast<double>(coordinates);
  point.scale_median = median(stds);
  point.scale_rms = std::sqrt(variance_sum / static_cast<double>(coordinates));
  point.grad_norm = std::sqrt(mean_norm_sq);
  point.signal_to_noise = variance_sum > 0.0 ? std::sqrt(mean_norm_sq / variance_sum) : INFINITY;
  if (pooled.size() < 1000) {
    point.law = "none";
    point.spec = "none";
    return point;
  }
  point.tail_curve = tail_curve(pooled);
  const double factor = classify_noise(std::move(pooled), top_fraction, point);
  if (per_coordinate) {
    for (double& scale : per_coordinate->law_scale) scale *= factor;
  }
  // Four significant digits: what a --noise spec needs, and what 250 draws resolve.
  point.sigma = std::stod(significant(factor * median(robust), 4));
  point.spec = point.law == "gaussian" ? "gaussian:" + format_double(point.sigma)
               : point.law == "cauchy" ? "cauchy:" + format_double(point.sigma)
                                       : "student:" + format_double(point.nu) + ":" +
                                             format_double(point.sigma);
  return point;
}

}  // namespace probe_detail

using probe_detail::median;
using probe_detail::ProbeRun;

void NoiseProbeOptions::validate() const {
  if (at.empty()) throw ConfigError("at", "", "needs at least one step");
  for (std::size_t i = 0; i < at.size(); ++i) {
    if (at[i] < 0 || at[i] > (std::int64_t{1} << 32) || (i > 0 && at[i] <= at[i - 1])) {
      throw ConfigError("at", std::to_string(at[i]),
                        "steps must increase, each in [0, 2^32]");
    }
  }
  if (draws < 32 || draws > 65536) {
    throw ConfigError("draws", std::to_string(draws), "must be in [32, 65536]");
  }
  if (coordinates < 1 || coordinates > (std::size_t{1} << 20)) {
    throw ConfigError("coordinates", std::to_string(coordinates), "must be in [1, 2^20]");
  }
  if (!(top_fraction > 0.0 && top_fraction <= 0.5)) {
    throw ConfigError("top-fraction", format_double(top_fraction), "must be in (0, 0.5]");
  }
}

double classify_noise(std::vector<double> z, double top_fraction, NoisePoint& out) {
  const auto n = static_cast<double>(z.size());
  double m2 = 0.0, m4 = 0.0;
  for (double v : z) {
    m2 += v * v;
    m4 += v * v * v * v;
  }
  m2 /= n;
  m4 /= n;
  out.excess_kurtosis = m4 / (m2 * m2) - 3.0;
  // Kolmogorov distance to the Gaussian of the same robust scale (median |z| = 1).
  const double q75 = boost::math::quantile(boost::math::normal(), 0.75);
  std::sort(z.begin(), z.end());
  double ks = 0.0;
  const boost::math::normal reference(0.0, 1.0 / q75);
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double f = boost::math::cdf(reference, z[i]);
    ks = std::max({ks, std::abs(f - static_cast<double>(i) / n),
                   std::abs(f - static_cast<double>(i + 1) / n)});
  }
  out.ks_distance = ks;
  std::vector<double> magnitudes(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) magnitudes[i] = std::abs(z[i]);
  out.tail = hill_tail_index(std::move(magnitudes), top_fraction);
  // ν from the sample's likelihood, not from Hill's top 2 %: Hill's index describes the
  // tail alone and is biased there by the law's second-order term (t_3: 2.7–2.8 ± 0.06).
  // The fit reads the continuous part: draws exactly at their coordinate's median are an atom
  // (at_centre_fraction, reported apart) that no t law has and that would pull ν to its floor.
  std::vector<double> off_centre;
  off_centre.reserve(z.size());
  for (double v : z) {
    if (v != 0.0) off_centre.push_back(v);
  }
  out.fit = fit_student_t(std::move(off_centre));
  // Gaussian: kurtosis and Kolmogorov distance within their sampling noise (5 s.e. and 2× the
  // 1 % critical value), or a law too light to be a Student-t the models distinguish (ν > 30).
  const bool gaussian = (std::abs(out.excess_kurtosis) < 5.0 * std::sqrt(24.0 / n) + 0.05 &&
                         ks < 3.3 / std::sqrt(n) + 0.005) ||
                        out.fit.nu >= kStudentNuCap || out.fit.nu - 2.0 * out.fit.nu_stderr > 30.0;
  if (gaussian) {
    out.law = "gaussian";
    out.nu = INFINITY;
    return 1.0 / q75;
  }
  if (out.fit.nu < 1.25) {
    out.law = "cauchy";
    out.nu = 1.0;
    return 1.0;  // the Cauchy law's quartile is its scale
  }
  out.law = "student";
  out.nu = std::round(out.fit.nu * 100.0) / 100.0;
  return 1.0 / boost::math::quantile(boost::math::students_t(out.nu), 0.75);
}

std::vector<NoisePoint> probe_noise(const RunPlan& plan, const NoiseProbeOptions& options) {
  options.validate();
  ProbeRun run(plan);
  return probe_detail::probe_points(run, options);
}

std::vector<NoisePoint> probe_detail::probe_points(ProbeRun& run,
                                                   const NoiseProbeOptions& options) {
  const std::vector<std::size_t> coordinates =
      probe_detail::probed_coordinates(run.dim(), options.coordinates, run.plan().seed);
  std::vector<NoisePoint> points;
  for (std::size_t p = 0; p < options.at.size(); ++p) {
    run.advance_to(options.at[p]);
    double loss = 0.0;
    const std::vector<double> draws =
        run.draw(options.draws, coordinates, static_cast<std::uint32_t>(p), loss);
    NoisePoint point =
        probe_detail::describe_draws(draws, options.draws, coordinates.size(), options.top_fraction);
    point.step = run.step();
    point.loss = loss;
    points.push_back(point);
  }
  return points;
}

std::string noise_tails_csv(const std::vector<NoisePoint>& points) {
  std::string csv = "step,probability,abs_z\n";
  char line[96];
  for (const NoisePoint& p : points) {
    for (const auto& [probability, z] : p.tail_curve) {
      std::snprintf(line, sizeof line, "%lld,%.6g,%.6g\n", static_cast<long long>(p.step),
                    probability, z);
      csv += line;
    }
  }
  return csv;
}

nlohmann::json noise_probe_json(const RunPlan& plan, const NoiseProbeOptions& options,
                                const std::vector<NoisePoint>& points) {
  const auto number = [](double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  };
  nlohmann::json out = {{"command", "noise-probe"},
                        {"config", plan_json(plan)},
                        {"draws", options.draws},
                        {"top_fraction", options.top_fraction},
                        {"points", nlohmann::json::array()}};
  for (const NoisePoint& p : points) {
    out["points"].push_back({{"step", p.step},
                             {"loss", number(p.loss)},
                             {"grad_norm", number(p.grad_norm)},
                             {"coordinates", p.coordinates},
                             {"scale_median", number(p.scale_median)},
                             {"scale_rms", number(p.scale_rms)},
                             {"signal_to_noise", number(p.signal_to_noise)},
                             {"at_centre_fraction", p.at_centre_fraction},
                             {"shapeless_fraction", p.shapeless_fraction},
                             {"tail_index", number(p.tail.alpha)},
                             {"tail_index_stderr", number(p.tail.stderr_)},
                             {"tail_samples", p.tail.used},
                             {"excess_kurtosis", number(p.excess_kurtosis)},
                             {"ks_distance", number(p.ks_distance)},
                             {"law", p.law},
                             {"nu", number(p.nu)},
                             // The fit's error is the law's ν's only when the law is the fit.
                             {"nu_stderr", number(p.law == "student" ? p.fit.nu_stderr : NAN)},
                             {"student_fit_nu", number(p.fit.nu)},
                             {"student_fit_nu_stderr", number(p.fit.nu_stderr)},
                             {"sigma", number(p.sigma)},
                             {"spec", p.spec}});
  }
  return out;
}

}  // namespace dsignsgd
