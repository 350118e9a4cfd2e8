// The noise probe recovers the law of gradient noise it is given: the synthetic quadratic with
// injected Gaussian, Student-t (ν = 1.5, 3) and Cauchy noise, where the answer is known.
#include <gtest/gtest.h>

#include <cmath>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/random/stream.hpp"
#include "dsignsgd/stats/noise_probe.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

NoisePoint probe(const std::string& noise, std::uint64_t seed) {
  TrainOptions o;
  o.problem.dim = 400;
  o.problem.hessian = "linspace:0.5:2";
  o.noise = noise;
  o.workers = 4;
  o.lr = 0.05;
  o.seed = seed;
  NoiseProbeOptions options;
  options.at = {0, 20};
  options.draws = 250;  // 10^5 noise values per point, 2 000 in Hill's top 2 %
  const std::vector<NoisePoint> points = probe_noise(make_run_plan(o), options);
  EXPECT_EQ(points.size(), 2u);
  EXPECT_EQ(points.back().step, 20);
  std::printf("%s: law %s ν %.3g ± %.2g (Hill %.3g ± %.2g) σ %.4g kurtosis %.3g KS %.4f → %s\n",
              noise.c_str(), points.back().law.c_str(), points.back().fit.nu,
              points.back().fit.nu_stderr, points.back().tail.alpha,
              points.back().tail.stderr_, points.back().sigma, points.back().excess_kurtosis,
              points.back().ks_distance, points.back().spec.c_str());
  return points.back();
}

TEST(NoiseProbe, CallsGaussianNoiseGaussianWithItsScale) {
  const NoisePoint p = probe("gaussian:0.5", testing::test_seed(81));
  EXPECT_EQ(p.law, "gaussian");
  // σ from the median of 400 coordinates' robust scales, each from 250 draws: s.e. ≈ 0.5 %.
  EXPECT_NEAR(p.sigma, 0.5, 0.5 * 0.03);
  EXPECT_NEAR(p.scale_median, 0.5, 0.5 * 0.03);
}

TEST(NoiseProbe, RecoversTheStudentTDegreesOfFreedom) {
  // ν is the maximum-likelihood fit: within 3 of its standard errors, plus 2 % for the pooling
  // (each coordinate divided by its own median |Z| from 250 draws mixes the scales a little;
  // measured at ν = 3: −0.5 … −1.5 % at 250 draws, none at 4000). Hill's index of the top 2 %
  // carries the t law's second-order bias (t_3: 2.7–2.85 ± 0.06): within 3 s.e. and 12 %.
  for (double nu : {1.5, 3.0}) {
    const NoisePoint p = probe("student:" + std::to_string(nu) + ":1", testing::test_seed(82));
    EXPECT_EQ(p.law, "student") << nu;
    EXPECT_TRUE(p.fit.converged) << nu;
    EXPECT_NEAR(p.fit.nu, nu, 3.0 * p.fit.nu_stderr + 0.02 * nu) << nu;
    EXPECT_NEAR(p.nu, p.fit.nu, 0.005) << nu;  // the spec's ν, rounded to 2 decimals
    EXPECT_NEAR(p.tail.alpha, nu, 3.0 * p.tail.stderr_ + 0.12 * nu) << nu;
    EXPECT_NEAR(p.sigma, 1.0, 0.1) << nu;
    EXPECT_GT(p.excess_kurtosis, 1.0) << nu;
    // The written tail curve has the same index: its log-log slope below P = 2 %.
    std::vector<double> z, probability;
    for (const auto& [prob, value] : p.tail_curve) {
      if (prob < 0.02) {
        probability.push_back(prob);
        z.push_back(value);
      }
    }
    ASSERT_GE(z.size(), 10u);
    EXPECT_NEAR(-fit_log_log_slope(z, probability).slope, nu, 0.25 * nu) << nu;
  }
}

