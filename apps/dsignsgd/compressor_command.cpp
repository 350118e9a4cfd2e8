// `dsignsgd compressor`: a user's check that a compressor is what it claims — empirical bias and
// ω next to the declared ω, and bits per coordinate of the real message.
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/core/config_error.hpp"

namespace dsignsgd::cli {
namespace {

struct CompressorCommand {
  std::string compressor = "randk:0.1";
  std::size_t dim = 1000;
  int trials = 1000;
  std::uint64_t seed = 1;
};

nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

}  // namespace

Runner add_compressor_command(CLI::App& app) {
  auto state = std::make_shared<CompressorCommand>();
  CLI::App* c = app.add_subcommand(
      "compressor", "measure a compressor's bias, ω and bits on a random Gaussian vector (JSON)");
  c->add_option("--compressor", state->compressor, "compressor specification")
      ->capture_default_str();
  c->add_option("--dim", state->dim, "dimension d")->capture_default_str();
  c->add_option("--trials", state->trials, "independent compressions T")->capture_default_str();
  c->add_option("--seed", state->seed, "seed of the vector and the compressions")
      ->capture_default_str();
  return [state]() {
    const auto compressor = make_compressor(state->compressor);
    const std::size_t d = state->dim;
    if (d < 1 || d > (std::size_t{1} << 28)) {
      throw ConfigError("dim", std::to_string(d), "must be in [1, 2^28]");
    }
    if (state->trials < 2) {
      throw ConfigError("trials", std::to_string(state->trials), "must be >= 2");
    }
    std::vector<float> v(d);
    RandomStream rng(StreamAddress{state->seed, 0, 0, 0, StreamPurpose::kTest});
    double norm_sq = 0.0;
    for (float& x : v) {
      x = static_cast<float>(rng.normal());
      norm_sq += static_cast<double>(x) * x;
    }
    std::vector<double> sum(d, 0.0);
    std::vector<float> decoded(d);
    WireMessage message;
    double error_sum = 0.0;
    double error_sq_sum = 0.0;
    for (int t = 0; t < state->trials; ++t) {
      const StreamAddress address{state->seed, 1, 0, static_cast<std::uint32_t>(t),
                                  StreamPurpose::kGradientNoise};
      compressor->encode(v, address, message);
      compressor->decode(message, address, decoded);
      double error = 0.0;
      for (std::size_t j = 0; j < d; ++j) {
        sum[j] += decoded[j];
        const double diff = static_cast<double>(decoded[j]) - v[j];
        error += diff * diff;
      }
      error_sum += error;
      error_sq_sum += error * error;
    }
    const double trials = state->trials;
    double bias_sq = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const double diff = sum[j] / trials - v[j];
      bias_sq += diff * diff;
    }
    const double mean_error = error_sum / trials;
    const double error_var =
        std::max(0.0, (error_sq_sum / trials - mean_error * mean_error)) * trials / (trials - 1.0);
    const double omega_empirical = mean_error / norm_sq;
    const double omega_stderr = std::sqrt(error_var / trials) / norm_sq;
    // For an unbiased compressor E||mean − v||² = E||C(v) − v||² / T: the noise floor of bias_norm.
    const double bias_noise_floor = std::sqrt(mean_error / trials / norm_sq);
    const double bias_norm = std::sqrt(bias_sq / norm_sq);
    const double omega_declared = compressor->omega(d);
    nlohmann::json out = {
        {"compressor", compressor->name()},
        {"dim", d},
        {"trials", state->trials},
        {"seed", state->seed},
        {"unbiased_declared", compressor->unbiased()},
        {"omega_declared", number_or_null(omega_declared)},
        {"omega_empirical", omega_empirical},
        {"omega_empirical_stderr", omega_stderr},
        {"bias_norm", bias_norm},
        {"bias_noise_floor", bias_noise_floor},
        {"bits_per_coordinate",
         8.0 * static_cast<double>(message.bytes.size()) / static_cast<double>(d)},
        {"wire_bits_declared", compressor->wire_bits(d)},
        {"wire_bits_measured", 8 * message.bytes.size()},
    };
    if (compressor->unbiased()) {
      out["bias_consistent"] = bias_norm <= 5.0 * bias_noise_floor;
      out["omega_within_bound"] = omega_empirical <= omega_declared + 5.0 * omega_stderr;
    }
    out["note"] =
        "bias_norm = ||mean C(v) - v|| / ||v|| over the trials; for an unbiased compressor it "
        "shrinks like bias_noise_floor = sqrt(omega_empirical / trials). omega_empirical = "
        "mean ||C(v) - v||^2 / ||v||^2.";
    std::cout << out.dump(2) << '\n';
    return 0;
  };
}

}  // namespace dsignsgd::cli
