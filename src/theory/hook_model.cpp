#include "dsignsgd/theory/hook_model.hpp"

#include <Eigen/Dense>
#include <array>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>

#include "dsignsgd/compress/bit_pack.hpp"
#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/join.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/core/timing.hpp"
#include "dsignsgd/optim/aggregator.hpp"
#include "dsignsgd/optim/method.hpp"
#include "dsignsgd/random/batch.hpp"
#include "dsignsgd/random/stream.hpp"
#include "dsignsgd/theory/network_model.hpp"

namespace dsignsgd {
namespace {

std::size_t numel(const ParameterShape& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
}

std::size_t bucket_size(const GradientBucket& bucket) {
  std::size_t d = 0;
  for (const ParameterShape& shape : bucket) d += numel(shape);
  return d;
}

HookCollective ring_allreduce(double nbytes, int world) {
  return {2 * (world - 1), 2.0 * (world - 1) * nbytes / world};
}

int powersgd_rank(const std::string& hook) { return std::stoi(hook.substr(10)); }

/// PowerSGD's split of a bucket, by its rule: a matrix n × m (n the first dimension, m the rest)
/// is compressed when (n + m) r × 2 < n m (min_compression_rate 2), r = min(n, m, R).
struct PowerSgdSplit {
  std::size_t uncompressed = 0, low_rank = 0;
  std::vector<std::array<std::size_t, 3>> matrices;  ///< n, m, r of each compressed matrix
};

PowerSgdSplit powersgd_split(const GradientBucket& bucket, int rank) {
  PowerSgdSplit split;
  for (const ParameterShape& shape : bucket) {
    const std::size_t count = numel(shape);
    if (shape.size() <= 1) {
      split.uncompressed += count;
      continue;
    }
    const std::size_t n = shape[0], m = count / shape[0];
    const std::size_t r = std::min({n, m, static_cast<std::size_t>(rank)});
    if ((n + m) * r * 2 < n * m) {
      split.low_rank += (n + m) * r;
      split.matrices.push_back({n, m, r});
    } else {
      split.uncompressed += count;
    }
  }
  return split;
}

std::vector<float> normal_vector(std::size_t d) {
  RandomStream rng(StreamAddress{1, 0, 0, 0, StreamPurpose::kTest});
  std::vector<float> v(d);
  fill_standard_normal(rng, v);
  return v;
}

/// fp16's conversions and the ring's (N − 1) / N × d half-precision additions (Gloo adds fp16 on
/// the CPU: each a conversion to float, an add and a conversion back).
double fp16_codec_seconds(std::size_t d, int world, int repeats) {
  const auto half = make_compressor("fp16");
  const std::vector<float> g = normal_vector(d);
  const std::size_t k = static_cast<std::size_t>(world - 1) * d / static_cast<std::size_t>(world);
  std::vector<float> back(d);
  WireMessage message, partial;
  const StreamAddress address{1, 0, 0, 0, StreamPurpose::kGradientNoise};
  return median_seconds(repeats, [&] {
    half->encode(g, address, message);
    half->decode(message, address, back);  // (the additions' reads of the received halves)
    half->encode(std::span<const float>(back).first(k), address, partial);
    half->decode(message, address, back);
  });
}

/// PowerSGD's arithmetic on one bucket: error feedback on the whole bucket, and per compressed
/// matrix M Q, the orthogonalization of P, Mᵀ P and M − P Qᵀ (Eigen, single-threaded as the
/// hooks' CPU ranks run).
double powersgd_codec_seconds(const GradientBucket& bucket, int rank, int repeats) {
  const PowerSgdSplit split = powersgd_split(bucket, rank);
  struct Work {
    Eigen::MatrixXf m, q;
  };
  std::vector<Work> work;
  for (const auto& [n, m, r] : split.matrices) {
    work.push_back({Eigen::MatrixXf::Random(static_cast<Eigen::Index>(n),
                                            static_cast<Eigen::Index>(m)),
                    Eigen::MatrixXf::Random(static_cast<Eigen::Index>(m),
                                            static_cast<Eigen::Index>(r))});
  }
  const std::size_t d = bucket_size(bucket);
  Eigen::VectorXf flat = Eigen::VectorXf::Random(static_cast<Eigen::Index>(d));
  Eigen::VectorXf error = Eigen::VectorXf::Zero(static_cast<Eigen::Index>(d));
  return median_seconds(repeats, [&] {
    flat += error;
    error = flat;
    for (Work& w : work) {
      Eigen::MatrixXf p = w.m * w.q;
      const Eigen::HouseholderQR<Eigen::MatrixXf> qr(p);
      p = qr.householderQ() * Eigen::MatrixXf::Identity(p.rows(), p.cols());
      const Eigen::MatrixXf q = w.m.transpose() * p;
      w.m.noalias() -= p * q.transpose();
    }
    error -= flat;
  });
}

/// The dsignsgd hook's encode and aggregate with the library's kernels; the majority vote
/// aggregates one shard (d / N coordinates) and unpacks the whole vote.
double dsignsgd_codec_seconds(const HookKind& kind, std::size_t d, int world, int repeats) {
  const auto compressor = make_compressor(kind.compressor);
  const bool majority = method_from_string(kind.method).majority_vote();
  const MeanAggregator mean;
  const MajorityVoteAggregator vote;
  const Aggregator& aggregator = majority ? static_cast<const Aggregator&>(vote) : mean;
  const std::vector<float> g = normal_vector(d);
  const std::size_t shard = majority ? std::max<std::size_t>(1, d / static_cast<std::size_t>(world))
                                     : d;
  std::vector<float> out(shard), unpacked(d);
  std::vector<WireMessage> messages(static_cast<std::size_t>(world));
  const StreamAddress address{1, 0, 0, 0, StreamPurpose::kGradientNoise};
  const StreamAddress server{1, 0, 0, 0, StreamPurpose::kServer};
  return median_seconds(repeats, [&] {
    compressor->encode(g, address, messages[0]);
    if (majority) {
      std::fill(unpacked.begin(), unpacked.end(), 0.0f);
      unpack_signs_accumulate(messages[0].bytes.data() + 8, 1.0f, unpacked);
      compressor->encode(std::span<const float>(g).first(shard), address, messages[0]);
    }
    for (std::size_t i = 1; i < messages.size(); ++i) messages[i] = messages[0];
    aggregator.aggregate(messages, *compressor, server, out);
  });
}

}  // namespace

const std::vector<HookKind>& hook_kinds() {
  static const std::vector<HookKind> kinds = {
      {"allreduce", "", ""},
      {"torch-fp16", "", ""},
      {"powersgd-r1", "", ""},
      {"powersgd-r2", "", ""},
      {"powersgd-r4", "", ""},
      {"dsignsgd", "dsignsgd", "sign"},
      {"majority", "majority", "sign"},
      {"ef-signsgd", "ef-signsgd", "scaled-sign"},
      {"qsgd", "dcsgd", "qsgd:16:512"},
      {"randk", "dcsgd", "randk:0.1"},
      {"natural", "dcsgd", "natural"},
      // momentum before the sign: Signum (mean) and Signum with majority vote
      {"signum", "signum", "sign"},
      {"signum-majority", "majority", "sign"},
  };
  return kinds;
}

const HookKind& hook_kind(const std::string& name) {
  std::vector<std::string> names;
  for (const HookKind& kind : hook_kinds()) {
    if (name == kind.name) return kind;
    names.emplace_back(kind.name);
  }
  throw ConfigError("hooks", name, "must be one of " + join(names, ", "));
}

std::vector<ParameterShape> parse_parameter_shapes(const std::string& text,
                                                   const std::string& option) {
  const std::string constraint =
      "must be parameter shapes like 2048x784,2048 (dimensions >= 1, at most 2^40 coordinates "
      "each)";
  std::vector<ParameterShape> shapes;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    ParameterShape shape;
    std::size_t from = 0;
    while (from <= item.size()) {
      const std::size_t to = std::min(item.find('x', from), item.size());
      const std::string digits = item.substr(from, to - from);
      if (digits.empty() || digits.size() > 12 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        throw ConfigError(option, text, constraint);
      }
      shape.push_back(std::stoull(digits));
      if (shape.back() == 0) throw ConfigError(option, text, constraint);
      from = to + 1;
    }
    if (numel(shape) > (std::size_t{1} << 40)) throw ConfigError(option, text, constraint);
    shapes.push_back(std::move(shape));
    start = end + 1;
  }
  return shapes;
}

