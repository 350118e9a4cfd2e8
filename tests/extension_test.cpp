// Adding a compressor and a method takes one file: this one. It defines a compressor the library
// does not ship (TernGrad's stochastic ternary quantizer) and two methods (majority vote with
// error feedback; a twin of majority under another name), registers each once, and runs them
// through what a user runs: train, sde, predict and the MPI exchange. No library file names them.
//
// Run as a unit test (one process: the MPI communicator has one rank) and under mpirun -n 2
// (label mpi: the messages cross processes and must give the in-process trajectory bit for bit).
#include <gtest/gtest.h>

#include <cmath>

#include "dsignsgd/comm/mpi.hpp"
#include "mpi_test_main.hpp"
#include "dsignsgd/compress/measure.hpp"
#include "dsignsgd/compress/message_header.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/sde/simulate.hpp"
#include "dsignsgd/theory/predict.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

// ---- a compressor: TernGrad (Wen et al., 2017) ------------------------------------------------

/// C(v)_j = s · sign(v_j) · b_j with s = max_j |v_j| and b_j ~ Bernoulli(|v_j| / s): unbiased,
/// Var C(v)_j = s |v_j| − v_j², so E‖C(v) − v‖² ≤ (√d − 1) ‖v‖². Wire: one fp32 s, then 2 bits
/// per coordinate (0: zero, 1: +s, 2: −s).
class TernaryCompressor final : public Compressor {
 public:
  static constexpr auto kCode = static_cast<CompressorCode>(200);

  std::string name() const override { return "ternary"; }
  CompressorCode code() const override { return kCode; }
  bool unbiased() const override { return true; }
  double omega(std::size_t d) const override { return std::sqrt(static_cast<double>(d)) - 1.0; }
  std::size_t wire_bits(std::size_t d) const override {
    return detail::header_bits() + 8 * payload_bytes(d);
  }
  bool variance_diagonal(std::span<const float> v, std::span<float> out) const override {
    const double s = scale(v);
    for (std::size_t j = 0; j < v.size(); ++j) {
      const double a = std::fabs(v[j]);
      out[j] = static_cast<float>(s * a - a * a);
    }
    return true;
  }
  void encode(std::span<const float> v, const StreamAddress& address,
              WireMessage& out) const override {
    const std::size_t d = v.size();
    std::uint8_t* payload = detail::begin_message(out, kCode, d, payload_bytes(d));
    const auto s = static_cast<float>(scale(v));
    std::memcpy(payload, &s, 4);
    std::uint8_t* codes = payload + 4;
    std::fill(codes, codes + (d + 3) / 4, std::uint8_t{0});
    RandomStream rng(address.with_purpose(StreamPurpose::kCompression));
    for (std::size_t j = 0; j < d; ++j) {
      const double keep = s > 0.0f ? std::fabs(v[j]) / s : 0.0;
      if (rng.uniform() < keep) {
        codes[j / 4] |= static_cast<std::uint8_t>((v[j] > 0.0f ? 1 : 2) << (2 * (j % 4)));
      }
    }
  }
  void decode_accumulate(const WireMessage& in, const StreamAddress&, float weight,
                         std::span<float> acc) const override {
    const std::size_t d = acc.size();
    const std::uint8_t* payload = detail::check_message(in, kCode, d, payload_bytes(d));
    float s;
    std::memcpy(&s, payload, 4);
    for (std::size_t j = 0; j < d; ++j) {
      const int code = (payload[4 + j / 4] >> (2 * (j % 4))) & 3;
      if (code == 3) throw WireFormatError("malformed ternary message: code 3");
      if (code != 0) acc[j] += weight * (code == 1 ? s : -s);
    }
  }

 private:
  static std::size_t payload_bytes(std::size_t d) { return 4 + (d + 3) / 4; }
  static double scale(std::span<const float> v) {
    double s = 0.0;
    for (float x : v) s = std::max(s, static_cast<double>(std::fabs(x)));
    return s;
  }
};

const CompressorInfo& kTernary = register_compressor(
    {"ternary", "ternary",
     "TernGrad: s·sign(v)·Bernoulli(|v|/s), s = max|v|, 2 bits/coord + one fp32 (unbiased; a "
     "test-only registration)",
     [](const Spec& spec) -> std::unique_ptr<Compressor> {
       require_arg_count(spec, 0, "compressor", spec.name);
       return std::make_unique<TernaryCompressor>();
     },
     {"ternary"}});

// ---- two methods ------------------------------------------------------------------------------

