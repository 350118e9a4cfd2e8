// The local quadratic model (issue 28, item 3) recovers what it is given on the synthetic
// quadratic, where the Hessian, the noise and the methods' floors are known in closed form
// (theory/stationary.hpp, themselves checked against simulation in stationary_test.cpp).
#include "dsignsgd/stats/local_model.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/theory/stationary.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

constexpr std::size_t kDim = 200;
constexpr int kWorkers = 4;
constexpr double kLr = 0.05, kSigma = 0.5;

std::vector<double> eigenvalues() {  // linspace:0.5:2
  std::vector<double> h(kDim);
  for (std::size_t j = 0; j < kDim; ++j) h[j] = 0.5 + 1.5 * j / (kDim - 1.0);
  return h;
}

LocalModel quadratic_model(std::uint64_t seed) {
  TrainOptions o;
  o.problem.dim = kDim;
  o.problem.hessian = "linspace:0.5:2";
  o.noise = "gaussian:" + std::to_string(kSigma);
  o.workers = kWorkers;
  o.lr = kLr;
  o.seed = seed;
  LocalModelOptions options;
  options.draws = 256;
  options.hutchinson_probes = 2;
  options.power_iterations = 60;
  options.compressors = {"randk:0.5"};
  return probe_local_model(make_run_plan(o), 300, options);
}

TEST(LocalModel, MeasuresTheQuadraticsCurvatureAndNoise) {
  const std::uint64_t seed = testing::test_seed(91);
  const LocalModel m = quadratic_model(seed);
  const std::vector<double> h = eigenvalues();
  ASSERT_EQ(m.coordinates.size(), kDim);
  // A diagonal H: Hutchinson is exact per probe, the central difference exact up to fp32.
  for (std::size_t c = 0; c < kDim; ++c) EXPECT_NEAR(m.curvature[c], h[c], 2e-3 * h[c]) << c;
  // Power iteration on a clustered top (λ₂/λ₁ = 0.996): a Rayleigh quotient from below.
  std::printf("seed %llu: λ_max %.5f (true 2), law %s ℓ %.4f, ω_eff %.4f\n",
              static_cast<unsigned long long>(seed), m.lambda_max, m.law.c_str(), m.ell,
              m.effective_omega.at("randk:0.5"));
  EXPECT_LE(m.lambda_max, 2.0 * (1 + 1e-3));
  EXPECT_GE(m.lambda_max, 2.0 * 0.97);
  double variance = 0.0;
  for (double s2 : m.noise_variance) variance += s2 / kDim;
  // 200 coordinates × 256 draws: s.e. of the mean variance ≈ σ² √(2/255)/√200 = 0.6 %.
  EXPECT_NEAR(variance, kSigma * kSigma, 3 * 0.0063 * kSigma * kSigma);
  EXPECT_EQ(m.law, "gaussian");
  EXPECT_NEAR(m.ell, std::sqrt(2 / M_PI), 1e-12);
  // rand-k at k = d/2: ω = 1 of what it compresses.
  EXPECT_NEAR(m.effective_omega.at("randk:0.5"), 1.0, 0.05);
}