std::vector<GradientBucket> ddp_buckets(const std::vector<ParameterShape>& shapes,
                                        double first_mb, double cap_mb) {
  std::vector<GradientBucket> buckets;
  GradientBucket current;
  double size = 0.0, cap = first_mb * 1048576.0;
  for (auto it = shapes.rbegin(); it != shapes.rend(); ++it) {
    const double nbytes = 4.0 * static_cast<double>(numel(*it));
    if (!current.empty() && size + nbytes > cap) {
      buckets.push_back(std::move(current));
      current.clear();
      size = 0.0;
      cap = cap_mb * 1048576.0;
    }
    current.push_back(*it);
    size += nbytes;
  }
  if (!current.empty()) buckets.push_back(std::move(current));
  return buckets;
}

std::vector<HookCollective> hook_collectives(const std::string& hook, const GradientBucket& bucket,
                                             int world) {
  const HookKind& kind = hook_kind(hook);
  const double d = static_cast<double>(bucket_size(bucket));
  if (world < 2) return {};
  if (hook == "allreduce") return {ring_allreduce(4 * d, world)};
  if (hook == "torch-fp16") return {ring_allreduce(2 * d, world)};
  if (hook.starts_with("powersgd-r")) {
    const PowerSgdSplit split = powersgd_split(bucket, powersgd_rank(hook));
    // P and Q are each about half of the low-rank coordinates (n R and m R).
    const double low_rank = static_cast<double>(split.low_rank);
    return {ring_allreduce(4.0 * static_cast<double>(split.uncompressed), world),
            ring_allreduce(2 * low_rank, world), ring_allreduce(2 * low_rank, world)};
  }
  if (method_from_string(kind.method).majority_vote()) {
    const std::size_t n = bucket_size(bucket), w = static_cast<std::size_t>(world);
    const double width = static_cast<double>(std::max<std::size_t>(((n + w - 1) / w + 63) / 64 * 8, 1));
    return {{world - 1, (world - 1) * width}, {world - 1, (world - 1) * width}};
  }
  const double message =
      static_cast<double>(make_compressor(kind.compressor)->wire_bits(bucket_size(bucket)) / 8);
  return {{world - 1, (world - 1) * message}};
}

