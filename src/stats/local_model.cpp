#include "dsignsgd/stats/local_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/theory/stationary.hpp"
#include "probe_run.hpp"

namespace dsignsgd {
namespace {

using probe_detail::ProbeRun;

/// The probe index of the model's noise draws and of the compressed draws (noise-probe's points
/// use 0, 1, …: these are far from them).
constexpr std::uint32_t kNoiseProbe = 0x20000000u;

std::vector<float> rademacher(std::size_t d, std::uint64_t seed, std::uint32_t index) {
  RandomStream rng(
      StreamAddress{seed, probe_detail::kCurvatureRun, index, 0, StreamPurpose::kSetup});
  std::vector<float> v(d);
  for (float& value : v) value = rng.uniform_below(2) ? 1.0f : -1.0f;
  return v;
}

/// Top eigenvalue (largest |λ|, signed) of the Hessian by power iteration.
double top_eigenvalue(ProbeRun& run, const LocalModelOptions& options) {
  const std::size_t d = run.dim();
  std::vector<float> v = rademacher(d, run.plan().seed, 0);
  std::vector<double> hv(d);
  double rayleigh = 0.0;
  for (int i = 0; i < options.power_iterations; ++i) {
    run.hessian_vector(v, hv);
    double vv = 0.0, vhv = 0.0, norm = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      vv += double(v[j]) * v[j];
      vhv += double(v[j]) * hv[j];
      norm += hv[j] * hv[j];
    }
    rayleigh = vhv / vv;
    if (!(norm > 0.0)) break;
    const double scale = std::sqrt(vv / norm);  // keep ‖v‖ = √d: the difference step's scale
    for (std::size_t j = 0; j < d; ++j) v[j] = static_cast<float>(hv[j] * scale);
  }
  return rayleigh;
}

/// Hutchinson's diagonal on the subset: mean over probes of v_j (Hv)_j.
void measure_curvature(ProbeRun& run, const LocalModelOptions& options, LocalModel& model) {
  const std::size_t m = model.coordinates.size();
  model.curvature.assign(m, 0.0);
  std::vector<double> hv(run.dim());
  for (int p = 0; p < options.hutchinson_probes; ++p) {
    const std::vector<float> v =
        rademacher(run.dim(), run.plan().seed, static_cast<std::uint32_t>(1 + p));
    run.hessian_vector(v, hv);
    for (std::size_t c = 0; c < m; ++c) {
      const std::size_t j = model.coordinates[c];
      model.curvature[c] += v[j] * hv[j] / options.hutchinson_probes;
    }
  }
  double sum = 0.0, sum_sq = 0.0;
  std::size_t negative = 0;
  for (double h : model.curvature) {
    sum += h;
    sum_sq += h * h;
    negative += h < 0.0 ? 1 : 0;
  }
  const auto n = static_cast<double>(m);
  model.curvature_mean = sum / n;
  model.curvature_stderr =
      m > 1 ? std::sqrt(std::max(0.0, (sum_sq - sum * sum / n) / (n - 1.0)) / n) : 0.0;
  model.negative_curvature_fraction = static_cast<double>(negative) / n;
}

/// c_j of each compressor, its variance_diagonal averaged over the same draws as the noise (a
/// heavy-tailed coordinate's rare large draws count in both).
std::vector<double> draw_with_compression(ProbeRun& run, const LocalModelOptions& options,
                                          LocalModel& model) {
  const std::size_t m = model.coordinates.size();
  std::vector<std::unique_ptr<Compressor>> compressors;
  for (const std::string& name : options.compressors) {
    compressors.push_back(make_compressor(name));
    model.compression_variance[name].assign(m, 0.0);
  }
  std::vector<float> variance(run.dim());
  return run.draw(options.draws, model.coordinates, kNoiseProbe, model.loss,
                  [&](std::span<const float> g) {
                    for (std::size_t i = 0; i < compressors.size(); ++i) {
                      compressors[i]->variance_diagonal(g, variance);
                      std::vector<double>& c = model.compression_variance[options.compressors[i]];
                      for (std::size_t s = 0; s < m; ++s) {
                        c[s] += variance[model.coordinates[s]] / options.draws;
                      }
                    }
                  });
}

/// ω_eff = Σ c_j / Σ (s_j² + μ_j²) of each compressor.
void effective_omegas(LocalModel& model) {
  for (const auto& [name, c] : model.compression_variance) {
    double compressed = 0.0, second_moment = 0.0;
    for (std::size_t s = 0; s < c.size(); ++s) {
      compressed += c[s];
      second_moment += model.noise_variance[s] + model.mean_gradient[s] * model.mean_gradient[s];
    }
    model.effective_omega[name] = compressed / second_moment;
  }
}

/// Σ_t<T r^t = (1 − r^T) / (1 − r), T when r = 1.
double geometric_sum(double r, std::int64_t steps) {
  const auto t = static_cast<double>(steps);
  if (std::abs(1.0 - r) < 1e-12) return t;
  return -std::expm1(t * std::log(r)) / (1.0 - r);
}

}  // namespace