TEST(StudentTFit, RecoversNuWithinItsStandardErrorAndTheErrorIsCalibrated) {
  // 60 independent samples of 20 000 values of s·t_ν per ν. The z-scores (ν̂ − ν)/s.e. must be
  // centred and of unit spread: mean within 3 of its s.e. (+0.1), s.d. in [0.65, 1.4] (its own
  // s.e. is ≈ 0.09 at 60 fits: about 4 of them either way). At this size the MLE's law still
  // has heavier tails than the normal (ν = 1.5, 5000 values: one fit in 960 at 4.7 s.e., the
  // sample itself passing Kolmogorov–Smirnov), so single fits are only held to 6 s.e.
  const std::uint64_t seed = testing::test_seed(84);
  for (double nu : {1.5, 3.0, 8.0}) {
    constexpr int kReplicates = 60;
    std::vector<double> scores;
    for (int r = 0; r < kReplicates; ++r) {
      RandomStream rng(StreamAddress{seed, static_cast<std::uint32_t>(r), 0,
                                     static_cast<std::uint32_t>(nu * 10), StreamPurpose::kTest});
      std::vector<double> z(20000);
      for (double& v : z) v = 2.5 * rng.student_t(nu);
      const StudentTFit fit = fit_student_t(z);
      ASSERT_TRUE(fit.converged) << nu << " replicate " << r;
      scores.push_back((fit.nu - nu) / fit.nu_stderr);
      EXPECT_LT(std::abs(scores.back()), 6.0) << nu << " replicate " << r << ": " << fit.nu;
      EXPECT_LT(std::abs(fit.scale - 2.5), 6.0 * fit.scale_stderr) << nu << " replicate " << r;
    }
    double mean = 0.0, sum_sq = 0.0;
    for (double z : scores) mean += z / kReplicates;
    for (double z : scores) sum_sq += (z - mean) * (z - mean);
    const double spread = std::sqrt(sum_sq / (kReplicates - 1));
    std::printf("ν %.1f: z-scores mean %.2f, s.d. %.2f over %d fits\n", nu, mean, spread,
                kReplicates);
    EXPECT_LT(std::abs(mean), 3.0 * spread / std::sqrt(kReplicates) + 0.1) << nu;
    EXPECT_GT(spread, 0.65) << nu;
    EXPECT_LT(spread, 1.4) << nu;
  }
  // A Gaussian sample: ν at the cap (no finite error), or 1/ν within 3 s.e. of 0.
  RandomStream rng(StreamAddress{seed, 99, 0, 0, StreamPurpose::kTest});
  std::vector<double> gaussian(20000);
  for (double& v : gaussian) v = rng.normal();
  const StudentTFit g = fit_student_t(gaussian);
  std::printf("Gaussian: ν %.4g ± %.3g\n", g.nu, g.nu_stderr);
  EXPECT_TRUE(g.nu >= kStudentNuCap || 1.0 / g.nu < 3.0 * g.nu_stderr / (g.nu * g.nu)) << g.nu;
  // Too few values give NaN.
  EXPECT_TRUE(std::isnan(fit_student_t(std::vector<double>(50, 1.0)).nu));
}

TEST(NoiseProbe, CallsCauchyNoiseCauchyLike) {
  const NoisePoint p = probe("cauchy:2", testing::test_seed(83));
  EXPECT_EQ(p.law, "cauchy");
  EXPECT_NEAR(p.sigma, 2.0, 0.2);
  EXPECT_EQ(p.spec.rfind("cauchy:", 0), 0u);
}

TEST(NoiseProbe, RefusesBadOptionsNamingThem) {
  const RunPlan plan = make_run_plan(TrainOptions{});
  NoiseProbeOptions o;
  o.at = {10, 5};
  EXPECT_THROW(probe_noise(plan, o), ConfigError);
  o = {};
  o.draws = 4;
  try {
    probe_noise(plan, o);
    ADD_FAILURE() << "draws 4 accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.option(), "draws");
  }
}

}  // namespace
}  // namespace dsignsgd