/// Majority vote over error-compensated signs (beyond the papers: no model, so no SDE or floor).
const MethodInfo& kEfMajority = register_method(
    {"ef-majority", "majority vote of error-compensated signs (test-only)", "sign",
     CompressorRule::kSign, AgentFilterKind::kErrorFeedback, Aggregation::kMajority,
     StepRuleKind::kFixed, ModelFamily::kNone});

/// Majority vote under another name: its SDE and floor must come from the descriptor alone.
const MethodInfo& kVote = register_method(
    {"vote", "majority vote under another name (test-only)", "sign", CompressorRule::kSign,
     AgentFilterKind::kNone, Aggregation::kMajority, StepRuleKind::kFixed, ModelFamily::kSign});

Communicator* world = nullptr;

TrainOptions quadratic(const std::string& method, const std::string& compressor) {
  TrainOptions o;
  o.method = method;
  o.compressor = compressor;
  o.problem.dim = 37;  // not a multiple of 4 or 8: exercises the packing tails
  o.problem.hessian = "linspace:0.5:2";
  o.noise = "gaussian:1";
  o.lr = 0.05;
  o.steps = 400;
  o.runs = 4;
  o.seed = testing::test_seed(61);
  o.workers = world->size() * 2;
  o.threads = 1;
  return o;
}

TEST(AddedCompressor, IsListedAndParsedFromTheRegistryOnly) {
  EXPECT_EQ(&kTernary, registered_compressors().back());
  EXPECT_EQ(make_compressor("ternary")->name(), "ternary");
  const std::vector<std::string> help = compressor_help();
  EXPECT_EQ(help.size(), registered_compressors().size());
  EXPECT_EQ(help.back().rfind("ternary", 0), 0u) << help.back();
  const std::vector<std::string> examples = compressor_examples();
  EXPECT_EQ(examples.back(), "ternary");
  try {
    make_compressor("ternary:3");
    ADD_FAILURE() << "ternary:3 accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.option(), "compressor");
  }
  try {
    make_compressor("gzip");
    ADD_FAILURE() << "gzip accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(", ternary"), std::string::npos) << e.what();
  }
}

TEST(AddedCompressor, IsUnbiasedWithinItsOmegaAndSendsItsDeclaredBits) {
  const std::uint64_t seed = testing::test_seed(62);
  const auto c = make_compressor("ternary");
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  std::vector<float> v(50);
  for (float& x : v) x = static_cast<float>(rng.normal());
  const CompressorMeasurement mc = measure_compressor(
      *c, v, 20000, StreamAddress{seed, 3, 1, 0, StreamPurpose::kGradientNoise});
  EXPECT_LT(mc.max_bias_z, testing::kZ);
  double norm_sq = 0.0, variance = 0.0;
  std::vector<float> diagonal(v.size());
  ASSERT_TRUE(c->variance_diagonal(v, diagonal));
  for (std::size_t j = 0; j < v.size(); ++j) {
    norm_sq += static_cast<double>(v[j]) * v[j];
    variance += diagonal[j];
  }
  // E‖C(v) − v‖² is the sum of the declared variances, and within ω‖v‖².
  EXPECT_NEAR(mc.error_mean, variance, testing::kZ * mc.error_stderr);
  EXPECT_LE(variance, c->omega(v.size()) * norm_sq);
  for (std::size_t d : {1u, 3u, 4u, 5u, 37u, 1000u}) {
    WireMessage message;
    c->encode(std::vector<float>(d, 1.0f), StreamAddress{}, message);
    EXPECT_EQ(8 * message.bytes.size(), c->wire_bits(d)) << d;
  }
}

TEST(AddedCompressor, TrainsAndHasAnSdeAndAFloorThroughDcsgd) {
  TrainOptions o = quadratic("dcsgd", "ternary");
  o.steps = 2000;  // the tail (last half) is stationary: (1 − η λ_min)^1000 < 1e-10
  o.runs = 8;
  const TrainResult trained = train(o);
  EXPECT_EQ(trained.termination(), Termination::kCompleted);
  const LossSummary loss = summarize_loss(trained);
  EXPECT_LT(loss.tail_loss.mean, 0.1 * trained.initial_loss);
  // Its covariance is only known on the diagonal: the SDE averages it over noise draws by
  // default (Monte Carlo), the surrogate is there on request, the exact (rand-k) form is
  // refused, and the floor is the fixed point of the stationary moments with its variance.
  SdeOptions sde;
  const SdeResult simulated = simulate_sde(o, sde);
  EXPECT_NE(simulated.covariance.find("Monte Carlo"), std::string::npos) << simulated.covariance;
  EXPECT_EQ(simulated.result.termination(), Termination::kCompleted);
  sde.compression_covariance = "surrogate";
  const SdeResult surrogate = simulate_sde(o, sde);
  EXPECT_NE(surrogate.covariance.find("surrogate"), std::string::npos) << surrogate.covariance;
  sde.compression_covariance = "exact";
  EXPECT_THROW(simulate_sde(o, sde), ConfigError);
  const Prediction p = predict(o);
  ASSERT_TRUE(p.floor.stationary_loss.has_value()) << p.floor.reason;
  EXPECT_TRUE(p.floor.omega_measured);
  EXPECT_EQ(p.floor.compressor, "ternary");
  // The fixed point of the stationary moments with its variance is the method's floor (without
  // the compression term it would be 0.32): within 4.5 s.e. and the error predict states for
  // state-dependent quantizers (docs/THEORY.md §3).
  EXPECT_NEAR(loss.tail_loss.mean, *p.floor.stationary_loss,
              testing::kZ * loss.tail_loss.stderr_ +
                  kQuantizerFloorError * *p.floor.stationary_loss);
}

