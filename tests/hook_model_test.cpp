// The DDP hooks' α-β model (theory/hook_model.hpp): DDP's bucketing, each hook's collectives and
// bytes from first principles, and its refusals. (The bytes against what the hooks really send
// under DDP: python/tests/test_hooks.py.)
#include "dsignsgd/theory/hook_model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "dsignsgd/core/config_error.hpp"

namespace dsignsgd {
namespace {

// The fashion-mlp workload: 784-2048-2048-10.
const std::vector<ParameterShape> kMlp = {{2048, 784}, {2048}, {2048, 2048}, {2048}, {10, 2048}, {10}};

TEST(HookModel, BucketsAreDdpsReverseOrderOneMegabyteThenTwentyFive) {
  const std::vector<GradientBucket> buckets = ddp_buckets(kMlp);
  // Reverse order: 10 (40 B) and 10×2048 (80 kB) and 2048 fit in 1 MB; 2048×2048 (16 MB) does
  // not, and opens the 25 MB bucket, which then takes the rest (16 + 6.3 MB < 25 MB).
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[0], (GradientBucket{{10}, {10, 2048}, {2048}}));
  EXPECT_EQ(buckets[1], (GradientBucket{{2048, 2048}, {2048}, {2048, 784}}));
  // A tensor larger than the cap is never split: one bucket of its own.
  EXPECT_EQ(ddp_buckets({{8, 1 << 20}, {4}}).size(), 2u);
}

TEST(HookModel, CollectivesCountTheRingTheAllgatherAndPowerSgdsMatrices) {
  const GradientBucket bucket = {{2048, 2048}, {2048}, {2048, 784}};
  const double d = 2048.0 * 2048 + 2048 + 2048.0 * 784;
  for (int world : {2, 4}) {
    const auto ring = hook_collectives("allreduce", bucket, world);
    ASSERT_EQ(ring.size(), 1u);
    EXPECT_EQ(ring[0].rounds, 2 * (world - 1));
    EXPECT_DOUBLE_EQ(ring[0].bytes_sent, 2.0 * (world - 1) / world * 4 * d);
    EXPECT_DOUBLE_EQ(hook_collectives("torch-fp16", bucket, world)[0].bytes_sent,
                     2.0 * (world - 1) / world * 2 * d);
    // PowerSGD r4: the bias (1-D) uncompressed; both matrices compressed ((n + m) 4 × 2 < n m):
    // P and Q are (2048 + 2048) × 4 and (2048 + 784) × 4 coordinates in all.
    const auto power = hook_collectives("powersgd-r4", bucket, world);
    ASSERT_EQ(power.size(), 3u);
    const double ring_share = 2.0 * (world - 1) / world;
    EXPECT_DOUBLE_EQ(power[0].bytes_sent, ring_share * 4 * 2048);
    EXPECT_DOUBLE_EQ(power[1].bytes_sent + power[2].bytes_sent,
                     ring_share * 4 * ((2048 + 2048) * 4 + (2048 + 784) * 4));
    // The sign hooks: an allgather of the 8-byte header and d / 8 bytes.
    const auto sign = hook_collectives("dsignsgd", bucket, world);
    ASSERT_EQ(sign.size(), 1u);
    EXPECT_EQ(sign[0].rounds, world - 1);
    EXPECT_DOUBLE_EQ(sign[0].bytes_sent, (world - 1) * (8 + std::ceil(d / 8)));
    // Majority: two exchanges of the widest shard (whole blocks of 64 coordinates), 1 bit each.
    const auto vote = hook_collectives("signum-majority", bucket, world);
    ASSERT_EQ(vote.size(), 2u);
    const double shard = std::ceil(std::ceil(d / world) / 64) * 8;
    EXPECT_DOUBLE_EQ(vote[0].bytes_sent, (world - 1) * shard);
    EXPECT_DOUBLE_EQ(vote[1].bytes_sent, (world - 1) * shard);
  }
  EXPECT_TRUE(hook_collectives("majority", bucket, 1).empty());  // one rank sends nothing
  // A matrix too small to pay (2 (n + m) R ≥ n m) stays uncompressed.
  const auto small = hook_collectives("powersgd-r4", {{10, 8}}, 2);
  EXPECT_DOUBLE_EQ(small[0].bytes_sent, 4.0 * 80);
  EXPECT_DOUBLE_EQ(small[1].bytes_sent, 0.0);
}

TEST(HookModel, StepIsComputePlusCodecPlusRoundsTimesAlphaPlusBytesOverRate) {
  const std::vector<GradientBucket> buckets = ddp_buckets(kMlp);
  const double rate = 1e9, alpha_us = 50.0;
  for (const HookKind& kind : hook_kinds()) {
    const HookStepTime t = predict_hook_step(kind.name, buckets, 4, rate, alpha_us, 0.07, 0.0);
    double rounds = 0.0, bytes = 0.0;
    for (const GradientBucket& b : buckets) {
      for (const HookCollective& c : hook_collectives(kind.name, b, 4)) {
        rounds += c.rounds;
        bytes += c.bytes_sent;
      }
    }
    EXPECT_EQ(t.codec, 0.0) << kind.name;
    EXPECT_DOUBLE_EQ(t.bytes_sent, bytes) << kind.name;
    EXPECT_DOUBLE_EQ(t.communication, rounds * alpha_us * 1e-6 + 8 * bytes / rate) << kind.name;
    EXPECT_DOUBLE_EQ(t.total(), 0.07 + t.communication) << kind.name;
  }
  // The codec is this machine's arithmetic: positive for every hook but plain allreduce.
  const GradientBucket bucket = buckets[0];
  EXPECT_EQ(hook_codec_seconds("allreduce", bucket, 2), 0.0);
  for (const char* hook : {"torch-fp16", "powersgd-r2", "dsignsgd", "majority", "qsgd"}) {
    EXPECT_GT(hook_codec_seconds(hook, bucket, 2, 1), 0.0) << hook;
  }
}

TEST(HookModel, RefusesBadShapesHooksAndOptionsNamingTheOption) {
  EXPECT_EQ(parse_parameter_shapes("2048x784,2048,10"),
            (std::vector<ParameterShape>{{2048, 784}, {2048}, {10}}));
  for (const char* bad : {"", "0", "2048x", "x4", "4,,5", "4x-1", "1e3", "4 x 4", "99999999999999"}) {
    try {
      parse_parameter_shapes(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.option(), "shapes") << bad;
    }
  }
  HookModelOptions options;
  options.shapes = kMlp;
  const auto refused_for = [&](const HookModelOptions& o) {
    try {
      o.validate();
    } catch (const ConfigError& e) {
      return e.option();
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(refused_for(options), "step-seconds");  // required
  options.step_seconds = 0.05;
  EXPECT_EQ(refused_for(options), "(accepted)");
  HookModelOptions bad = options;
  bad.hooks = {"powersgd-r3"};
  EXPECT_EQ(refused_for(bad), "hooks");
  bad = options;
  bad.hosts = {0};
  EXPECT_EQ(refused_for(bad), "hosts");
  bad = options;
  bad.rates = {"1gbps"};
  EXPECT_EQ(refused_for(bad), "rates");
  bad = options;
  bad.latency_us = -1;
  EXPECT_EQ(refused_for(bad), "latency-us");
  bad = options;
  bad.step_seconds = std::numeric_limits<double>::infinity();
  EXPECT_EQ(refused_for(bad), "step-seconds");
}

}  // namespace
}  // namespace dsignsgd
