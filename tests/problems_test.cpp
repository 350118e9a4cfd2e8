#include <boost/math/distributions/students_t.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <cmath>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/optim/schedule.hpp"
#include "dsignsgd/optim/step_rule.hpp"
#include "dsignsgd/problems/problem.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

using testing::kZ;
using testing::test_seed;

/// Central finite differences of f in double against the analytic gradient.
void expect_gradient_matches_finite_differences(const Problem& problem, std::uint64_t seed) {
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  const std::size_t d = problem.dim();
  std::vector<float> x(d);
  for (float& v : x) v = static_cast<float>(0.7 * rng.normal());
  std::vector<float> grad(d);
  const double f = problem.loss_and_gradient(x, grad);
  EXPECT_NEAR(f, problem.loss(x), 1e-12 * std::max(1.0, std::abs(f)));
  for (std::size_t j = 0; j < d; ++j) {
    const float h = 1e-2f;
    std::vector<float> plus = x, minus = x;
    plus[j] += h;
    minus[j] -= h;
    const double h_eff = (static_cast<double>(plus[j]) - minus[j]) / 2.0;
    const double numeric = (problem.loss(plus) - problem.loss(minus)) / (2.0 * h_eff);
    // Truncation error of central differences is O(h² f''') — 1e-3 relative at h = 1e-2 here.
    EXPECT_NEAR(grad[j], numeric, 2e-3 * std::max(1.0, std::abs(numeric))) << problem.describe();
  }
}

TEST(Problems, GradientsMatchFiniteDifferences) {
  const std::uint64_t seed = test_seed(51);
  for (const char* name : {"quadratic", "quartic", "cosh"}) {
    ProblemOptions o;
    o.problem = name;
    o.dim = 6;
    o.x_star = 0.3;
    if (o.problem == "quadratic") o.hessian = "logspace:-1:1";
    expect_gradient_matches_finite_differences(*make_problem(o), seed);
    if (o.problem == "quadratic") {
      o.rotate = true;
      o.seed = seed;
      expect_gradient_matches_finite_differences(*make_problem(o), seed);
    }
  }
}

