#include <bit>
#include <cmath>
#include <limits>

#include "dsignsgd/compress/bit_pack.hpp"
#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/compress/measure.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

using testing::kZ;
using testing::test_seed;

std::vector<float> gaussian_vector(std::size_t d, std::uint64_t seed) {
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  std::vector<float> v(d);
  for (float& x : v) x = static_cast<float>(rng.normal());
  v[0] = 0.0f;  // a zero coordinate must stay unbiased too
  return v;
}

/// T compressions of v (library: compress/measure.hpp).
CompressorMeasurement compress_many(const Compressor& c, const std::vector<float>& v, int trials,
                                    std::uint64_t seed) {
  return measure_compressor(c, v, trials, StreamAddress{seed, 3, 1, 0, StreamPurpose::kGradientNoise});
}

double norm_sq(const std::vector<float>& v) {
  double s = 0.0;
  for (float x : v) s += static_cast<double>(x) * x;
  return s;
}

class UnbiasedCompressor : public ::testing::TestWithParam<std::string> {};

TEST_P(UnbiasedCompressor, IsUnbiasedAndWithinItsOmega) {
  const std::uint64_t seed = test_seed(21);
  const auto c = make_compressor(GetParam());
  ASSERT_TRUE(c->unbiased());
  const std::vector<float> v = gaussian_vector(60, seed);
  const CompressorMeasurement mc = compress_many(*c, v, 20000, seed);
  EXPECT_LT(mc.max_bias_z, kZ) << GetParam();
  const double bound = c->omega(v.size()) * norm_sq(v);
  EXPECT_LE(mc.error_mean, bound + kZ * mc.error_stderr) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(All, UnbiasedCompressor,
                         ::testing::Values("identity", "randk:0.1", "randk:0.5", "randk:1",
                                           "qsgd:1", "qsgd:4", "qsgd:3:16", "natural"));

TEST(RandKCompressor, VarianceEqualsOmegaExactly) {
  // E||C(v) − v||² = (d/k − 1)||v||² for rand-k: the bound is attained, so a wrong scaling fails.
  const std::uint64_t seed = test_seed(22);
  for (const char* spec : {"randk:0.1", "randk:0.3"}) {
    const auto c = make_compressor(spec);
    const std::vector<float> v = gaussian_vector(50, seed);
    const CompressorMeasurement mc = compress_many(*c, v, 20000, seed);
    EXPECT_NEAR(mc.error_mean, c->omega(50) * norm_sq(v), kZ * mc.error_stderr) << spec;
  }
}

TEST(UnbiasednessCheck, DetectsBiasedCompressors) {
  // Negative control: the same check must reject the biased compressors.
  const std::uint64_t seed = test_seed(23);
  const std::vector<float> v = gaussian_vector(60, seed);
  for (const char* spec : {"topk:0.1", "sign", "scaled-sign"}) {
    const auto c = make_compressor(spec);
    EXPECT_FALSE(c->unbiased());
    EXPECT_TRUE(std::isnan(c->omega(60)));
    EXPECT_GT(compress_many(*c, v, 2000, seed).max_bias_z, kZ) << spec;
  }
}

TEST(Compressor, EncodedSizeEqualsDeclaredBits) {
  const std::uint64_t seed = test_seed(24);
  for (const char* spec : {"identity", "randk:0.1", "randk:1", "qsgd:1", "qsgd:15", "qsgd:7:10",
                           "natural", "sign", "scaled-sign", "topk:0.25"}) {
    const auto c = make_compressor(spec);
    for (std::size_t d : {1u, 7u, 8u, 63u, 64u, 65u, 1000u, 4099u}) {
      const std::vector<float> v = gaussian_vector(d, seed);
      WireMessage message;
      c->encode(v, StreamAddress{seed, 0, 0, 0, StreamPurpose::kGradientNoise}, message);
      EXPECT_EQ(8 * message.bytes.size(), c->wire_bits(d)) << spec << " d=" << d;
    }
  }
}

TEST(Compressor, WireCostsMatchSpec) {
  const std::size_t d = 1 << 20;
  const double header = 64.0 / d;
  EXPECT_DOUBLE_EQ(make_compressor("sign")->wire_bits(d) / double(d), 1.0 + header);
  EXPECT_DOUBLE_EQ(make_compressor("identity")->wire_bits(d) / double(d), 32.0 + header);
  EXPECT_DOUBLE_EQ(make_compressor("natural")->wire_bits(d) / double(d), 9.0 + header);
  EXPECT_NEAR(make_compressor("randk:0.01")->wire_bits(d) / double(d), 0.32, 1e-3);
  // qsgd:15: 1 sign bit + 4 level bits per coordinate, one fp32 norm.
  EXPECT_DOUBLE_EQ(make_compressor("qsgd:15")->wire_bits(d) / double(d), 5.0 + header + 32.0 / d);
}

TEST(IdentityCompressor, RoundTripIsBitExact) {
  std::vector<float> v = {0.0f,
                          -0.0f,
                          1.5f,
                          -3.25e-39f,
                          std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::infinity(),
                          1e-45f,
                          -7.0f};
  const auto c = make_compressor("identity");
  WireMessage message;
  const StreamAddress address{};
  c->encode(v, address, message);
  std::vector<float> out(v.size());
  c->decode(message, address, out);
  for (std::size_t j = 0; j < v.size(); ++j) {
    EXPECT_EQ(std::bit_cast<std::uint32_t>(out[j]), std::bit_cast<std::uint32_t>(v[j]));
  }
}

TEST(NaturalCompressor, KeepsPowersOfTwoExactly) {
  const std::vector<float> v = {1.0f, -2.0f, 0.25f, 0.0f, -1024.0f, 0x1p-100f};
  const auto c = make_compressor("natural");
  std::vector<float> out(v.size());
  WireMessage message;
  for (std::uint32_t step = 0; step < 50; ++step) {
    const StreamAddress address{1, 0, 0, step, StreamPurpose::kGradientNoise};
    c->encode(v, address, message);
    c->decode(message, address, out);
    EXPECT_EQ(out, v);
  }
}

TEST(SignCompressor, PacksSignsAndSendsZerosAsFairCoins) {
  const std::uint64_t seed = test_seed(25);
  // Lengths around the 64-wide vector loop exercise both the vector body and the scalar tail.
  for (std::size_t d : {1u, 63u, 64u, 65u, 130u, 1000u}) {
    std::vector<float> v = gaussian_vector(d, seed + d);
    const auto c = make_compressor("sign");
    WireMessage message;
    std::vector<float> out(d);
    const StreamAddress address{seed, 0, 0, static_cast<std::uint32_t>(d),
                                StreamPurpose::kGradientNoise};
    c->encode(v, address, message);
    c->decode(message, address, out);
    for (std::size_t j = 1; j < d; ++j) {  // v[0] is 0
      ASSERT_EQ(out[j], v[j] > 0.0f ? 1.0f : -1.0f) << "d=" << d << " j=" << j;
    }
  }
  // Exact zeros (±0) come out ±1 with probability ½ each (the papers' E sign(0) = 0).
  constexpr std::size_t kDim = 1000;
  std::vector<float> zeros(kDim, 0.0f);
  for (std::size_t j = 0; j < kDim; j += 2) zeros[j] = -0.0f;
  const auto c = make_compressor("sign");
  WireMessage message;
  std::vector<float> out(kDim);
  double sum = 0.0;
  constexpr int kTrials = 40;
  for (int t = 0; t < kTrials; ++t) {
    const StreamAddress address{seed, 1, 0, static_cast<std::uint32_t>(t),
                                StreamPurpose::kGradientNoise};
    c->encode(zeros, address, message);
    c->decode(message, address, out);
    for (float x : out) sum += x;
  }
  const double n = static_cast<double>(kDim) * kTrials;
  EXPECT_NEAR(sum / n, 0.0, kZ / std::sqrt(n));
}

TEST(Compressor, RejectsMalformedMessages) {
  const std::vector<float> v(100, 1.0f);
  for (const char* spec : {"identity", "randk:0.1", "qsgd:4", "natural", "sign", "topk:0.1"}) {
    const auto c = make_compressor(spec);
    WireMessage message;
    c->encode(v, StreamAddress{}, message);
    std::vector<float> out(v.size());
    WireMessage truncated = message;
    truncated.bytes.pop_back();
    EXPECT_THROW(c->decode(truncated, StreamAddress{}, out), std::runtime_error) << spec;
    WireMessage wrong_magic = message;
    wrong_magic.bytes[0] ^= 0xFF;
    EXPECT_THROW(c->decode(wrong_magic, StreamAddress{}, out), std::runtime_error) << spec;
    std::vector<float> other(v.size() + 1);
    EXPECT_THROW(c->decode(message, StreamAddress{}, other), std::runtime_error) << spec;
  }
}

TEST(CompressorFactory, RejectsInvalidSpecificationsNamingTheOption) {
  for (const char* spec :
       {"randk:0", "randk:1.5", "randk", "qsgd:0", "qsgd:x", "topk:-1", "gzip", "sign:3"}) {
    try {
      make_compressor(spec);
      ADD_FAILURE() << spec << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.option(), "compressor");
      EXPECT_NE(std::string(e.what()).find(spec), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(make_compressor("randk:0.25")->name(), "randk:0.25");
  EXPECT_EQ(make_compressor("qsgd:4:128")->name(), "qsgd:4:128");
}

}  // namespace
}  // namespace dsignsgd
