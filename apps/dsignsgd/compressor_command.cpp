// `dsignsgd compressor`: a user's check that a compressor is what it claims — empirical bias and
// ω next to the declared ω, and bits per coordinate of the real message.
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/compress/measure.hpp"
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
  c->add_option("--dim", state->dim, "dimension d")->check(whole_number())->capture_default_str();
  c->add_option("--trials", state->trials, "independent compressions T")->capture_default_str();
  c->add_option("--seed", state->seed, "seed of the vector and the compressions")
      ->check(whole_number())
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
    for (float& x : v) x = static_cast<float>(rng.normal());
    const CompressorMeasurement m = measure_compressor(
        *compressor, v, state->trials,
        StreamAddress{state->seed, 1, 0, 0, StreamPurpose::kGradientNoise});
    const double omega_declared = compressor->omega(d);
    nlohmann::json out = {
        {"compressor", compressor->name()},
        {"dim", d},
        {"trials", state->trials},
        {"seed", state->seed},
        {"unbiased_declared", compressor->unbiased()},
        {"omega_declared", number_or_null(omega_declared)},
        {"omega_empirical", m.omega_empirical},
        {"omega_empirical_stderr", m.omega_stderr},
        {"bias_norm", m.bias_norm},
        {"bias_noise_floor", m.bias_noise_floor},
        {"bits_per_coordinate",
         8.0 * static_cast<double>(m.message_bytes) / static_cast<double>(d)},
        {"wire_bits_declared", compressor->wire_bits(d)},
        {"wire_bits_measured", 8 * m.message_bytes},
    };
    if (compressor->unbiased()) {
      out["bias_consistent"] = m.bias_norm <= 5.0 * m.bias_noise_floor;
      out["omega_within_bound"] = m.omega_empirical <= omega_declared + 5.0 * m.omega_stderr;
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