TEST(Problems, SpectraFollowTheirDefinition) {
  EXPECT_EQ(parse_spectrum("linspace:1:3", 3), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(parse_spectrum("diag:1,2,5", 3), (std::vector<double>{1, 2, 5}));
  const auto log = parse_spectrum("logspace:-1:1", 3);
  EXPECT_NEAR(log[0], 0.1, 1e-15);
  EXPECT_NEAR(log[1], 1.0, 1e-15);
  EXPECT_NEAR(log[2], 10.0, 1e-13);
  ProblemOptions o;
  o.hessian = "diag:1,2,5";
  EXPECT_EQ(ProblemSpec::resolve(o).dim, 3u);
  o.dim = 4;
  EXPECT_THROW(ProblemSpec::resolve(o), ConfigError);
}

TEST(Problems, RotatedQuadraticKeepsItsEigenvalues) {
  ProblemOptions o;
  o.dim = 5;
  o.hessian = "diag:1,2,3,4,5";
  o.rotate = true;
  o.seed = test_seed(52);
  const auto problem = make_problem(o);
  // f at x* + t·e_j is between λ_min t²/2 and λ_max t²/2, and ½ tr(H) = Σ_j f(e_j).
  double trace = 0.0;
  for (std::size_t j = 0; j < 5; ++j) {
    std::vector<float> e(5, 0.0f);
    e[j] = 1.0f;
    const double f = problem->loss(e);
    EXPECT_GE(f, 0.5 - 1e-6);
    EXPECT_LE(f, 2.5 + 1e-6);
    trace += 2.0 * f;
  }
  EXPECT_NEAR(trace, 15.0, 1e-5);
}

TEST(Problems, L0L1ConstantsHoldAtRandomPoints) {
  // ||∇²f|| <= L0 + L1 ||∇f|| for the separable problems: ||∇²f|| = max_j f''(x_j).
  const std::uint64_t seed = test_seed(53);
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  for (const char* name : {"quartic", "cosh"}) {
    ProblemOptions o;
    o.problem = name;
    o.dim = 4;
    const auto problem = make_problem(o);
    const auto [l0, l1] = problem->smoothness();
    for (int trial = 0; trial < 2000; ++trial) {
      std::vector<float> x(4);
      double hessian_norm = 0.0;
      for (float& v : x) {
        v = static_cast<float>(3.0 * rng.normal());
        const double second = o.problem == "quartic" ? 3.0 * v * v : std::cosh(v);
        hessian_norm = std::max(hessian_norm, second);
      }
      std::vector<float> g(4);
      problem->loss_and_gradient(x, g);
      double gnorm = 0.0;
      for (float v : g) gnorm += static_cast<double>(v) * v;
      EXPECT_LE(hessian_norm, (l0 + l1 * std::sqrt(gnorm)) * (1 + 1e-6)) << name;
    }
  }
}

TEST(Noise, BatchDividesTheVarianceAndAgentScalesMultiplyIt) {
  const std::uint64_t seed = test_seed(54);
  constexpr std::size_t kDim = 50000;
  const std::vector<float> grad(kDim, 0.5f);
  std::vector<float> out(kDim);
  for (const char* spec : {"gaussian:2", "student:5:1", "affine:1:0.5", "relative:0.1"}) {
    const NoiseSpec noise = NoiseSpec::parse(spec);
    for (int batch : {1, 4}) {
      const NoiseModel model(noise, {1.0, 3.0}, batch);
      for (std::uint32_t agent : {0u, 1u}) {
        RandomStream rng(StreamAddress{seed, 0, agent, 0, StreamPurpose::kTest});
        const double grad_norm = 0.5 * std::sqrt(double(kDim));
        model.sample(grad, grad_norm, agent, rng, out);
        double sum = 0.0, sum_sq = 0.0;
        for (float v : out) {
          sum += v - 0.5;
          sum_sq += (v - 0.5) * (v - 0.5);
        }
        const double expected = noise.coordinate_variance(grad_norm) * model.agent_scale(agent) *
                                model.agent_scale(agent) / batch;
        // Var of the sample variance: (κ − 1) σ⁴ / n with kurtosis κ (t_5: 9, Gaussian: 3).
        const double kurtosis = noise.kind == NoiseKind::kStudent ? 9.0 : 3.0;
        const double variance_of_estimate = (kurtosis - 1.0) * expected * expected / kDim;
        EXPECT_NEAR(sum_sq / kDim, expected, kZ * std::sqrt(variance_of_estimate))
            << spec << " B=" << batch << " agent " << agent;
        EXPECT_NEAR(sum / kDim, 0.0, kZ * std::sqrt(expected / kDim)) << spec;
      }
    }
  }
}

TEST(Noise, SmallSignalSlopesMatchSpec) {
  EXPECT_NEAR(NoiseSpec::parse("gaussian:1").small_signal_slope(), 0.79788, 1e-5);
  EXPECT_NEAR(NoiseSpec::parse("cauchy:1").small_signal_slope(), 2.0 / M_PI, 1e-12);
  EXPECT_NEAR(NoiseSpec::parse("student:2:1").small_signal_slope(), 0.70711, 1e-5);
  EXPECT_NEAR(NoiseSpec::parse("student:3:1").small_signal_slope(), 0.73511, 1e-5);
}

TEST(Noise, StudentMeanSignInClosedFormEqualsBoostsIncompleteBeta) {
  // The finite sums (integer ν ≤ 64) and the Boost path (ν = 2.5, 100) against
  // m = sign(u) I_{u²/(ν+u²)}(1/2, ν/2) (computed without cancellation, unlike 2 F_ν(u) − 1, which
  // is off by 8e-12 at ν = 1, u = 1e-9; Boost's own relative error reaches 4e-13 in the far tail)
  // and 2 p_ν(u), relative to 1e-11 and 1e-13; ν = 1 and 2 also against their elementary forms.
  for (double nu : {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 10.0, 31.0, 64.0, 2.5, 100.0}) {
    const StudentMeanSign mean_sign(nu);
    const boost::math::students_t_distribution<double> t(nu);
    const double p0 = boost::math::pdf(t, 0.0);
    for (double u : {0.0, -0.0, 1e-300, -1e-120, 1e-9, -1e-3, 0.1, -0.5, 1.0, 2.0, -3.7, 10.0,
                     -100.0, 1e4, 1e8, -1e150, 1e300}) {
      double m = 0.0, dm = 0.0;
      mean_sign(u, m, dm);
      // P(|T| < |u|) from whichever incomplete beta keeps its argument accurate.
      const double a = std::abs(u);
      const double two_sided =
          a < 1e-100  ? 2.0 * p0 * a
          : a * a < nu ? boost::math::ibeta(0.5, 0.5 * nu, a * a / (nu + a * a))
                       : boost::math::ibetac(0.5 * nu, 0.5, nu / (nu + a * a));
      const double m_ref = std::copysign(two_sided, u);
      if (std::abs(u) < 1e3) {  // and the plain 2 F(u) − 1, to its own (absolute) accuracy
        EXPECT_NEAR(m, 2.0 * boost::math::cdf(t, u) - 1.0, 1e-10) << "ν = " << nu << ", u = " << u;
      }
      const double dm_ref = 2.0 * boost::math::pdf(t, u);
      EXPECT_NEAR(m, m_ref, 1e-11 * std::abs(m_ref) + 1e-320) << "ν = " << nu << ", u = " << u;
      // ν = 1 and 2 in elementary closed form, to double precision.
      if (nu == 1.0) {
        EXPECT_NEAR(m, 2.0 / M_PI * std::atan(u), 4e-16 * std::abs(m));
      }
      if (nu == 2.0 && std::abs(u) < 1e150) {
        EXPECT_NEAR(m, u / std::sqrt(2.0 + u * u), 4e-16 * std::abs(m));
      }
      EXPECT_NEAR(dm, dm_ref, 1e-13 * dm_ref + 1e-300) << "ν = " << nu << ", u = " << u;
      if (u != 0.0) {
        EXPECT_EQ(m > 0.0, u > 0.0) << "ν = " << nu << ", u = " << u;
      }
    }
  }
}

TEST(Noise, RejectsInvalidSpecifications) {
  for (const char* spec :
       {"student:0:1", "student:-1:1", "gaussian:-1", "gaussian", "laplace:1", "cauchy:x"}) {
    EXPECT_THROW(NoiseSpec::parse(spec), ConfigError) << spec;
  }
}

TEST(Schedules, FollowTheirFormulas) {
  EXPECT_DOUBLE_EQ(make_schedule("const", 100, 0)->multiplier(57), 1.0);
  EXPECT_DOUBLE_EQ(make_schedule("invsqrt", 100, 0)->multiplier(3), 0.5);
  EXPECT_DOUBLE_EQ(make_schedule("inv", 100, 0)->multiplier(4), 0.2);
  EXPECT_NEAR(make_schedule("cosine", 100, 0)->multiplier(50), 0.5, 1e-15);
  EXPECT_NEAR(make_schedule("cosine", 100, 0)->multiplier(100), 0.0, 1e-15);
  const auto warm = make_schedule("const", 100, 10);
  EXPECT_DOUBLE_EQ(warm->multiplier(0), 0.1);
  EXPECT_DOUBLE_EQ(warm->multiplier(9), 1.0);
  EXPECT_THROW(make_schedule("step", 100, 0), ConfigError);
}

TEST(StepRules, AdaptiveNormalizationUsesTheorem42Constants) {
  AdaptiveStepConstants k;
  k.l0 = 2.0;
  k.l1 = 0.5;
  k.sigma0 = 1.0;
  k.sigma1 = 0.1;
  k.omega = 9.0;
  k.dim = 10;
  k.agents = 8;
  const AdaptiveNormalizedStep rule(k);
  // A = 1 + (ω + d(σ1²ω + σ1²))/N, C = L1 d (σ0² + σ0²ω)/N.
  EXPECT_DOUBLE_EQ(rule.a(), 1.0 + (9.0 + 10.0 * (0.01 * 9.0 + 0.01)) / 8.0);
  EXPECT_DOUBLE_EQ(rule.c(), 0.5 * 10.0 * (1.0 + 9.0) / 8.0);
  const std::vector<float> direction = {3.0f, 4.0f};
  EXPECT_DOUBLE_EQ(rule.step(1.0, direction), 1.0 / (rule.a() * (2.0 + 0.5 * 5.0) + rule.c()));
  EXPECT_DOUBLE_EQ(NormalizedStep(1e-12).step(1.0, direction), 0.2);
}

}  // namespace
}  // namespace dsignsgd
