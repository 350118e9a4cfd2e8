// `dsignsgd bench`: encode/decode throughput of every compressor in GB/s of fp32 input, beside the
// machine's single-core read bandwidth measured in the same run (a vectorized sum over the same
// buffer), so every figure is also a ratio.
#include <fmt/core.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "dsignsgd/compress/bit_pack.hpp"
#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/optim/run_plan.hpp"
#include "dsignsgd/random/stream.hpp"
#include "dsignsgd/core/timing.hpp"

namespace dsignsgd::cli {
namespace {

struct BenchCommand {
  std::size_t dim = 10'000'000;
  int repeats = 7;
  bool json = false;
  std::vector<std::string> compressors = {"identity",   "sign",    "scaled-sign",
                                          "randk:0.01", "qsgd:15", "natural",
                                          "topk:0.01",  "fp16",    "bf16"};
  std::vector<int> agents = {4, 16, 64};
};

/// Aggregation of N 1-bit sign messages of d coordinates, timed two ways in the same run:
/// bit-sliced vote counting (what the aggregators do) and decode-and-add (each message unpacked
/// to ±1 floats and added, what they did before). Coordinates per second of the result.
nlohmann::json time_sign_aggregation(const std::vector<float>& v, int agents, int repeats) {
  const std::size_t d = v.size();
  const std::size_t bytes = (d + 7) / 8;
  std::vector<std::vector<std::uint8_t>> bits(static_cast<std::size_t>(agents),
                                              std::vector<std::uint8_t>(bytes));
  std::vector<const std::uint8_t*> payloads;
  for (int a = 0; a < agents; ++a) {
    RandomStream coins(
        StreamAddress{2, 0, static_cast<std::uint32_t>(a), 0, StreamPurpose::kCompression});
    auto& payload = bits[static_cast<std::size_t>(a)];
    pack_signs(v, payload.data(), coins);
    // Different messages per agent: rotate the bytes.
    std::rotate(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>((a * 4099) % bytes),
                payload.end());
    payloads.push_back(payload.data());
  }
  std::vector<float> sums(d);
  const double bit_sliced = best_seconds(repeats, [&] { sum_sign_votes(payloads, sums); });
  const double decode_add = best_seconds(repeats, [&] {
    std::fill(sums.begin(), sums.end(), 0.0f);
    for (const std::uint8_t* payload : payloads) unpack_signs_accumulate(payload, 1.0f, sums);
  });
  const double coordinates = static_cast<double>(d);
  return {{"agents", agents},
          {"bit_sliced_coordinates_per_second", coordinates / bit_sliced},
          {"decode_and_add_coordinates_per_second", coordinates / decode_add},
          {"speedup", decode_add / bit_sliced}};
}

__attribute__((target("avx2"))) float read_sum_avx2(const float* v, std::size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  std::size_t j = 0;
  for (; j + 32 <= n; j += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(v + j));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(v + j + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(v + j + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(v + j + 24));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  float sum = 0.0f;
  for (float x : lanes) sum += x;
  for (; j < n; ++j) sum += v[j];
  return sum;
}

/// The compressors to time, every option checked before any work.
std::vector<std::unique_ptr<Compressor>> checked_compressors(const BenchCommand& state) {
  const std::size_t d = state.dim;
  if (d < 1024 || d > (std::size_t{1} << 30)) {
    throw ConfigError("dim", std::to_string(d), "must be in [1024, 2^30]");
  }
  if (state.repeats < 1) {
    throw ConfigError("repeats", std::to_string(state.repeats), "must be >= 1");
  }
  for (int agents : state.agents) {
    if (agents < 1 || agents > 65535) {
      throw ConfigError("agents", std::to_string(agents), "must be in [1, 65535]");
    }
  }
  // The buffer, its decode, a message (at most as large) and the vote's sums: 16 bytes per
  // coordinate, plus one packed sign message per agent of the largest count.
  const int most_agents =
      state.agents.empty() ? 0 : *std::max_element(state.agents.begin(), state.agents.end());
  const double needed = 16.0 * static_cast<double>(d) +
                        static_cast<double>(most_agents) * static_cast<double>((d + 7) / 8);
  if (needed > static_cast<double>(memory_budget_bytes())) {
    throw ConfigError("dim", std::to_string(d),
                      "needs about " + gib(static_cast<std::size_t>(needed)) + " with " +
                          std::to_string(most_agents) + " agents; the process may use " +
                          gib(usable_memory_bytes()));
  }
  std::vector<std::unique_ptr<Compressor>> compressors;
  for (const auto& spec : state.compressors) {
    try {
      compressors.push_back(make_compressor(spec));
    } catch (const ConfigError& e) {
      throw ConfigError("compressors", spec, e.constraint());
    }
  }
  return compressors;
}

/// Times every compressor against the read bandwidth of the same buffer, and the sign
/// aggregation at each agent count: the JSON of `bench --json`.
nlohmann::json measure_bench(const BenchCommand& state,
                             const std::vector<std::unique_ptr<Compressor>>& compressors) {
  const std::size_t d = state.dim;
  std::vector<float> v(d);
  RandomStream rng(StreamAddress{1, 0, 0, 0, StreamPurpose::kTest});
  for (float& x : v) x = static_cast<float>(rng.normal());
  std::vector<float> out(d);
  const double bytes = 4.0 * static_cast<double>(d);
  volatile float sink = 0.0f;
  const auto read_once = [&] { sink = sink + read_sum_avx2(v.data(), d); };
  read_once();  // warm up: page in the buffer

  nlohmann::json results = nlohmann::json::object();
  double read_best = best_seconds(state.repeats, read_once);
  for (const auto& compressor : compressors) {
    WireMessage message;
    const StreamAddress address{1, 0, 0, 0, StreamPurpose::kGradientNoise};
    compressor->encode(v, address, message);
    const double encode =
        best_seconds(state.repeats, [&] { compressor->encode(v, address, message); });
    const double decode =
        best_seconds(state.repeats, [&] { compressor->decode(message, address, out); });
    // Interleave the reference so drift affects both sides alike.
    read_best = std::min(read_best, best_seconds(state.repeats, read_once));
    results[compressor->name()] = {
        {"encode_gbs", bytes / encode / 1e9},
        {"decode_gbs", bytes / decode / 1e9},
        {"encode_seconds", encode},
        {"decode_seconds", decode},
        {"message_bytes", message.bytes.size()},
        {"bits_per_coordinate",
         8.0 * static_cast<double>(message.bytes.size()) / static_cast<double>(d)},
    };
  }
  nlohmann::json aggregation = nlohmann::json::array();
  for (int agents : state.agents) {
    aggregation.push_back(time_sign_aggregation(v, agents, state.repeats));
  }
  const double read_gbs = bytes / read_best / 1e9;
  for (auto& [name, entry] : results.items()) {
    entry["encode_ratio_to_read"] = entry["encode_gbs"].get<double>() / read_gbs;
    entry["decode_ratio_to_read"] = entry["decode_gbs"].get<double>() / read_gbs;
  }
  nlohmann::json report = {{"dim", d},
                           {"repeats", state.repeats},
                           {"read_bandwidth_gbs", read_gbs},
                           {"reference", "single-core AVX2 sum over the same fp32 buffer"},
                           {"compressors", results},
                           {"sign_aggregation", aggregation}};
  return report;
}

void print_bench(const nlohmann::json& report) {
  const auto d = report["dim"].get<std::size_t>();
  const auto read_gbs = report["read_bandwidth_gbs"].get<double>();
  const nlohmann::json& results = report["compressors"];
  const nlohmann::json& aggregation = report["sign_aggregation"];
  std::cout << fmt::format("d = {}, read bandwidth (1 core) {:.2f} GB/s\n", d, read_gbs);
  std::cout << fmt::format("{:<14} {:>10} {:>8} {:>10} {:>8} {:>10}\n", "compressor",
                           "encode GB/s", "ratio", "decode GB/s", "ratio", "bits/coord");
  for (const auto& [name, entry] : results.items()) {
    std::cout << fmt::format(
        "{:<14} {:>10.2f} {:>8.2f} {:>10.2f} {:>8.2f} {:>10.3f}\n", name,
        entry["encode_gbs"].get<double>(), entry["encode_ratio_to_read"].get<double>(),
        entry["decode_gbs"].get<double>(), entry["decode_ratio_to_read"].get<double>(),
        entry["bits_per_coordinate"].get<double>());
  }
  std::cout << fmt::format(
      "\nsign aggregation of N messages (coordinates/s of the result)\n"
      "{:>6} {:>14} {:>16} {:>8}\n",
      "N", "bit-sliced", "decode-and-add", "speedup");
  for (const auto& entry : aggregation) {
    std::cout << fmt::format("{:>6} {:>14.3g} {:>16.3g} {:>7.1f}×\n", entry["agents"].get<int>(),
                             entry["bit_sliced_coordinates_per_second"].get<double>(),
                             entry["decode_and_add_coordinates_per_second"].get<double>(),
                             entry["speedup"].get<double>());
  }
}

int run_bench(const BenchCommand& state) {
  const std::vector<std::unique_ptr<Compressor>> compressors = checked_compressors(state);
  const nlohmann::json report = measure_bench(state, compressors);
  if (state.json) {
    std::cout << report.dump(2) << '\n';
  } else {
    print_bench(report);
  }
  return 0;
}

}  // namespace

Runner add_bench_command(CLI::App& app) {
  auto state = std::make_shared<BenchCommand>();
  CLI::App* c = app.add_subcommand(
      "bench", "compressor encode/decode throughput vs the single-core read bandwidth");
  c->add_option("--dim", state->dim, "vector length d")
      ->check(whole_number())
      ->capture_default_str();
  c->add_option("--repeats", state->repeats, "timed repetitions (best is reported)")
      ->capture_default_str();
  c->add_option("--compressors", state->compressors, "compressors to time")->delimiter(',');
  c->add_option("--agents", state->agents,
                "agent counts N for the sign aggregation timing (bit-sliced vs decode-and-add)")
      ->delimiter(',')
      ->capture_default_str();
  c->add_flag("--json", state->json, "print JSON");
  return [state]() { return run_bench(*state); };
}

}  // namespace dsignsgd::cli
