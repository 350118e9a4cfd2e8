// CPU dispatch (core/cpu_level.hpp): every level this machine has is forced in turn, in this one
// process, and what replicas share — random draws, compressor encodings and decodings, the
// aggregated direction, whole training and SDE trajectories — must be bit-identical to the
// baseline level's. The MLP's gradients (FMA from AVX2 on) need only agree to rounding.
#include <fmt/core.h>

#include <bit>
#include <cstring>

#include "dsignsgd/compress/bit_pack.hpp"
#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/core/cpu_level.hpp"
#include "dsignsgd/nn/model.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/random/batch.hpp"
#include "dsignsgd/sde/simulate.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

using testing::test_seed;

/// Restores the detected level when a test ends, whatever it forced.
class ForcedLevels : public ::testing::Test {
 protected:
  void TearDown() override { set_cpu_level(detected_cpu_level()); }
};

/// The raw bytes of anything trivially copyable, appended.
template <typename T>
void append_bytes(std::vector<std::uint8_t>& out, std::span<const T> values) {
  const auto* begin = reinterpret_cast<const std::uint8_t*>(values.data());
  out.insert(out.end(), begin, begin + values.size_bytes());
}

/// Everything shared between replicas, computed at the current level, as one byte string.
std::vector<std::uint8_t> shared_numbers(std::uint64_t seed) {
  std::vector<std::uint8_t> out;
  // Random draws: uniform words and normals (odd lengths reach the tails of the bulk loops).
  RandomStream rng(StreamAddress{seed, 1, 2, 3, StreamPurpose::kGradientNoise});
  std::vector<std::uint32_t> words(2051);
  fill_u32(rng, words);
  append_bytes<std::uint32_t>(out, words);
  std::vector<float> normals(3001);
  fill_standard_normal(rng, normals);
  append_bytes<float>(out, normals);
  // A gradient with exact zeros, ties and large values: every compressor, encoded then decoded.
  std::vector<float> v(5003);
  for (std::size_t j = 0; j < v.size(); ++j) {
    v[j] = j % 97 == 0   ? 0.0f
           : j % 13 == 0 ? std::round(normals[j % normals.size()])
                         : normals[j % normals.size()] * 3.0f;
  }
  for (const char* spec : {"identity", "sign", "scaled-sign", "randk:0.1", "qsgd:4", "qsgd:15:64",
                           "natural", "topk:0.05", "fp16", "bf16"}) {
    const auto compressor = make_compressor(spec);
    const StreamAddress address{seed, 0, 1, 7, StreamPurpose::kGradientNoise};
    WireMessage message;
    compressor->encode(v, address, message);
    append_bytes<std::uint8_t>(out, message.bytes);
    std::vector<float> decoded(v.size(), 0.5f);
    compressor->decode_accumulate(message, address, 0.25f, decoded);
    append_bytes<float>(out, decoded);
  }
  // Sign votes of 19 agents (five count planes).
  std::vector<std::vector<std::uint8_t>> payloads(19,
                                                  std::vector<std::uint8_t>((v.size() + 7) / 8));
  std::vector<const std::uint8_t*> pointers;
  for (std::size_t a = 0; a < payloads.size(); ++a) {
    RandomStream coins(
        StreamAddress{seed, 0, static_cast<std::uint32_t>(a), 0, StreamPurpose::kCompression});
    std::vector<float> shifted(v);
    for (float& x : shifted) x += static_cast<float>(a % 5) * 0.3f - 0.6f;
    pack_signs(shifted, payloads[a].data(), coins);
    append_bytes<std::uint8_t>(out, payloads[a]);
    pointers.push_back(payloads[a].data());
  }
  std::vector<float> sums(v.size());
  sum_sign_votes(pointers, sums);
  append_bytes<float>(out, sums);
  // Whole runs: the aggregated direction and the update of x, step after step.
  for (const auto& [method, compressor] :
       std::vector<std::pair<std::string, std::string>>{{"dsgd", ""},
                                                        {"dcsgd", "qsgd:4"},
                                                        {"dcsgd", "natural"},
                                                        {"dsignsgd", ""},
                                                        {"majority", ""}}) {
    TrainOptions o;
    o.method = method;
    o.compressor = compressor;
    o.noise = "student:3:1";
    o.workers = 4;
    o.lr = 0.05;
    o.steps = 60;
    o.runs = 2;
    o.log_every = 1;
    o.problem.dim = 300;
    o.problem.hessian = "linspace:0.5:2";
    o.seed = seed;
    for (const RunTrace& run : train(o).runs) append_bytes<double>(out, run.loss);
    if (method == "dsignsgd" || method == "dsgd") {
      for (const RunTrace& run : simulate_sde(o, SdeOptions{}).result.runs) {
        append_bytes<double>(out, run.loss);
      }
    }
  }
  return out;
}