void LocalModelOptions::validate() const {
  if (draws < 32 || draws > 65536) {
    throw ConfigError("draws", std::to_string(draws), "must be in [32, 65536]");
  }
  if (coordinates < 1 || coordinates > (std::size_t{1} << 20)) {
    throw ConfigError("coordinates", std::to_string(coordinates), "must be in [1, 2^20]");
  }
  if (hutchinson_probes < 1 || hutchinson_probes > 65536) {
    throw ConfigError("hutchinson-probes", std::to_string(hutchinson_probes),
                      "must be in [1, 65536]");
  }
  if (power_iterations < 2 || power_iterations > 65536) {
    throw ConfigError("power-iterations", std::to_string(power_iterations),
                      "must be in [2, 65536]");
  }
  for (const std::string& name : compressors) {
    const std::unique_ptr<Compressor> c = make_compressor(name);
    std::vector<float> probe(4, 1.0f), out(4);
    if (!c->unbiased() || !c->variance_diagonal(probe, out)) {
      throw ConfigError("local-compressors", name,
                        "the local model needs an unbiased compressor with a "
                        "known variance (randk, qsgd, natural)");
    }
  }
}

namespace {

/// The model at `run`'s current step.
LocalModel measure_local_model(ProbeRun& run, const LocalModelOptions& options) {
  LocalModel model;
  model.step = run.step();
  model.dim = run.dim();
  model.coordinates =
      probe_detail::probed_coordinates(run.dim(), options.coordinates, run.plan().seed);
  const std::vector<double> draws = draw_with_compression(run, options, model);
  probe_detail::CoordinateNoise noise;
  const NoisePoint point =
      probe_detail::describe_draws(draws, options.draws, model.coordinates.size(), 0.02, &noise);
  model.mean_gradient = std::move(noise.mean);
  model.noise_variance = std::move(noise.variance);
  model.law_scale = std::move(noise.law_scale);
  model.law = point.law;
  model.shapeless_fraction = point.shapeless_fraction;
  model.ell = point.law == "none" ? std::numeric_limits<double>::quiet_NaN()
                                  : NoiseSpec::parse(point.spec).small_signal_slope();
  measure_curvature(run, options, model);
  run.loss();  // the oracle back at the iterate
  effective_omegas(model);
  model.lambda_max = top_eigenvalue(run, options);
  return model;
}

}  // namespace

LocalModel probe_local_model(const RunPlan& plan, std::int64_t at,
                             const LocalModelOptions& options) {
  options.validate();
  ProbeRun run(plan);
  run.advance_to(at);
  return measure_local_model(run, options);
}

std::vector<NoisePoint> probe_noise_and_local_model(const RunPlan& plan,
                                                    const NoiseProbeOptions& probe,
                                                    const LocalModelOptions& options,
                                                    LocalModel& model) {
  probe.validate();
  options.validate();
  ProbeRun run(plan);
  // The points leave the run at probe.at.back() (draws do not move it): the model is taken there.
  std::vector<NoisePoint> points = probe_detail::probe_points(run, probe);
  model = measure_local_model(run, options);
  return points;
}