TEST(LocalModel, ItsLongHorizonPredictionsAreTheClosedFormFloors) {
  const std::uint64_t seed = testing::test_seed(92);
  const LocalModel m = quadratic_model(seed);
  const std::vector<double> h = eigenvalues();
  const std::int64_t forever = 1'000'000;
  const double dsgd = predict_local(m, "dsgd", "", kWorkers, kLr, forever).excess_loss;
  const double randk = predict_local(m, "dcsgd", "randk:0.5", kWorkers, kLr, forever).excess_loss;
  const double sign = predict_local(m, "dsignsgd", "", kWorkers, 0.01, forever).excess_loss;
  const double vote = predict_local(m, "majority", "", kWorkers, 0.01, forever).excess_loss;
  const double s2 = kSigma * kSigma, ell = std::sqrt(2 / M_PI);
  std::printf(
      "seed %llu: dsgd %.5f (closed %.5f) randk %.5f (%.5f) sign %.5f (%.5f) vote %.5f "
      "(%.5f)\n",
      static_cast<unsigned long long>(seed), dsgd, dsgd_floor(h, s2, kWorkers, kLr).value, randk,
      dcsgd_randk_floor(h, s2, 1.0, kWorkers, kLr).value, sign,
      dsignsgd_floor(h, kSigma, ell, kWorkers, 0.01).value, vote,
      majority_floor(h, kSigma, ell, kWorkers, 0.01).value);
  // Measured s_j² (0.6 % s.e.), c_j from the same draws, σ_j from robust scales (≈ 0.6 %).
  EXPECT_NEAR(dsgd / dsgd_floor(h, s2, kWorkers, kLr).value, 1.0, 0.03);
  EXPECT_NEAR(randk / dcsgd_randk_floor(h, s2, 1.0, kWorkers, kLr).value, 1.0, 0.05);
  EXPECT_NEAR(sign / dsignsgd_floor(h, kSigma, ell, kWorkers, 0.01).value, 1.0, 0.03);
  EXPECT_NEAR(vote / majority_floor(h, kSigma, ell, kWorkers, 0.01).value, 1.0, 0.03);
  // One step from the minimum: Σ h η² (s² + c) / 2N, exactly.
  double one_step = 0.0;
  for (std::size_t c = 0; c < kDim; ++c) {
    one_step += m.curvature[c] * kLr * kLr * m.noise_variance[c] / (2.0 * kWorkers);
  }
  EXPECT_NEAR(predict_local(m, "dsgd", "", kWorkers, kLr, 1).excess_loss, one_step,
              1e-12 * one_step);
  // Stability: rand-k ω = 1 at N = 4 is unstable once η λ_max (1 + 1/4) ≥ 2.
  EXPECT_TRUE(predict_local(m, "dcsgd", "randk:0.5", kWorkers, 0.75, 10).stable);
  EXPECT_FALSE(predict_local(m, "dcsgd", "randk:0.5", kWorkers, 0.85, 10).stable);
  EXPECT_FALSE(predict_local(m, "dsgd", "", kWorkers, 1.05, 10).stable);
}

TEST(LocalModel, RefusesWhatItCannotModelNamingTheOption) {
  const RunPlan plan = make_run_plan(TrainOptions{});
  LocalModelOptions o;
  o.compressors = {"sign"};
  try {
    probe_local_model(plan, 0, o);
    FAIL() << "a biased compressor was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.option(), "local-compressors");
  }
  o = {};
  o.draws = 4;
  EXPECT_THROW(probe_local_model(plan, 0, o), ConfigError);
  o = {};
  const LocalModel m = probe_local_model(plan, 0, o);
  EXPECT_THROW(predict_local(m, "dcsgd", "randk:0.5", 4, 0.1, 10), ConfigError);
  EXPECT_THROW(predict_local(m, "ef-signsgd", "", 4, 0.1, 10), ConfigError);
}

// noise-probe --local-model takes the noise points and the model from one SGD run: the same
// numbers as the two separate calls, each of which runs SGD from the start.
TEST(LocalModel, OneRunGivesTheProbeAndTheModelOfTwoRuns) {
  const std::uint64_t seed = testing::test_seed(97);
  TrainOptions o;
  o.problem.dim = 40;
  o.problem.hessian = "linspace:0.5:2";
  o.noise = "student:3:1";
  o.lr = 0.05;
  o.seed = seed;
  const RunPlan plan = make_run_plan(o);
  NoiseProbeOptions probe;
  probe.at = {0, 50, 120};
  probe.draws = 64;
  LocalModelOptions options;
  options.draws = 64;
  options.hutchinson_probes = 4;
  options.power_iterations = 10;
  options.compressors = {"randk:0.5"};
  LocalModel together;
  const std::vector<NoisePoint> points =
      probe_noise_and_local_model(plan, probe, options, together);
  const std::vector<NoisePoint> apart_points = probe_noise(plan, probe);
  const LocalModel apart = probe_local_model(plan, 120, options);
  ASSERT_EQ(points.size(), apart_points.size());
  for (std::size_t p = 0; p < points.size(); ++p) {
    EXPECT_EQ(points[p].step, apart_points[p].step);
    EXPECT_EQ(points[p].loss, apart_points[p].loss);
    EXPECT_EQ(points[p].spec, apart_points[p].spec);
  }
  EXPECT_EQ(together.step, 120);
  EXPECT_EQ(local_model_json(together).dump(), local_model_json(apart).dump());
}

}  // namespace
}  // namespace dsignsgd