TEST_F(ForcedLevels, EveryLevelComputesTheSharedNumbersBitForBit) {
  const std::uint64_t seed = test_seed(90);
  set_cpu_level(CpuLevel::kBaseline);
  ASSERT_EQ(cpu_level(), CpuLevel::kBaseline);
  const std::vector<std::uint8_t> baseline = shared_numbers(seed);
  for (CpuLevel level : available_cpu_levels()) {
    std::cout << fmt::format("[ level    ] {} (machine: {})\n", to_string(level),
                             to_string(detected_cpu_level()));
    ASSERT_EQ(set_cpu_level(level), level);
    const std::vector<std::uint8_t> numbers = shared_numbers(seed);
    ASSERT_EQ(numbers.size(), baseline.size());
    std::size_t first_difference = numbers.size();
    for (std::size_t i = 0; i < numbers.size(); ++i) {
      if (numbers[i] != baseline[i]) {
        first_difference = i;
        break;
      }
    }
    EXPECT_EQ(first_difference, numbers.size())
        << to_string(level) << " differs from baseline at byte " << first_difference << " of "
        << numbers.size();
  }
}

TEST_F(ForcedLevels, LevelsNeverExceedTheMachineAndNameThemselves) {
  EXPECT_EQ(available_cpu_levels().front(), CpuLevel::kBaseline);
  EXPECT_EQ(available_cpu_levels().back(), detected_cpu_level());
  EXPECT_EQ(set_cpu_level(CpuLevel::kAvx512), detected_cpu_level());
  EXPECT_EQ(to_string(CpuLevel::kAvx2), "avx2");
}

TEST_F(ForcedLevels, MlpGradientsAgreeToRoundingAtEveryLevel) {
  // The MLP's products (Eigen's GEMM compiled per level; FMA from AVX2 on) round differently, so
  // its gradients are compared with a tolerance of a few float ulps of their scale.
  const std::uint64_t seed = test_seed(91);
  Dataset data;
  data.samples = 64;
  data.features = 50;
  data.classes = 10;
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  for (std::size_t i = 0; i < data.samples * data.features; ++i) {
    data.x.push_back(static_cast<float>(rng.normal()));
  }
  for (std::size_t i = 0; i < data.samples; ++i) data.labels.push_back(static_cast<int>(i % 10));
  const auto model = make_mlp(data.features, {32, 16}, data.classes);
  std::vector<float> params(model->parameters());
  model->initialize(params, seed);
  set_cpu_level(CpuLevel::kBaseline);
  std::vector<float> reference(params.size());
  const double reference_loss = model->loss_and_gradient(params, data, {}, reference);
  double scale = 0.0;
  for (float g : reference) scale = std::max(scale, static_cast<double>(std::abs(g)));
  for (CpuLevel level : available_cpu_levels()) {
    set_cpu_level(level);
    std::vector<float> grad(params.size());
    const double loss = model->loss_and_gradient(params, data, {}, grad);
    EXPECT_NEAR(loss, reference_loss, 1e-5 * reference_loss) << to_string(level);
    double worst = 0.0;
    for (std::size_t i = 0; i < grad.size(); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(grad[i]) - reference[i]));
    }
    std::cout << fmt::format("[ mlp      ] {}: largest gradient difference {:.3g} (scale {:.3g})\n",
                             to_string(level), worst, scale);
    EXPECT_LE(worst, 1e-5 * scale) << to_string(level);
  }
}

}  // namespace
}  // namespace dsignsgd