double hook_codec_seconds(const std::string& hook, const GradientBucket& bucket, int world,
                          int repeats) {
  const HookKind& kind = hook_kind(hook);
  const std::size_t d = bucket_size(bucket);
  if (d == 0 || hook == "allreduce") return 0.0;
  if (hook == "torch-fp16") return fp16_codec_seconds(d, std::max(world, 1), repeats);
  if (hook.starts_with("powersgd-r")) return powersgd_codec_seconds(bucket, powersgd_rank(hook), repeats);
  return dsignsgd_codec_seconds(kind, d, std::max(world, 1), repeats);
}

void HookModelOptions::validate() const {
  if (shapes.empty()) throw ConfigError("shapes", "", "must name at least one parameter shape");
  for (const std::string& hook : hooks) hook_kind(hook);
  if (hosts.empty()) throw ConfigError("hosts", "", "must name at least one host count");
  for (int h : hosts) {
    if (h < 1 || h > 65535) throw ConfigError("hosts", std::to_string(h), "must be in [1, 65535]");
  }
  if (rates.empty()) throw ConfigError("rates", "", "must name at least one link rate");
  for (const std::string& rate : rates) parse_link_rate(rate);
  if (!(latency_us >= 0.0 && latency_us <= 1e6)) {
    throw ConfigError("latency-us", format_double(latency_us), "must be in [0, 1e6]");
  }
  if (!(std::isfinite(step_seconds) && step_seconds >= 0)) {
    throw ConfigError("step-seconds", step_seconds == -1.0 ? "" : format_double(step_seconds),
                      "must be given with --shapes: the step without communication (DDP's "
                      "no_sync), a finite number of seconds >= 0");
  }
}