LocalPrediction predict_local(const LocalModel& model, const std::string& method,
                              const std::string& compressor, int workers, double lr,
                              std::int64_t steps) {
  LocalPrediction out;
  const double n = workers;
  const bool sign = method == "dsignsgd" || method == "majority";
  const std::vector<double>* compression = nullptr;
  double omega = 0.0;
  if (method == "dcsgd") {
    const auto found = model.compression_variance.find(compressor);
    if (found == model.compression_variance.end()) {
      throw ConfigError("compressor", compressor, "was not measured into the local model");
    }
    compression = &found->second;
    omega = model.effective_omega.at(compressor);
  } else if (!sign && method != "dsgd") {
    throw ConfigError("method", method, "the local model knows dsgd, dcsgd, dsignsgd, majority");
  }
  if (sign && !(model.ell > 0.0)) {
    out.excess_loss = std::numeric_limits<double>::quiet_NaN();
    out.reason = "the noise has no fitted law (most draws at one value)";
    return out;
  }
  const double kappa = method == "majority" ? majority_vote_slope(workers) : 1.0;
  const double step_variance = method == "majority" ? 1.0 : 1.0 / n;
  // No diagonal entry of H exceeds its top eigenvalue in magnitude: Hutchinson's noise beyond it
  // is cut there (with 10 % to spare: power iteration approaches λ_max from below).
  const double largest = 1.1 * std::abs(model.lambda_max);
  double total = 0.0;
  for (std::size_t s = 0; s < model.coordinates.size(); ++s) {
    // A negative h_j (the estimate's noise, or a concave direction) counts as −(its |h_j|'s
    // share): an odd extension, so that Hutchinson's noise cancels in the sum instead of being
    // clipped (or, where the methods saturate differently, weighted) into a bias.
    const double h = std::clamp(model.curvature[s], -largest, largest), magnitude = std::abs(h);
    const double s2 = model.noise_variance[s];
    const double c = compression ? (*compression)[s] : 0.0;
    if (sign && !(model.law_scale[s] > 0.0)) continue;
    const double q = sign ? step_variance : (s2 + c) / n;
    double r = 0.0;
    if (sign) {
      const double a = std::min(1.0, lr * kappa * model.ell * magnitude / model.law_scale[s]);
      r = (1.0 - a) * (1.0 - a);
    } else {
      const double second_moment = s2 + model.mean_gradient[s] * model.mean_gradient[s];
      const double omega_j = second_moment > 0.0 ? c / second_moment : 0.0;
      r = (1.0 - lr * magnitude) * (1.0 - lr * magnitude) +
          lr * lr * omega_j * magnitude * magnitude / n;
    }
    // A coordinate whose own recursion does not contract (a noisy h_j, or a large ω_j of a small
    // coordinate) is bounded by the random walk's T steps; stability is judged on λ_max below.
    total += h * lr * lr * q * geometric_sum(std::min(r, 1.0), steps) / 2.0;
  }
  out.excess_loss =
      total * static_cast<double>(model.dim) / static_cast<double>(model.coordinates.size());
  if (!sign) {
    out.stability_ratio = lr * std::abs(model.lambda_max) * (1.0 + omega / n) / 2.0;
    out.stable = out.stability_ratio < 1.0;
    if (!out.stable) {
      out.excess_loss = std::numeric_limits<double>::quiet_NaN();
      out.reason = "η λ_max (1 + ω_eff/N) = " + significant(2 * out.stability_ratio, 3) +
                   " ≥ 2: the second moment grows";
    }
  } else if (model.shapeless_fraction > 0.0) {
    out.reason = "leaves out the " + std::to_string(std::lround(100 * model.shapeless_fraction)) +
                 " % of coordinates without shape (exact zeros travel as coins)";
  }
  return out;
}

nlohmann::json local_model_json(const LocalModel& model) {
  nlohmann::json omegas = nlohmann::json::object();
  for (const auto& [name, omega] : model.effective_omega) omegas[name] = omega;
  double noise = 0.0;
  for (double s2 : model.noise_variance) noise += s2;
  return {{"step", model.step},
          {"loss", model.loss},
          {"dim", model.dim},
          {"coordinates", model.coordinates.size()},
          {"noise_variance_total",
           noise * static_cast<double>(model.dim) / static_cast<double>(model.coordinates.size())},
          {"law", model.law},
          {"ell", std::isfinite(model.ell) ? nlohmann::json(model.ell) : nlohmann::json(nullptr)},
          {"lambda_max", model.lambda_max},
          {"curvature_mean", model.curvature_mean},
          {"curvature_stderr", model.curvature_stderr},
          {"negative_curvature_fraction", model.negative_curvature_fraction},
          {"shapeless_fraction", model.shapeless_fraction},
          {"effective_omega", omegas}};
}

}  // namespace dsignsgd
