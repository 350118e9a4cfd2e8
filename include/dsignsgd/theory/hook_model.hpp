#pragma once
/// @file
/// Time per step of every DDP communication hook (dsignsgd.torch's and PyTorch's own peers)
/// before training: the α-β model of docs/BENCHMARKS.md applied to a model's gradient buckets.
///
///   time per step = compute + codec + Σ_buckets Σ_collectives (rounds × α + bytes sent × 8 / B)
///
/// compute is the step without communication (DDP's no_sync(), measured by the user); codec the
/// hook's own arithmetic on this machine (the library's encode and aggregate for the dsignsgd
/// hooks; for the peers the same operations they run: fp16's conversions and the ring's
/// half-precision additions, PowerSGD's error feedback, M Q, the orthogonalization of P, Mᵀ P
/// and P Qᵀ, with Eigen); α the per-message latency, B the link rate. Collectives as Gloo runs
/// them: a ring allreduce sends 2 (N − 1) / N of the tensor in 2 (N − 1) rounds, an allgather
/// (N − 1) messages in N − 1 rounds, an all-to-all N − 1 pieces.
///
/// Bytes per bucket and rank sent:
///   allreduce       2 (N − 1) / N × 4 d
///   torch-fp16      2 (N − 1) / N × 2 d
///   powersgd-rR     three allreduces: the tensors PowerSGD leaves uncompressed (1-D ones and
///                   matrices n × m with (n + m) R × 2 ≥ n m, its min_compression_rate), then
///                   P (n × R) and Q (m × R) of every compressed matrix, fp32
///   dsignsgd, ef-signsgd, qsgd, randk, natural, signum   allgather of the message (wire bytes)
///   majority, signum-majority   all-to-all of the packed signs' shards and allgather of the
///                   1-bit votes, each (N − 1) × the widest shard
/// Buckets follow DDP's defaults: parameters in reverse order, 1 MB first, then 25 MB. Used by
/// `dsignsgd speedup --shapes`, `dsignsgd.speedup(model, …)` and bench/hook_report.py.

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dsignsgd {

using ParameterShape = std::vector<std::size_t>;
using GradientBucket = std::vector<ParameterShape>;

/// A hook the model knows: a peer (PyTorch's) or a dsignsgd.torch hook with its method and
/// compressor.
struct HookKind {
  const char* name;
  const char* method;      ///< "" for a peer
  const char* compressor;  ///< "" for a peer
};
/// allreduce, torch-fp16, powersgd-r1/r2/r4, then the dsignsgd hooks.
const std::vector<HookKind>& hook_kinds();
/// Throws ConfigError for option "hooks".
const HookKind& hook_kind(const std::string& name);

/// "2048x784,2048,10" → {{2048, 784}, {2048}, {10}}; ConfigError for `option`.
std::vector<ParameterShape> parse_parameter_shapes(const std::string& text,
                                                   const std::string& option = "shapes");

/// DDP's default bucketing of parameters of these shapes (in model order): reverse order, the
/// first bucket up to first_mb, the others up to cap_mb (a tensor is never split).
std::vector<GradientBucket> ddp_buckets(const std::vector<ParameterShape>& shapes,
                                        double first_mb = 1.0, double cap_mb = 25.0);

struct HookCollective {
  int rounds = 0;
  double bytes_sent = 0.0;  ///< by one rank
};
/// The collectives `hook` runs on one bucket with `world` ranks (none for one rank).
std::vector<HookCollective> hook_collectives(const std::string& hook, const GradientBucket& bucket,
                                             int world);

/// This machine's arithmetic of `hook` on one bucket with `world` ranks: the median of
/// `repeats` timings (0 for plain allreduce, whose additions are the collective's).
double hook_codec_seconds(const std::string& hook, const GradientBucket& bucket, int world,
                          int repeats = 3);

struct HookStepTime {
  double compute = 0.0, codec = 0.0, communication = 0.0, bytes_sent = 0.0;
  double total() const { return compute + codec + communication; }
};

/// Everything `dsignsgd speedup --shapes` takes.
struct HookModelOptions {
  std::vector<ParameterShape> shapes;  ///< the model's trainable parameters, in model order
  std::vector<std::string> hooks;      ///< empty: every hook_kinds() entry
  std::vector<int> hosts = {2, 4};
  std::vector<std::string> rates = {"10gbit", "1gbit", "100mbit"};
  double latency_us = 25.0;
  double step_seconds = -1.0;  ///< the compute-only step; required (ConfigError "step-seconds")
  bool measure_codec = true;   ///< false: codec 0 (bytes and latency only)

  /// Throws ConfigError naming the first invalid option (before any measurement).
  void validate() const;
};

/// hook_codec_seconds summed over a model's buckets: the hook's arithmetic per step.
double hook_step_codec_seconds(const std::string& hook, const std::vector<GradientBucket>& buckets,
                               int hosts);

/// One hook on one bucket layout: compute, the given codec seconds, communication, bytes.
HookStepTime predict_hook_step(const std::string& hook, const std::vector<GradientBucket>& buckets,
                               int hosts, double rate_bits, double latency_us, double step_seconds,
                               double codec_seconds);

/// Every (hook, hosts, rate) with its ratio to allreduce: the JSON of `dsignsgd speedup --shapes
/// … --json` (keys command, model, parameters, buckets, hooks, latency_us, predictions).
nlohmann::json hook_speedup_report(const HookModelOptions& options);

}  // namespace dsignsgd
