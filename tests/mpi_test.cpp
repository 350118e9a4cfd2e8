// The MPI backend, run under mpirun at 1, 2 and 4 ranks (CTest label mpi). Expected values come
// from the in-process backend, which every rank also runs.
#include <gtest/gtest.h>

#include <filesystem>

#include "dsignsgd/comm/mpi.hpp"
#include "mpi_test_main.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/callbacks.hpp"
#include "dsignsgd/optim/trainer.hpp"

namespace dsignsgd {
namespace {

Communicator* world = nullptr;

TrainOptions distributed_options(const std::string& method, const std::string& compressor,
                                 int agents_per_rank) {
  TrainOptions o;
  o.method = method;
  o.compressor = compressor;
  o.problem.dim = 37;  // not a multiple of 8: exercises the packing tails
  o.problem.hessian = "linspace:0.5:2";
  o.noise = "gaussian:1";
  o.lr = 0.05;
  o.steps = 60;
  o.runs = 2;
  o.seed = 21;
  o.backend = "mpi";
  o.agents_per_rank = agents_per_rank;
  o.workers = world->size() * agents_per_rank;
  return o;
}

struct Case {
  std::string method, compressor;
};

class BitIdentity : public ::testing::TestWithParam<Case> {};

TEST_P(BitIdentity, MpiMetricsEqualInProcessMetrics) {
  for (int per_rank : {1, 2}) {
    const TrainOptions distributed =
        distributed_options(GetParam().method, GetParam().compressor, per_rank);
    TrainOptions local = distributed;
    local.backend = "local";
    const std::string expected = metrics_csv(train(local));
    const TrainResult result = train(distributed, {}, world);
    EXPECT_EQ(metrics_csv(result), expected)
        << GetParam().method << " " << GetParam().compressor << " A=" << per_rank;
    // The bytes handed to MPI are the bytes the compressor declares.
    if (world->size() > 1) {
      EXPECT_EQ(result.communication.bytes_sent, result.communication.declared_bytes_sent);
      EXPECT_EQ(result.communication.bytes_received,
                result.communication.declared_bytes_received);
      EXPECT_GT(result.communication.bytes_sent, 0u);
    }
  }
}

// Sign messages reduced to counts (--reduction reduce-scatter): the same trajectory as the
// in-process run, at several dimensions (shard padding, words that end mid-vector), and the bytes
// handed to MPI are the declared ones.
TEST(ReduceScatterSigns, MetricsEqualInProcessMetrics) {
  for (const char* method : {"dsignsgd", "majority", "signum"}) {
    for (int per_rank : {1, 2, 3}) {
      for (std::int64_t dim : {1, 37, 1000}) {
        TrainOptions distributed = distributed_options(method, "sign", per_rank);
        distributed.problem.dim = dim;
        distributed.reduction = "reduce-scatter";
        TrainOptions local = distributed;
        local.backend = "local";
        const std::string expected = metrics_csv(train(local));
        const TrainResult result = train(distributed, {}, world);
        EXPECT_EQ(metrics_csv(result), expected) << method << " A=" << per_rank << " d=" << dim;
        if (world->size() > 1) {
          EXPECT_EQ(result.communication.bytes_sent, result.communication.declared_bytes_sent);
          EXPECT_EQ(result.communication.bytes_received,
                    result.communication.declared_bytes_received);
          EXPECT_NE(result.communication.collective.find("reduce-scatter"), std::string::npos);
        }
      }
    }
  }
}

// The rings themselves: sums of integers (exact in fp32) at lengths that do and do not divide
// by the number of ranks, and the bytes each rank counts.
TEST(Rings, AllreduceAndReduceScatterSumExactly) {
  const auto p = static_cast<std::size_t>(world->size());
  const auto r = static_cast<std::size_t>(world->rank());
  for (std::size_t n : {1u, 3u, 37u, 4096u, 100003u}) {
    std::vector<float> values(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = static_cast<float>((i % 1000) + 7 * r);
    const std::uint64_t sent = world->bytes_sent();
    world->allreduce_sum(values);
    for (std::size_t i = 0; i < n; ++i) {
      const double expected = static_cast<double>(p * (i % 1000)) + 7.0 * p * (p - 1) / 2.0;
      ASSERT_EQ(values[i], static_cast<float>(expected)) << "n=" << n << " i=" << i;
    }
    if (p > 1) {
      EXPECT_EQ(world->bytes_sent() - sent, 2 * 4 * ((n + p - 1) / p) * (p - 1));
    }
  }
  for (std::size_t block : {1u, 8u, 1000u}) {
    std::vector<std::uint64_t> all(block * p), mine(block);
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = (std::uint64_t{1} << 40) * r + i;
    world->reduce_scatter_sum(all, mine);
    for (std::size_t i = 0; i < block; ++i) {
      const std::uint64_t index = r * block + i;
      EXPECT_EQ(mine[i], (std::uint64_t{1} << 40) * (p * (p - 1) / 2) + p * index) << i;
    }
  }
}

// DSGD with the ring allreduce: not bit-identical to the in-process run (the ring's summation
// order), but within fp32 rounding of it, and the bytes handed to MPI are the declared ones.
TEST(AllreduceExchange, DsgdMatchesInProcessWithinRounding) {
  TrainOptions distributed = distributed_options("dsgd", "identity", 1);
  distributed.problem.dim = 1001;
  distributed.reduction = "allreduce";
  TrainOptions local = distributed;
  local.backend = "local";
  local.reduction = "fixed";
  const TrainResult expected = train(local);
  const TrainResult result = train(distributed, {}, world);
  ASSERT_EQ(result.runs.size(), expected.runs.size());
  for (std::size_t run = 0; run < result.runs.size(); ++run) {
    const double a = result.runs[run].final_loss, b = expected.runs[run].final_loss;
    EXPECT_NEAR(a, b, 1e-5 * std::abs(b)) << run;
  }
  if (world->size() > 1) {
    EXPECT_EQ(result.communication.bytes_sent, result.communication.declared_bytes_sent);
    EXPECT_EQ(result.communication.bytes_received, result.communication.declared_bytes_received);
    EXPECT_NE(result.communication.collective.find("ring allreduce"), std::string::npos);
  }
}

TEST(ReduceScatterSigns, IsRefusedForMessagesThatAreNotSigns) {
  TrainOptions o = distributed_options("dcsgd", "randk:0.5", 1);
  o.reduction = "reduce-scatter";
  try {
    train(o, {}, world);
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.option(), "reduction");
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryMethodAndCompressor, BitIdentity,
    ::testing::Values(Case{"dsgd", "identity"}, Case{"dcsgd", "randk:0.3"},
                      Case{"dcsgd", "qsgd:4"}, Case{"dcsgd", "natural"},
                      Case{"dcsgd", "topk:0.2"}, Case{"dcsgd", "scaled-sign"},
                      Case{"dcsgd", "fp16"}, Case{"dcsgd", "bf16"},
                      Case{"dsignsgd", "sign"}, Case{"majority", "sign"},
                      Case{"normalized-dcsgd", "randk:0.3"}, Case{"signum", "sign"},
                      Case{"ef-signsgd", "scaled-sign"}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name = info.param.method + "_" + info.param.compressor;
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

TEST(MpiBackend, SignMessagesCostOneBitPerCoordinatePlusHeader) {
  TrainOptions o = distributed_options("dsignsgd", "sign", 1);
  o.problem.dim = 4096;
  const TrainResult result = train(o, {}, world);
  if (world->size() == 1) GTEST_SKIP() << "nothing is sent with one rank";
  const double per_step = static_cast<double>(result.communication.bytes_sent) /
                          static_cast<double>(o.runs.value() * o.steps.value());
  EXPECT_DOUBLE_EQ(per_step, 4096 / 8 + 8);  // 1 bit per coordinate + the 8-byte header
}

TEST(MpiBackend, RanksWithDifferentConfigurationsAreRefused) {
  TrainOptions o = distributed_options("dsgd", "identity", 1);
  o.seed = 100 + static_cast<std::uint64_t>(world->rank() == world->size() - 1 ? 1 : 0);
  if (world->size() == 1) GTEST_SKIP() << "one rank cannot disagree with itself";
  try {
    train(o, {}, world);
    ADD_FAILURE() << "mismatched configurations accepted";
  } catch (const ConfigError& e) {
    // Issue 30 D40: the differing option is named, with both values, on every rank.
    const std::string last = std::to_string(world->size() - 1);
    EXPECT_NE(std::string(e.what()).find("invalid --seed '101': on rank " + last +
                                         " differs from rank 0's '100'"),
              std::string::npos)
        << e.what();
  }
}

TEST(MpiBackend, InterruptedAndResumedJobEqualsTheUninterruptedOne) {
  for (const char* method : {"signum", "ef-signsgd", "dcsgd"}) {
    TrainOptions o = distributed_options(method, "", 2);
    TrainOptions local = o;
    local.backend = "local";
    const std::string expected = metrics_csv(train(local));
    const std::string dir = (std::filesystem::temp_directory_path() /
                             ("dsignsgd_mpi_resume_np" + std::to_string(world->size())))
                                .string();
    if (world->rank() == 0) std::filesystem::remove_all(dir);
    std::vector<std::uint64_t> sync(static_cast<std::size_t>(world->size()));
    world->allgather_u64(0, sync);  // everyone waits for the clean directory
    o.checkpoint_dir = dir;
    StopWhen stop([](std::int64_t k) { return k == 32; });
    EXPECT_THROW(train(o, {&stop}, world), Interrupted);
    o.resume = dir;
    o.checkpoint_dir.clear();
    const TrainResult resumed = train(o, {}, world);
    EXPECT_EQ(metrics_csv(resumed), expected) << method;
    // The resumed job measured and declared the bytes of its own steps only.
    const TrainResult::Communication& c = resumed.communication;
    EXPECT_EQ(c.bytes_sent, c.declared_bytes_sent) << method;
    EXPECT_EQ(c.bytes_received, c.declared_bytes_received) << method;
    if (world->size() > 1) {
      EXPECT_GT(c.declared_bytes_sent, 0u) << method;
    }
    world->allgather_u64(0, sync);
  }
}

TEST(MpiBackend, DataProblemsAreBitIdenticalToo) {
  TrainOptions o = distributed_options("dsignsgd", "sign", 2);
  o.problem.problem = "digits-mlp";
  o.problem.dim.reset();  // the model's
  o.data_dir = DSIGNSGD_DATA_DIR;
  o.noise = "none";
  o.batch = 8;
  o.lr = 0.002;
  o.weight_decay = 1e-4;
  TrainOptions local = o;
  local.backend = "local";
  const TrainResult expected = train(local);
  const TrainResult result = train(o, {}, world);
  EXPECT_EQ(metrics_csv(result), metrics_csv(expected));
  EXPECT_EQ(result.extra_metric_names.size(), 2u);
}

TEST(MpiBackend, WorkersMustMatchRanksTimesAgentsPerRank) {
  TrainOptions o = distributed_options("dsgd", "identity", 1);
  o.workers = world->size() + 1;
  EXPECT_THROW(train(o, {}, world), ConfigError);
}

}  // namespace
}  // namespace dsignsgd

int main(int argc, char** argv) {
  return dsignsgd::testing::run_mpi_tests(argc, argv, dsignsgd::world, 30.0);
}
