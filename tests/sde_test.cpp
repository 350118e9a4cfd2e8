// SDE models and integrators: closed forms, orders, agreement with the algorithms.
#include <fmt/core.h>

#include <cmath>
#include <map>

#include "dsignsgd/io/report.hpp"
#include "dsignsgd/sde/integrator.hpp"
#include "dsignsgd/sde/simulate.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

using testing::kZ;
using testing::test_seed;

/// DSGD's SDE on f = λx²/2 in 1-d with N = 1, Gaussian σ: the Ornstein–Uhlenbeck process
/// dX = −λX dt + s dW, s = σ √η.
TrainOptions ornstein_uhlenbeck(std::uint64_t seed) {
  TrainOptions o;
  o.method = "dsgd";
  o.problem.dim = 1;
  o.problem.x0 = 2.0;
  o.noise = "gaussian:0.1";
  o.workers = 1;
  o.lr = 0.5;   // η: the SDE's parameter and its time step before substeps
  o.steps = 4;  // T = 2
  o.runs = 200000;
  o.seed = seed;
  o.log_every = 4;
  return o;
}

/// E f(X_T) for the exact process and for the two schemes (exact moment recursions).
struct OuMoments {
  double exact;
  double euler;
  double platen2;
};

OuMoments ou_moments(double lambda, double s2, double x0, double T, int substeps_total) {
  const double h = T / substeps_total;
  const double mean = x0 * std::exp(-lambda * T);
  const double var = s2 / (2 * lambda) * (1 - std::exp(-2 * lambda * T));
  OuMoments m{0.5 * lambda * (mean * mean + var), 0, 0};
  double em_m = x0, em_v = 0, p_m = x0, p_v = 0;
  const double a = 1 - lambda * h;
  const double a2 = 1 - lambda * h + 0.5 * lambda * lambda * h * h;
  const double noise2 = (1 - 0.5 * lambda * h) * (1 - 0.5 * lambda * h);
  for (int i = 0; i < substeps_total; ++i) {
    em_m *= a;
    em_v = a * a * em_v + s2 * h;
    p_m *= a2;
    p_v = a2 * a2 * p_v + s2 * h * noise2;
  }
  m.euler = 0.5 * lambda * (em_m * em_m + em_v);
  m.platen2 = 0.5 * lambda * (p_m * p_m + p_v);
  return m;
}

TEST(OrnsteinUhlenbeck, SchemesMatchTheirMomentsAndConvergeAtTheirWeakOrder) {
  const std::uint64_t seed = test_seed(61);
  const TrainOptions o = ornstein_uhlenbeck(seed);
  const double s2 = 0.01 * o.lr.value();  // σ² η / N
  for (const char* integrator : {"euler", "platen2"}) {
    std::vector<double> errors;
    std::vector<double> stderrs;
    for (int substeps : {2, 4}) {
      SdeOptions sde;
      sde.drift_correction = "none";  // the OU process itself
      sde.integrator = integrator;
      sde.substeps = substeps;
      const SdeResult run = simulate_sde(o, sde);
      const SampleStatistics final_loss = summarize_loss(run.result).final_loss;
      const OuMoments m = ou_moments(1.0, s2, 2.0, 2.0, 4 * substeps);
      const double scheme = std::string(integrator) == "euler" ? m.euler : m.platen2;
      std::cout << fmt::format(
          "[ ou       ] {} M={} simulated {:.6f} ± {:.6f}, scheme {:.6f}, "
          "exact {:.6f}\n",
          integrator, substeps, final_loss.mean, final_loss.stderr_, scheme, m.exact);
      // The simulation is the scheme: its mean matches the scheme's exact moments.
      EXPECT_NEAR(final_loss.mean, scheme, kZ * final_loss.stderr_) << integrator << substeps;
      errors.push_back(std::abs(final_loss.mean - m.exact));
      stderrs.push_back(final_loss.stderr_);
    }
    // Observed order from h = η/2 to h = η/4 (the weak error dominates the sampling error).
    ASSERT_GT(errors[0], 10 * stderrs[0]);
    ASSERT_GT(errors[1], 10 * stderrs[1]);
    const double order = std::log2(errors[0] / errors[1]);
    const int expected = std::string(integrator) == "euler" ? 1 : 2;
    std::cout << fmt::format("[ ou       ] {} observed weak order {:.2f}\n", integrator, order);
    EXPECT_NEAR(order, expected, 0.35) << integrator;
  }
}