TEST(AddedMethod, TrainsAndSaysWhatItHasNoModelFor) {
  EXPECT_EQ(&method_from_string("ef-majority"), &kEfMajority);
  const TrainOptions o = quadratic("ef-majority", "");
  const TrainResult trained = train(o);
  EXPECT_EQ(trained.plan.compressor->name(), "sign");
  EXPECT_LT(summarize_loss(trained).tail_loss.mean, 0.1 * trained.initial_loss);
  try {
    simulate_sde(o, SdeOptions{});
    ADD_FAILURE() << "an SDE for ef-majority";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.option(), "method");
    EXPECT_NE(std::string(e.what()).find("vote"), std::string::npos) << e.what();
  }
  const Prediction p = predict(o);
  EXPECT_FALSE(p.floor.stationary_loss.has_value());
  EXPECT_EQ(p.floor.reason, "no closed-form floor for ef-majority");
  // Its compressor rule is the descriptor's: sign messages only.
  TrainOptions wrong = o;
  wrong.compressor = "randk:0.5";
  EXPECT_THROW(make_run_plan(wrong), ConfigError);
}

TEST(AddedMethod, TakesItsModelAndFloorFromItsDescriptor) {
  const TrainOptions vote = quadratic("vote", "");
  const TrainOptions majority = quadratic("majority", "");
  // Same pieces, same streams: the same numbers as majority, under its own name.
  const TrainResult a = train(vote), b = train(majority);
  EXPECT_EQ(a.runs[0].loss, b.runs[0].loss);
  const Prediction pa = predict(vote), pb = predict(majority);
  ASSERT_TRUE(pa.floor.stationary_loss.has_value()) << pa.floor.reason;
  EXPECT_EQ(*pa.floor.stationary_loss, *pb.floor.stationary_loss);
  EXPECT_EQ(pa.methods.count("vote"), 1u);
  const SdeResult sa = simulate_sde(vote, SdeOptions{}), sb = simulate_sde(majority, SdeOptions{});
  EXPECT_EQ(sa.model, sb.model);
  EXPECT_EQ(sa.result.runs[0].loss, sb.result.runs[0].loss);
}

TEST(AddedMethodAndCompressor, CrossProcessesBitForBit) {
  // A test-only method and a test-only compressor through the MPI exchange (allgather of the
  // encoded messages in agent order; reduce-scatter of sign counts for the sign method).
  struct Case {
    const char* method;
    const char* compressor;
    const char* reduction;
  };
  for (const Case& c : {Case{"dcsgd", "ternary", "fixed"}, Case{"ef-majority", "", "fixed"},
                        Case{"ef-majority", "", "reduce-scatter"}}) {
    TrainOptions distributed = quadratic(c.method, c.compressor);
    distributed.steps = 60;
    distributed.backend = "mpi";
    distributed.agents_per_rank = 2;
    distributed.reduction = c.reduction;
    TrainOptions local = distributed;
    local.backend = "local";
    const TrainResult result = train(distributed, {}, world);
    EXPECT_EQ(metrics_csv(result), metrics_csv(train(local)))
        << c.method << " " << c.compressor << " " << c.reduction;
    if (world->size() > 1) {
      EXPECT_GT(result.communication.bytes_sent, 0u);
      EXPECT_EQ(result.communication.bytes_sent, result.communication.declared_bytes_sent);
    }
  }
}

}  // namespace
}  // namespace dsignsgd

int main(int argc, char** argv) {
  return dsignsgd::testing::run_mpi_tests(argc, argv, dsignsgd::world, 60.0);
}
