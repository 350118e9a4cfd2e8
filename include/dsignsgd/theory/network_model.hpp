#pragma once
/// @file
/// When does compression pay off? An α-β model of one step per method, exchange, host count and
/// link rate, built from what this machine measures (docs/BENCHMARKS.md):
///
///   time per step = compute(P) + Σ_phases rounds × (α + bytes / B)
///   compute(P)    = t₁ − t_reduce(1) + t_reduce(P)
///
/// t₁ is the measured time of one in-process step with one agent (gradient, noise, encode,
/// reduce, update) — with `shared_machine`, measured while P such runs share this machine, as the
/// hosts of the emulated cluster do (memory bandwidth, and the cores when P exceeds them);
/// t_reduce(P) is the measured cost of reducing P agents' messages on one rank (decode and add for
/// the allgather, linear in P beyond what is timed; decode of one's own message for the ring
/// allreduce; counting and unpacking for the reduce-scatter). The phases are the exchange's own
/// (optim/exchange.hpp: the bytes summary.json declares). Used by `dsignsgd speedup`,
/// `dsignsgd.speedup(...)` in Python and the cluster benchmarks (bench/cluster_bench.py).

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsignsgd/optim/train_options.hpp"

namespace dsignsgd {

/// A configuration of the cluster benchmarks, by name: method, compressor, reduction.
struct NetworkConfig {
  const char* name;
  const char* method;
  const char* compressor;  ///< "" = the method's default
  const char* reduction;
};
/// dsgd-allreduce (the reference), dsgd-allgather, fp16, bf16, dsignsgd, dsignsgd-rs, majority,
/// majority-rs, ef-signsgd, randk, qsgd.
const std::vector<NetworkConfig>& network_configs();
/// Throws ConfigError for option "configs".
const NetworkConfig& network_config(const std::string& name);

/// "10gbit", "1gbit", "100mbit", "500kbit" → bits per second; ConfigError for `option`.
double parse_link_rate(const std::string& text, const std::string& option = "rates");

/// What one configuration costs on one rank, measured here.
struct ComputeProfile {
  std::size_t dim = 0;
  std::size_t message_bytes = 0;
  double step_one_agent = 0.0;           ///< t₁, alone on the machine
  std::map<int, double> step_shared;     ///< t₁ while P copies run at once (shared machine)
  std::map<int, double> reduce_seconds;  ///< t_reduce(P) where timed
  double reduce_slope = 0.0;             ///< per extra agent, beyond what was timed
  int largest_timed = 1;

  double reduce(int hosts) const;
  double compute(int hosts) const;
};

/// Measures `config` on the problem of `base` (`steps` in-process steps; reductions timed up to
/// 16 agents and at every host count ≤ 16; with `shared_machine`, t₁ at each host count).
ComputeProfile measure_compute_profile(const TrainOptions& base, const NetworkConfig& config,
                                       int steps, const std::vector<int>& hosts,
                                       bool shared_machine);

struct StepTime {
  double compute = 0.0, communication = 0.0;
  double total() const { return compute + communication; }
};

/// The model's time per step of `config` on `hosts` hosts with links of `rate_bits` bits/s and
/// latency `latency_us` per message.
StepTime predict_step_time(const TrainOptions& base, const NetworkConfig& config,
                           const ComputeProfile& profile, int hosts, double rate_bits,
                           double latency_us);

/// One measured row of bench/cluster_bench.py's time_per_step.csv.
struct MeasuredStepTime {
  int hosts = 0;
  std::string rate;    ///< the link's label, e.g. "1gbit"
  std::string config;  ///< a network_configs() name
  double seconds = 0.0;
};
/// Reads time_per_step.csv (a regular file of at most 16 MiB); ConfigError for option "check".
std::vector<MeasuredStepTime> read_measured_step_times(const std::string& path);

/// Everything `dsignsgd speedup` takes.
struct SpeedupOptions {
  TrainOptions options;              ///< the problem and its flags (train's)
  std::vector<std::string> configs;  ///< empty: all of network_configs()
  std::vector<int> hosts = {2, 4, 16, 64, 256, 1024};
  std::vector<std::string> rates = {"100gbit", "10gbit", "1gbit", "100mbit"};
  double latency_us = 25.0;
  bool shared_machine = false;  ///< the hosts share this machine (the emulated cluster)
  int steps = 20;               ///< --measure-steps
  std::string check;            ///< a time_per_step.csv to compare against ("": none)
  std::vector<std::string> effective;  ///< LABEL=RATE: what a measured rate label carried

  /// Throws ConfigError naming the first invalid option (before any measurement).
  void validate() const;
};

/// Measures, predicts every (config, hosts, rate) with its ratio to dsgd-allreduce and, with
/// `check`, the model's error on every measured row: the JSON of `dsignsgd speedup --json`
/// (keys command, model, assumptions, dim, measured, predictions, check, check_summary).
nlohmann::json speedup_report(const SpeedupOptions& options);

}  // namespace dsignsgd