TEST(BrownianBridge, FineIncrementsSumToTheCoarseOneAndHaveTheRightVariance) {
  const std::uint64_t seed = test_seed(62);
  constexpr std::size_t kDim = 20000;
  std::vector<float> coarse(kDim), fine(8 * kDim);
  brownian_increments(seed, 3, 7, 0.5, kDim, 1, coarse);
  brownian_increments(seed, 3, 7, 0.5, kDim, 8, fine);
  double sum_sq = 0.0;
  for (std::size_t j = 0; j < kDim; ++j) {
    double total = 0.0;
    for (int m = 0; m < 8; ++m) {
      total += fine[m * kDim + j];
      sum_sq += double(fine[m * kDim + j]) * fine[m * kDim + j];
    }
    ASSERT_NEAR(total, coarse[j], 1e-5 * (1 + std::abs(coarse[j])));
  }
  // Each fine increment ~ N(0, 0.5/8): E ΔW² = 0.0625, Var ΔW² = 2 · 0.0625².
  const double n = 8.0 * kDim;
  EXPECT_NEAR(sum_sq / n, 0.0625, kZ * std::sqrt(2.0 / n) * 0.0625);
}

struct SdeCase {
  std::string method, compressor, noise, covariance;
  int workers;
};

class SdeMatchesAlgorithm : public ::testing::TestWithParam<SdeCase> {};

TEST_P(SdeMatchesAlgorithm, MeanLossCurvesAgreeWithinMonteCarloError) {
  const SdeCase& c = GetParam();
  TrainOptions o;
  o.method = c.method;
  o.compressor = c.compressor;
  o.noise = c.noise;
  o.workers = c.workers;
  o.problem.dim = 10;
  o.problem.hessian = "linspace:0.5:2";
  o.problem.x0 = 1.0;
  o.lr = 0.02;
  o.steps = 500;
  o.runs = 300;
  o.log_every = 100;
  o.seed = test_seed(63);
  const TrainResult discrete = train(o);
  SdeOptions sde;
  sde.compression_covariance = c.covariance;
  sde.drift_correction = "none";  // Euler–Maruyama at Δt = η is then the method's own step law
  const SdeResult continuous = simulate_sde(o, sde);
  // Compare the mean curves at the logged steps (6 rows): z-scores of independent estimates.
  for (std::size_t row = 0; row < discrete.logged_steps.size(); ++row) {
    const SampleStatistics sa = loss_statistics(discrete, row);
    const SampleStatistics sb = loss_statistics(continuous.result, row);
    const double se = std::sqrt(sa.stderr_ * sa.stderr_ + sb.stderr_ * sb.stderr_);
    EXPECT_NEAR(sa.mean, sb.mean, kZ * se + 1e-12)
        << c.method << " step " << discrete.logged_steps[row];
  }
  const SampleStatistics ta = summarize_loss(discrete).tail_loss;
  const SampleStatistics tb = summarize_loss(continuous.result).tail_loss;
  std::cout << fmt::format("[ sde      ] {} tail: algorithm {:.5g} ± {:.2g}, SDE {:.5g} ± {:.2g}\n",
                           continuous.model, ta.mean, ta.stderr_, tb.mean, tb.stderr_);
  EXPECT_NEAR(ta.mean, tb.mean, kZ * std::hypot(ta.stderr_, tb.stderr_));
}