double hook_step_codec_seconds(const std::string& hook, const std::vector<GradientBucket>& buckets,
                               int hosts) {
  double seconds = 0.0;
  for (const GradientBucket& bucket : buckets) seconds += hook_codec_seconds(hook, bucket, hosts);
  return seconds;
}

HookStepTime predict_hook_step(const std::string& hook, const std::vector<GradientBucket>& buckets,
                               int hosts, double rate_bits, double latency_us, double step_seconds,
                               double codec_seconds) {
  HookStepTime t;
  t.compute = step_seconds;
  t.codec = codec_seconds;
  double rounds = 0.0;
  for (const GradientBucket& bucket : buckets) {
    for (const HookCollective& c : hook_collectives(hook, bucket, hosts)) {
      rounds += c.rounds;
      t.bytes_sent += c.bytes_sent;
    }
  }
  t.communication = rounds * latency_us * 1e-6 + 8.0 * t.bytes_sent / rate_bits;
  return t;
}

nlohmann::json hook_speedup_report(const HookModelOptions& s) {
  s.validate();
  std::vector<std::string> hooks = s.hooks;
  if (hooks.empty()) {
    for (const HookKind& kind : hook_kinds()) hooks.emplace_back(kind.name);
  }
  const std::vector<GradientBucket> buckets = ddp_buckets(s.shapes);
  std::size_t parameters = 0;
  nlohmann::json bucket_sizes = nlohmann::json::array();
  for (const GradientBucket& bucket : buckets) {
    bucket_sizes.push_back(bucket_size(bucket));
    parameters += bucket_size(bucket);
  }
  nlohmann::json predictions = nlohmann::json::array();
  for (int h : s.hosts) {
    // The codec is this machine's arithmetic at h ranks: timed once per hook, for every rate.
    std::vector<double> codec;
    for (const std::string& hook : hooks) {
      codec.push_back(s.measure_codec ? hook_step_codec_seconds(hook, buckets, h) : 0.0);
    }
    for (const std::string& rate : s.rates) {
      const double bits = parse_link_rate(rate);
      const HookStepTime reference =
          predict_hook_step("allreduce", buckets, h, bits, s.latency_us, s.step_seconds, 0.0);
      for (std::size_t i = 0; i < hooks.size(); ++i) {
        const std::string& hook = hooks[i];
        const HookStepTime t =
            predict_hook_step(hook, buckets, h, bits, s.latency_us, s.step_seconds, codec[i]);
        predictions.push_back({{"hook", hook},
                               {"hosts", h},
                               {"rate", rate},
                               {"compute", t.compute},
                               {"codec", t.codec},
                               {"communication", t.communication},
                               {"total", t.total()},
                               {"bytes_sent", t.bytes_sent},
                               {"ratio", t.total() / reference.total()}});
      }
    }
  }
  return {{"command", "speedup"},
          {"model", "hooks: compute + codec + sum over buckets and collectives of "
                    "rounds * latency + 8 * bytes / rate"},
          {"parameters", parameters},
          {"buckets", bucket_sizes},
          {"hooks", hooks},
          {"latency_us", s.latency_us},
          {"predictions", predictions}};
}

}  // namespace dsignsgd
