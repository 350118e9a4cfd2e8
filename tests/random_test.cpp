#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <set>

#include "dsignsgd/random/batch.hpp"
#include "dsignsgd/random/stream.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

using testing::kZ;
using testing::test_seed;

TEST(Philox4x32, MatchesRandom123KnownAnswers) {
  // Known-answer vectors of Random123's kat_vectors for philox4x32_10.
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (PhiloxCounter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                          {0xffffffffu, 0xffffffffu}),
            (PhiloxCounter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                          {0xa4093822u, 0x299f31d0u}),
            (PhiloxCounter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(RandomStream, IsAPureFunctionOfItsAddress) {
  const StreamAddress a{7, 1, 2, 3, StreamPurpose::kGradientNoise};
  RandomStream first(a);
  RandomStream second(a);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(first.next_u32(), second.next_u32());
  // Every field of the address changes the stream.
  std::set<std::uint32_t> firsts;
  for (const StreamAddress& b : {a, StreamAddress{8, 1, 2, 3, StreamPurpose::kGradientNoise},
                                 StreamAddress{7, 9, 2, 3, StreamPurpose::kGradientNoise},
                                 StreamAddress{7, 1, 9, 3, StreamPurpose::kGradientNoise},
                                 StreamAddress{7, 1, 2, 9, StreamPurpose::kGradientNoise},
                                 StreamAddress{7, 1, 2, 3, StreamPurpose::kCompression}}) {
    RandomStream s(b);
    firsts.insert(s.next_u32());
  }
  EXPECT_EQ(firsts.size(), 6u);
}

TEST(RandomStream, NormalHasUnitMeanZeroAndVarianceOne) {
  const std::uint64_t seed = test_seed(11);
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  constexpr int kDraws = 400000;
  double sum = 0.0;
  double sum_sq = 0.0;
  double sum_4 = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const double z = rng.normal();
    sum += z;
    sum_sq += z * z;
    sum_4 += z * z * z * z;
  }
  const double mean = sum / kDraws;
  const double var = sum_sq / kDraws;
  EXPECT_LT(std::abs(mean), kZ / std::sqrt(kDraws));
  // Var(Z²) = 2 for a standard normal.
  EXPECT_LT(std::abs(var - 1.0), kZ * std::sqrt(2.0 / kDraws));
  EXPECT_LT(std::abs(sum_4 / kDraws - 3.0), kZ * std::sqrt(96.0 / kDraws));
}

/// The fraction of draws below each quantile of the law matches the quantile level.
void expect_matches_student_t(double nu, std::uint64_t seed) {
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  const boost::math::students_t_distribution<double> law(nu);
  constexpr int kDraws = 200000;
  const double levels[] = {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99};
  double quantiles[7];
  for (int q = 0; q < 7; ++q) quantiles[q] = boost::math::quantile(law, levels[q]);
  int below[7] = {};
  for (int i = 0; i < kDraws; ++i) {
    const double t = rng.student_t(nu);
    for (int q = 0; q < 7; ++q) below[q] += t < quantiles[q] ? 1 : 0;
  }
  for (int q = 0; q < 7; ++q) {
    const double p = levels[q];
    const double se = std::sqrt(p * (1 - p) / kDraws);
    EXPECT_LT(std::abs(static_cast<double>(below[q]) / kDraws - p), kZ * se)
        << "nu = " << nu << ", level " << p;
  }
}

TEST(RandomStream, StudentTMatchesItsQuantiles) {
  const std::uint64_t seed = test_seed(12);
  for (double nu : {0.7, 1.0, 1.5, 2.0, 3.0, 10.0}) expect_matches_student_t(nu, seed);
}

TEST(RandomStream, UniformBelowIsUniform) {
  const std::uint64_t seed = test_seed(13);
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  constexpr int kBins = 7;
  constexpr int kDraws = 140000;
  int counts[kBins] = {};
  for (int i = 0; i < kDraws; ++i) ++counts[rng.uniform_below(kBins)];
  const double p = 1.0 / kBins;
  for (int c : counts) {
    EXPECT_LT(std::abs(static_cast<double>(c) / kDraws - p), kZ * std::sqrt(p * (1 - p) / kDraws));
  }
}

}  // namespace
}  // namespace dsignsgd

namespace dsignsgd {
namespace {

TEST(BatchRandom, FillU32ContinuesTheStreamExactly) {
  const StreamAddress address{testing::test_seed(14), 2, 3, 4, StreamPurpose::kTest};
  RandomStream scalar(address);
  RandomStream bulk(address);
  std::vector<std::uint32_t> expected(1000);
  for (auto& x : expected) x = scalar.next_u32();
  std::vector<std::uint32_t> got(1000);
  got[0] = bulk.next_u32();  // start mid-block
  fill_u32(bulk, std::span(got).subspan(1, 300));
  fill_u32(bulk, std::span(got).subspan(301, 699));
  EXPECT_EQ(got, expected);
}

TEST(BatchRandom, StandardNormalsHaveTheRightLaw) {
  const std::uint64_t seed = testing::test_seed(15);
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  std::vector<float> z(1'000'001);
  fill_standard_normal(rng, z);
  const double n = static_cast<double>(z.size());
  double m1 = 0, m2 = 0, m4 = 0;
  const double levels[] = {-2.5, -1.0, 0.0, 0.5, 2.0};
  double below[5] = {};
  for (float v : z) {
    m1 += v;
    m2 += double(v) * v;
    m4 += double(v) * v * v * v;
    for (int q = 0; q < 5; ++q) below[q] += v < levels[q];
  }
  EXPECT_NEAR(m1 / n, 0.0, testing::kZ / std::sqrt(n));
  EXPECT_NEAR(m2 / n, 1.0, testing::kZ * std::sqrt(2.0 / n));
  EXPECT_NEAR(m4 / n, 3.0, testing::kZ * std::sqrt(96.0 / n));
  for (int q = 0; q < 5; ++q) {
    const double p = 0.5 * std::erfc(-levels[q] / std::sqrt(2.0));
    EXPECT_NEAR(below[q] / n, p, testing::kZ * std::sqrt(p * (1 - p) / n)) << levels[q];
  }
  // Consecutive pairs are independent: correlation of z_{2i} and z_{2i+1}.
  double cross = 0;
  for (std::size_t i = 0; i + 1 < z.size(); i += 2) cross += double(z[i]) * z[i + 1];
  EXPECT_NEAR(cross / (n / 2), 0.0, testing::kZ / std::sqrt(n / 2));
}

}  // namespace
}  // namespace dsignsgd

namespace dsignsgd {
namespace {

TEST(BatchRandom, VectorPhiloxMatchesThePortableOne) {
  const std::uint64_t seed = testing::test_seed(16);
  for (std::uint32_t first : {0u, 17u, 0xFFFFFFF8u}) {  // includes block-index wrap-around
    const PhiloxCounter ctr{0, 5, 6, 7};
    const PhiloxKey key{static_cast<std::uint32_t>(seed), 99};
    std::uint32_t fast[64], portable[64];
    detail::philox16(ctr, key, first, fast);
    detail::philox16_generic(ctr, key, first, portable);
    EXPECT_TRUE(std::equal(fast, fast + 64, portable)) << first;
    PhiloxCounter block = ctr;
    block[0] = first + 3;
    const PhiloxCounter expected = philox4x32_10(block, key);
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), portable + 12)) << first;
  }
}

}  // namespace
}  // namespace dsignsgd