INSTANTIATE_TEST_SUITE_P(
    Methods, SdeMatchesAlgorithm,
    ::testing::Values(SdeCase{"dsgd", "", "gaussian:1", "", 4},
                      SdeCase{"dsgd", "", "affine:0.5:0.5", "", 2},
                      SdeCase{"dcsgd", "randk:0.2", "gaussian:1", "exact", 4},
                      SdeCase{"dcsgd", "qsgd:2", "gaussian:1", "monte-carlo", 4},
                      SdeCase{"dcsgd", "natural", "gaussian:1", "monte-carlo", 2},
                      SdeCase{"dsignsgd", "", "gaussian:1", "", 4},
                      SdeCase{"dsignsgd", "", "cauchy:1", "", 4},
                      SdeCase{"dsignsgd", "", "student:1.5:1", "", 3},
                      SdeCase{"majority", "", "gaussian:1", "", 5}),
    [](const ::testing::TestParamInfo<SdeCase>& info) {
      return fmt::format("case{}_{}", info.index, info.param.method);
    });

/// Parabola λx²/2 with GD (no noise): f(X_t) = f(x0) exp(−2λ c t) with c = 1 (none),
/// 1 + λη/2 (classic), 1 − λη/2 (stability) — docs/THEORY.md §2.
TEST(DriftCorrection, ParabolaFollowsTheClosedFormsOfEachModel) {
  for (double lr : {0.5, 1.5, 2.2}) {
    TrainOptions o;
    o.method = "dsgd";
    o.problem.dim = 1;
    o.problem.hessian = "diag:1";
    o.problem.x0 = 1.0;
    o.noise = "none";
    o.lr = lr;
    o.steps = 10;
    o.runs = 1;
    const double t = lr * o.steps.value();
    const double gd = 0.5 * std::pow(1.0 - lr, 2 * o.steps.value());
    const TrainResult discrete = train(o);
    EXPECT_NEAR(discrete.runs[0].final_loss, gd, 1e-5 * gd + 1e-30);  // fp32 iterate
    for (const auto& [name, c] : {std::pair{"none", 1.0}, std::pair{"classic", 1.0 + lr / 2},
                                  std::pair{"stability", 1.0 - lr / 2}}) {
      SdeOptions sde;
      sde.drift_correction = name;
      sde.integrator = "platen2";
      sde.substeps = 256;
      const double expected = 0.5 * std::exp(-2.0 * c * t);
      const double got = simulate_sde(o, sde).result.runs[0].final_loss;
      // fp32 paths over 2560 substeps: 1 % (the three models differ by factors e^(±λ²ηt)).
      EXPECT_NEAR(got, expected, 1e-2 * expected) << name << " η = " << lr;
    }
    // Only the stability-corrected model diverges where GD does (η > 2/λ).
    SdeOptions stability;
    stability.drift_correction = "stability";  // (the parabola loop above sets each explicitly)
    stability.substeps = 64;
    const bool gd_grows = gd > 0.5;
    EXPECT_EQ(simulate_sde(o, stability).result.runs[0].final_loss > 0.5, gd_grows) << lr;
  }
}

/// Quartic x⁴/4, GD x ← x (1 − η x²): stable iff η x0² < 2. The stability-corrected drift
/// −X³ + (3η/2) X⁵ is repulsive iff η X² > 2/3 (docs/THEORY.md §2's "repulsive for large |X|" — but with a
/// threshold three times lower than GD's), the classic and uncorrected drifts always converge.
TEST(DriftCorrection, QuarticShowsWhereEachModelPredictsDivergence) {
  TrainOptions o;
  o.method = "dsgd";
  o.problem.problem = "quartic";
  o.problem.dim = 1;
  o.noise = "none";
  o.lr = 1.0;
  o.steps = 30;
  o.runs = 1;
  struct Start {
    double x0;
    bool gd_diverges, stability_diverges;
  };
  // η x0² = 2.56 (both diverge), 1.44 (GD converges, the stability model already diverges),
  // 0.49 (all converge).
  for (const Start& start :
       {Start{1.6, true, true}, Start{1.2, false, true}, Start{0.7, false, false}}) {
    o.problem.x0 = start.x0;
    EXPECT_EQ(train(o).runs[0].diverged, start.gd_diverges) << "GD from " << start.x0;
    for (const char* name : {"none", "classic", "stability"}) {
      SdeOptions sde;
      sde.drift_correction = name;
      sde.substeps = 64;
      const bool expected = std::string(name) == "stability" && start.stability_diverges;
      EXPECT_EQ(simulate_sde(o, sde).result.runs[0].diverged, expected)
          << name << " from " << start.x0;
    }
  }
}

}  // namespace
}  // namespace dsignsgd

#include "dsignsgd/sde/validate.hpp"

namespace dsignsgd {
namespace {

class WeakErrorOrder : public ::testing::TestWithParam<std::string> {};

TEST_P(WeakErrorOrder, AlgorithmToSdeErrorHalvesWithEta) {
  TrainOptions o;
  o.method = GetParam();
  o.problem.dim = 10;
  o.problem.hessian = "linspace:0.5:2";
  o.problem.x0 = 1.0;
  const bool gradient = o.method == "dsgd" || o.method == "dcsgd";
  o.noise = gradient ? "gaussian:0.1" : "gaussian:1";
  if (o.method == "dcsgd") o.compressor = "randk:0.2";
  if (o.method == "majority") o.workers = 3;
  o.lr = 0.1;
  o.steps = 20;
  o.runs = gradient ? 2000 : 4000;
  o.seed = testing::test_seed(64);
  SdeOptions sde;
  sde.drift_correction = "none";  // the first-order model: weak error O(η)
  sde.substeps = 8;
  const ValidateResult result = validate_sde(o, sde, {});
  for (const ValidateLevel& level : result.levels) {
    std::cout << fmt::format("[ validate ] {} η = {:.4g}: weak error {:.4g} ± {:.2g}\n", o.method,
                             level.lr, level.weak_error, level.weak_error_stderr);
  }
  EXPECT_TRUE(result.resolved);
  ASSERT_EQ(result.levels.size(), 3u);
  EXPECT_GT(result.levels[0].weak_error, result.levels[1].weak_error);
  EXPECT_GT(result.levels[1].weak_error, result.levels[2].weak_error);
  EXPECT_NEAR(result.order, 1.0, 0.35) << "first-order weak approximation (docs/THEORY.md §2)";
}

INSTANTIATE_TEST_SUITE_P(Methods, WeakErrorOrder,
                         ::testing::Values("dsgd", "dcsgd", "dsignsgd", "majority"));

TEST(ValidateVerdict, HoldsItsErrorRateWhenThereIsNoWeakError) {
  // DSGD with Gaussian noise and its SDE stepped at the method's own step (no correction, one
  // Euler substep) have the same law at every η: the weak error is zero and every measured gap is
  // Monte Carlo noise. `resolved` must then be false in at least 95 % of seeds, and each level's
  // noise threshold must be exceeded in about 5 % of cases (its nominal level).
  constexpr int kSeeds = 60;
  int resolved = 0, levels_resolved = 0, levels = 0;
  const std::uint64_t seed = test_seed(83);
  for (int s = 0; s < kSeeds; ++s) {
    TrainOptions o;
    o.method = "dsgd";
    o.problem.dim = 4;
    o.problem.x0 = 1.0;
    o.noise = "gaussian:0.5";
    o.lr = 0.2;
    o.steps = 20;
    o.runs = 200;
    o.threads = 1;
    o.seed = seed + 1000 * static_cast<std::uint64_t>(s);
    SdeOptions sde;
    sde.drift_correction = "none";
    sde.substeps = 1;
    // The SDE as stepped at the method's step, not extrapolated to the continuous SDE.
    const ValidateResult result = validate_sde(o, sde, {.extrapolate = false});
    resolved += result.resolved ? 1 : 0;
    for (const ValidateLevel& level : result.levels) {
      levels_resolved += level.resolved ? 1 : 0;
      ++levels;
    }
  }
  const double rate = static_cast<double>(levels_resolved) / levels;
  std::cout << fmt::format(
      "[ validate ] no weak error: resolved in {} of {} seeds; levels above "
      "their noise threshold {} of {} ({:.3f}, nominal 0.05)\n",
      resolved, kSeeds, levels_resolved, levels, rate);
  EXPECT_LE(resolved, kSeeds / 20);
  EXPECT_LE(rate, 0.05 + 4.5 * std::sqrt(0.05 * 0.95 / levels));
}

/// The transient case of the weak-error tests: DSGD on the quadratic d = 10, λ ∈ [0.5, 2], from
/// x0 = 1 with σ = 0.1, 2000 runs.
TrainOptions dsgd_transient(double lr, std::int64_t steps, std::uint64_t seed) {
  TrainOptions o;
  o.method = "dsgd";
  o.problem.dim = 10;
  o.problem.hessian = "linspace:0.5:2";
  o.problem.x0 = 1.0;
  o.noise = "gaussian:0.1";
  o.lr = lr;
  o.steps = steps;
  o.runs = 2000;
  o.seed = seed;
  return o;
}

TEST(ValidateVerdict, ResolvesARealWeakError) {
  // The continuous first-order SDE (8 substeps) against DSGD: weak errors of order η, far above
  // the noise threshold with 2000 runs.
  const TrainOptions o = dsgd_transient(0.1, 20, test_seed(84));
  SdeOptions sde;
  sde.substeps = 8;
  const ValidateResult result = validate_sde(o, sde, {});
  for (const ValidateLevel& level : result.levels) {
    std::cout << fmt::format("[ validate ] η = {:.4g}: weak error {:.4g}, noise threshold {:.3g}\n",
                             level.lr, level.weak_error, level.null_threshold);
    EXPECT_GT(level.weak_error, 3.0 * level.null_threshold);
  }
  EXPECT_TRUE(result.resolved);
  // The order's bootstrap interval is narrow enough to call it, and holds order 1.
  std::cout << fmt::format("[ validate ] order {:.3f} ± {:.3f}, 90 % interval {:.3f} … {:.3f}\n",
                           result.order, result.order_stderr, result.order_low, result.order_high);
  EXPECT_TRUE(result.order_resolved);
  EXPECT_LT(result.order_low, result.order);
  EXPECT_GT(result.order_high, result.order);
  EXPECT_NEAR(result.order, 1.0, 0.25);
}

/// DSGD's and its SDE's exact mean loss on dsgd_transient's quadratic (x0 = 1, N = 4 agents):
/// E x_k² = q^k + (η²σ²/N)(1 − q^k)/(1 − q) with q = (1 − ηλ)², E X_t² = e^{−2λt} +
/// (ησ²/(2λN))(1 − e^{−2λt}); the exact weak error is the largest gap at the logged steps.
double exact_dsgd_weak_error(const TrainOptions& o, double lr, const std::vector<std::int64_t>& steps) {
  const double noise = 0.1 * 0.1 / o.workers;
  const int dim = static_cast<int>(o.problem.dim.value());
  double worst = 0.0;
  for (const std::int64_t k : steps) {
    double algorithm = 0.0, sde = 0.0;
    for (int j = 0; j < dim; ++j) {
      const double lambda = 0.5 + 1.5 * j / (dim - 1.0);
      const double q = (1.0 - lr * lambda) * (1.0 - lr * lambda);
      const double qk = std::pow(q, static_cast<double>(k));
      const double e = std::exp(-2.0 * lambda * lr * static_cast<double>(k));
      algorithm += 0.5 * lambda * (qk + lr * lr * noise * (1.0 - qk) / (1.0 - q));
      sde += 0.5 * lambda * (e + lr * noise / (2.0 * lambda) * (1.0 - e));
    }
    worst = std::max(worst, std::abs(algorithm - sde));
  }
  return worst;
}

TEST(ValidateVerdict, ReportsTheExactWeakErrorNotTheIntegratorsBias) {
  // Issue 26: with 8 Euler substeps and nothing else the SDE side carries the integrator's own
  // weak error, about 1/8 of DSGD's (DSGD is Euler at step η), so the reported weak error was
  // ~14 % low. Richardson extrapolation from 4 and 8 substeps (the default) must give the exact
  // weak error within Monte Carlo error at every level; the plain 8-substep side must not.
  const TrainOptions o = dsgd_transient(0.1, 20, test_seed(86));
  SdeOptions sde;
  sde.substeps = kValidateSubsteps;
  const ValidateResult result = validate_sde(o, sde, {});
  SdeOptions eight;
  eight.substeps = 8;
  const ValidateResult plain = validate_sde(o, eight, {.extrapolate = false});
  for (std::size_t i = 0; i < result.levels.size(); ++i) {
    const ValidateLevel& level = result.levels[i];
    const double exact = exact_dsgd_weak_error(o, level.lr, level.algorithm.logged_steps);
    std::cout << fmt::format(
        "[ validate ] η = {:.4g}: exact weak error {:.5f}, extrapolated {:.5f} ± {:.5f}, "
        "8 substeps {:.5f} ± {:.5f}\n",
        level.lr, exact, level.weak_error, level.weak_error_stderr, plain.levels[i].weak_error,
        plain.levels[i].weak_error_stderr);
    EXPECT_NEAR(level.weak_error, exact, 4.0 * level.weak_error_stderr);
    EXPECT_LT(plain.levels[i].weak_error, exact - 4.0 * plain.levels[i].weak_error_stderr);
  }
}

TEST(ValidateVerdict, AnOrderItsRunsCannotPinIsUnresolved) {
  // Issue 26: every weak error may clear its threshold while the fitted order is still loose
  // (0.59 and 0.72 were called resolved at 1 500 runs where the truth is 1). At stationarity
  // (x0 = 0) with σ = 1, two levels and 1 500 runs the errors are barely above the noise and the
  // order's interval is about a unit wide: reported, and not resolved.
  TrainOptions o = dsgd_transient(0.1, 20, test_seed(85));
  o.problem.x0 = 0.0;
  o.noise = "gaussian:1";
  o.runs = 1500;
  SdeOptions sde;
  sde.substeps = 8;
  sde.drift_correction = "none";
  const ValidateResult result = validate_sde(o, sde, {.levels = 2});
  std::cout << fmt::format("[ validate ] order {:.3f}, 90 % interval {:.3f} … {:.3f}, errors {}\n",
                           result.order, result.order_low, result.order_high,
                           result.errors_resolved ? "resolved" : "not resolved");
  EXPECT_GT(result.order_high - result.order_low, kOrderWidth);
  EXPECT_FALSE(result.order_resolved);
  EXPECT_FALSE(result.resolved);
}

TEST(DriftCorrection, ClassicHasTheSmallestWeakErrorAtSmallEta) {
  // For the continuous SDE (8 substeps) at small η, against DSGD on a quadratic: the classic
  // model's transient weak error is far below the uncorrected model's, and [B]'s stability
  // correction trades transient accuracy for the floor and the threshold (docs/SDE.md).
  const TrainOptions o = dsgd_transient(0.05, 40, test_seed(65));
  std::map<std::string, double> error;
  for (const char* name : {"none", "classic", "stability"}) {
    SdeOptions sde;
    sde.drift_correction = name;
    sde.substeps = 8;
    ValidateOptions one;
    one.levels = 2;
    const ValidateResult result = validate_sde(o, sde, one);
    error[name] = result.levels[0].weak_error;
    std::cout << fmt::format("[ validate ] {}: weak error {:.4g} ± {:.2g}\n", name,
                             result.levels[0].weak_error, result.levels[0].weak_error_stderr);
  }
  EXPECT_LT(error["classic"], 0.5 * error["none"]);
  EXPECT_LT(error["none"], error["stability"]);
}

TEST(DriftCorrection, StabilityDriftOfSignMethodsKeepsTheirFloor) {
  // [B]'s correction for an update x ← x − η φ(x) is +(η/2) J_φ φ, and for the sign methods
  // J_φ = diag(m′(∇f)) ∇²f. In the linear phase (m ≈ ℓ g/σ; here N = 64 agents keep
  // λ√Var(x)/σ ≈ 0.16) the continuous stability model then has the method's floor at z = η ℓ λ/σ
  // = 1. Without m′ (−φ + (η/2) H φ) the drift would be −(ℓλ/σ)(1 − ηλ/2) x and the floor
  // (1 − z/2)/(1 − ηλ/2) = 1.33 times the method's.
  TrainOptions o;
  o.method = "dsignsgd";
  o.noise = "gaussian:1";
  o.workers = 64;
  o.problem.dim = 16;
  o.problem.x0 = 0.0;
  o.lr = 1.0 / std::sqrt(2.0 / M_PI);  // z = 1
  o.steps = 3000;
  o.runs = 32;
  o.seed = test_seed(67);
  const SampleStatistics method = summarize_loss(train(o)).tail_loss;
  SdeOptions sde;
  sde.drift_correction = "stability";
  sde.substeps = 16;
  const SampleStatistics model = summarize_loss(simulate_sde(o, sde).result).tail_loss;
  std::cout << fmt::format(
      "[ floor    ] DSignSGD N = 64, z = 1: method {:.5g} ± {:.2g}, stability "
      "SDE {:.5g} ± {:.2g}\n",
      method.mean, method.stderr_, model.mean, model.stderr_);
  // 3 %: the linear phase's own error at this ratio.
  EXPECT_NEAR(model.mean / method.mean, 1.0,
              kZ * std::hypot(model.stderr_ / model.mean, method.stderr_ / method.mean) + 0.03);
}

TEST(AgentScales, SdeKeepsTheFloorOfHeterogeneousAgents) {
  // Per-agent noise scales enter the sign SDE through each agent's mean sign m_i (the drift is
  // their average, the diffusion (1/N²) Σ_i (1 − m_i²)). Cauchy noise, scales 0.5, 1, 2, 4: the
  // default SDE and the continuous stability model keep the method's floor.
  TrainOptions o;
  o.method = "dsignsgd";
  o.noise = "cauchy:1";
  o.agent_scales = "0.5,1,2,4";
  o.workers = 4;
  o.problem.dim = 10;
  o.problem.hessian = "linspace:0.5:2";
  o.problem.x0 = 0.0;
  o.lr = 0.02;
  o.steps = 8000;
  o.runs = 16;
  o.seed = test_seed(89);
  const SampleStatistics method = summarize_loss(train(o)).tail_loss;
  for (const auto& [correction, substeps] : {std::pair{"none", 1}, std::pair{"stability", 16}}) {
    SdeOptions sde;
    sde.drift_correction = correction;
    sde.substeps = substeps;
    const SampleStatistics model = summarize_loss(simulate_sde(o, sde).result).tail_loss;
    std::cout << fmt::format("[ floor    ] agent scales 0.5,1,2,4, Cauchy: method {:.5g} ± {:.2g}, "
                             "SDE {}/{} {:.5g} ± {:.2g}\n",
                             method.mean, method.stderr_, correction, substeps, model.mean,
                             model.stderr_);
    EXPECT_NEAR(model.mean, method.mean,
                kZ * std::hypot(model.stderr_, method.stderr_) + 0.03 * method.mean)
        << correction;
  }
}

}  // namespace
}  // namespace dsignsgd
