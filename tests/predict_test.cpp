// Every number `dsignsgd predict` prints, against long simulations of the algorithm.
#include "dsignsgd/theory/predict.hpp"

#include <fmt/core.h>

#include <cctype>
#include <random>

#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/sde/integrator.hpp"
#include "dsignsgd/sde/simulate.hpp"
#include "dsignsgd/theory/stationary.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

using testing::kZ;
using testing::test_seed;

TrainOptions quadratic_case(const std::string& method, const std::string& noise, int workers,
                            double lr) {
  TrainOptions o;
  o.method = method;
  o.noise = noise;
  o.workers = workers;
  o.lr = lr;
  o.problem.dim = 10;
  o.problem.hessian = "linspace:0.5:2";
  o.problem.x0 = 0.0;
  o.steps = 30000;
  o.runs = 16;
  return o;
}

struct PredictCase {
  std::string method, noise;
  int workers;
  double lr;
  double model_error;             ///< relative error of the closed form itself (0: exact)
  std::string agent_scales = "";  ///< per-agent noise multipliers ("" = all 1)
};

class PredictedFloor : public ::testing::TestWithParam<PredictCase> {};

TEST_P(PredictedFloor, MatchesALongSimulation) {
  const PredictCase& c = GetParam();
  // "dcsgd:COMPRESSOR" names DCSGD with that compressor.
  const std::size_t colon = c.method.find(':');
  TrainOptions o = quadratic_case(c.method.substr(0, colon), c.noise, c.workers, c.lr);
  if (colon != std::string::npos) o.compressor = c.method.substr(colon + 1);
  o.agent_scales = c.agent_scales;
  o.seed = test_seed(71);
  const nlohmann::json prediction = prediction_json(predict(o, {}));
  ASSERT_TRUE(prediction["stationary_loss"].is_number()) << prediction.dump(2);
  ASSERT_TRUE(prediction["regime"]["valid"].get<bool>());
  const double predicted = prediction["stationary_loss"].get<double>();
  const SampleStatistics tail = summarize_loss(train(o)).tail_loss;
  std::cout << fmt::format(
      "[ predict  ] {} {} N={} {}: measured {:.6g} ± {:.2g}, predicted {:.6g}\n", c.method, c.noise,
      c.workers, c.agent_scales, tail.mean, tail.stderr_, predicted);
  EXPECT_NEAR(tail.mean, predicted, kZ * tail.stderr_ + c.model_error * predicted);
}

// Linear-phase forms (sign methods) carry a 3 % model error (docs/VALIDATION.md).
INSTANTIATE_TEST_SUITE_P(
    EveryClosedForm, PredictedFloor,
    ::testing::Values(PredictCase{"dsgd", "gaussian:1", 4, 0.1, 0.0},
                      PredictCase{"dcsgd", "gaussian:1", 4, 0.05, 0.0},
                      PredictCase{"dsignsgd", "gaussian:1", 4, 0.01, 0.03},
                      PredictCase{"dsignsgd", "cauchy:1", 8, 0.01, 0.03},
                      PredictCase{"dsignsgd", "student:1.5:1", 4, 0.01, 0.03},
                      PredictCase{"majority", "gaussian:1", 5, 0.01, 0.03},
                      PredictCase{"majority", "gaussian:1", 9, 0.01, 0.03},
                      // State-dependent quantizers: the fixed point of the stationary moments
                      // (docs/THEORY.md §3; their stated error is kQuantizerFloorError).
                      PredictCase{"dcsgd:qsgd:2", "gaussian:1", 4, 0.05, 0.03},
                      PredictCase{"dcsgd:qsgd:8", "student:3:1", 4, 0.05, 0.03},
                      PredictCase{"dcsgd:natural", "gaussian:1", 4, 0.05, 0.03},
                      // Heterogeneous agents: σ → the harmonic mean σ_H (the arithmetic mean
                      // would predict 1.76 times the floor for the scales 0.5, 1, 2, 4).
                      PredictCase{"dsignsgd", "cauchy:1", 4, 0.01, 0.03, "0.5,1,2,4"},
                      PredictCase{"dsignsgd", "student:1.5:1", 4, 0.01, 0.03, "0.5,1,2,4"},
                      PredictCase{"dsignsgd", "gaussian:1", 4, 0.01, 0.03, "0.25,1,1,3"},
                      PredictCase{"majority", "gaussian:1", 5, 0.01, 0.03, "0.5,1,1,2,4"}),
    [](const ::testing::TestParamInfo<PredictCase>& info) {
      std::string name = fmt::format("case{}_{}", info.index, info.param.method);
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(Predict, StabilityLimitSeparatesConvergenceFromDivergence) {
  // DSGD: η_max = 2 / λ_max; just below it the runs stay bounded, above it they all diverge.
  // (DCSGD's limit 2 / (λ_max (1 + ω/N)) is a mean-square one: beyond it E f explodes while
  // single runs may stay bounded, so a per-run divergence count cannot test it.)
  for (const char* method : {"dsgd"}) {
    TrainOptions o = quadratic_case(method, "gaussian:0.1", 4, 0.1);
    o.steps = 3000;
    o.runs = 4;
    o.seed = test_seed(72);
    const double lr_max = prediction_json(predict(o, {}))["stability"]["lr_max"].get<double>();
    o.lr = 0.9 * lr_max;
    EXPECT_EQ(summarize_loss(train(o)).diverged_runs, 0) << method;
    o.lr = 1.1 * lr_max;
    o.divergence_factor = 1e6;
    EXPECT_EQ(summarize_loss(train(o)).diverged_runs, o.runs) << method;
  }
}

TEST(Predict, HeavyTailsHaveNoFloorForDsgdButOneForSignSgd) {
  TrainOptions o = quadratic_case("dsgd", "cauchy:1", 4, 0.01);
  const nlohmann::json prediction = prediction_json(predict(o, {}));
  EXPECT_TRUE(prediction["stationary_loss"].is_null());
  EXPECT_FALSE(prediction["methods"]["dsgd"]["finite_floor"].get<bool>());
  EXPECT_FALSE(prediction["methods"]["dcsgd"]["finite_floor"].get<bool>());
  EXPECT_TRUE(prediction["methods"]["dsignsgd"]["stationary_loss"].is_number());
  // The algorithm agrees: DSGD's tail average does not settle (its standard error is of the
  // order of the mean, driven by rare huge jumps) while DSignSGD's is tight.
  o.steps = 20000;
  o.seed = test_seed(73);
  o.divergence_factor = 1e30;
  const SampleStatistics dsgd = summarize_loss(train(o)).tail_loss;
  o.method = "dsignsgd";
  const SampleStatistics sign = summarize_loss(train(o)).tail_loss;
  EXPECT_GT(dsgd.mean, 100 * sign.mean);
  EXPECT_LT(sign.stderr_, 0.05 * sign.mean);
}

TEST(Predict, LinearPhaseThresholdMarksWhereTheSignFloorHolds) {
  // The sign methods' floor is a linear-phase form, valid (regime.valid) while
  // max_j λ_j √Var(x_j) / σ < 0.3. Checked on both sides: inside, the form is within 3 % of the
  // method; at ratio ≈ 0.63 (z = η ℓ λ/σ = 1) it is far off and the regime says so.
  struct Side {
    double z;
    bool valid;
  };
  for (const Side side : {Side{0.2, true}, Side{1.0, false}}) {
    TrainOptions o;
    o.method = "dsignsgd";
    o.noise = "gaussian:1";
    o.workers = 4;
    o.problem.dim = 16;
    o.problem.x0 = 0.0;
    o.lr = side.z / std::sqrt(2.0 / M_PI);
    o.steps = 4000;
    o.runs = 16;
    o.seed = test_seed(87);
    const nlohmann::json prediction = prediction_json(predict(o, {}));
    const double predicted = prediction["stationary_loss"].get<double>();
    const double ratio = prediction["regime"]["max_gradient_to_sigma"].get<double>();
    const SampleStatistics tail = summarize_loss(train(o)).tail_loss;
    std::cout << fmt::format(
        "[ predict  ] z = {}: gradient/σ ratio {:.3f}, measured {:.5g} ± "
        "{:.2g}, predicted {:.5g}\n",
        side.z, ratio, tail.mean, tail.stderr_, predicted);
    EXPECT_EQ(prediction["regime"]["valid"].get<bool>(), side.valid);
    if (side.valid) {
      EXPECT_NEAR(tail.mean, predicted, kZ * tail.stderr_ + 0.03 * predicted);
    } else {
      EXPECT_GT(std::abs(tail.mean - predicted), kZ * tail.stderr_ + 0.05 * predicted);
    }
  }
}

TEST(Predict, L0L1ConstantsAreTheSecondMomentOfTheAggregatedDirection) {
  // [B] Theorem 4.2's A and C bound DCSGD's aggregated direction: E‖ĝ‖² = A ‖∇f‖² + C / L1
  // (an identity for rand-k under affine noise Z ~ N(0, (σ0² + σ1² ‖∇f‖²) I)). Measured with one
  // step on f = ½‖x‖² from x0 (∇f = x0): E f(x1) = ½‖x0‖² (1 − 2η) + ½ η² E‖ĝ‖².
  TrainOptions o;
  o.method = "dcsgd";
  o.compressor = "randk:0.5";  // ω = 1 at d = 8
  o.noise = "affine:0.3:0.2";
  o.workers = 4;
  o.problem.dim = 8;
  o.problem.problem = "quartic";
  o.problem.hessian = "identity";
  const nlohmann::json bounds = prediction_json(predict(o, {}))["l0l1"];
  const double a = bounds["theorem_4_2"]["A"].get<double>();
  const double c_over_l1 = bounds["theorem_4_2"]["C"].get<double>() / bounds["l1"].get<double>();
  o.problem.problem = "quadratic";
  o.problem.x0 = 1.0;
  o.lr = 0.1;
  o.steps = 1;
  o.runs = 20000;
  o.seed = test_seed(88);
  const SampleStatistics f1 = summarize_loss(train(o)).final_loss;
  const double grad_sq = 8.0;  // ‖x0‖²
  const double lr = 0.1;
  const double measured = (2.0 * f1.mean - grad_sq * (1.0 - 2.0 * lr)) / (lr * lr);
  const double stderr_ = 2.0 * f1.stderr_ / (lr * lr);
  const double predicted = a * grad_sq + c_over_l1;
  std::cout << fmt::format(
      "[ l0l1     ] E‖ĝ‖² measured {:.5g} ± {:.2g}, A ‖∇f‖² + C/L1 = {:.5g} "
      "(A = {:.4g}, C/L1 = {:.4g})\n",
      measured, stderr_, predicted, a, c_over_l1);
  EXPECT_NEAR(measured, predicted, kZ * stderr_);
}

/// E‖∇f‖² over the second half of every run, averaged over runs, with its standard error.
SampleStatistics tail_gradient_square(const TrainResult& result) {
  std::vector<double> per_run;
  for (const RunTrace& run : result.runs) {
    double sum = 0.0;
    std::size_t count = 0;
    for (std::size_t i = 0; i < run.grad_norm.size(); ++i) {
      if (result.logged_steps[i] * 2 < result.plan.steps) continue;
      sum += run.grad_norm[i] * run.grad_norm[i];
      ++count;
    }
    per_run.push_back(sum / static_cast<double>(count));
  }
  return sample_statistics(per_run);
}

TEST(Predict, L0L1StepBoundReachesItsAccuracyAndIsTightWhenNoiseDominates) {
  // [B] Theorem 4.2: with η η_t < 2ε / (G A + C), DCSGD reaches E‖∇f‖² ≤ ε. Checked with a
  // constant step at lr_max_at_x0 (η_t = 1, 20 / η steps, E‖∇f‖² over the second half) on both
  // (L0, L1)-smooth problems from several x0. Where the noise term C dominates G A (cosh near its
  // minimum, σ0 = 3) the bound is nearly tight: twice the step misses ε.
  struct Case {
    std::string problem, noise;
    double x0, epsilon, factor;
  };
  for (const Case& c : std::vector<Case>{{"cosh", "affine:3:0.2", 0.5, 0.01, 1.0},
                                         {"cosh", "affine:3:0.2", 0.5, 0.01, 2.0},
                                         {"cosh", "affine:3:0.2", 2.0, 0.01, 1.0},
                                         {"cosh", "affine:0.3:0.2", 1.0, 0.001, 1.0},
                                         {"quartic", "affine:0.3:0.2", 1.0, 0.001, 1.0}}) {
    TrainOptions o;
    o.method = "dcsgd";
    o.compressor = "randk:0.5";
    o.noise = c.noise;
    o.workers = 4;
    o.problem.dim = 8;
    o.problem.problem = c.problem;
    o.problem.x0 = c.x0;
    PredictOptions po;
    po.epsilon = c.epsilon;
    const double lr = c.factor * predict(o, po).l0l1->lr_max_at_x0;
    const auto steps = static_cast<std::int64_t>(20.0 / lr);
    o.lr = lr;
    o.steps = steps;
    o.runs = 16;
    o.seed = test_seed(89);
    const SampleStatistics g2 = tail_gradient_square(train(o));
    std::cout << fmt::format(
        "[ l0l1     ] {} {} x0 = {}: η = {:.3g} ({} × bound), {} steps, "
        "E‖∇f‖² = {:.4g} ± {:.2g} = {:.3f} ε\n",
        c.problem, c.noise, c.x0, lr, c.factor, steps, g2.mean, g2.stderr_, g2.mean / c.epsilon);
    if (c.factor == 1.0) {
      EXPECT_LT(g2.mean, c.epsilon);
    } else {
      EXPECT_GT(g2.mean - kZ * g2.stderr_, c.epsilon);
    }
  }
}

TEST(Predict, SaysSoWhereThereIsNoClosedForm) {
  TrainOptions o = quadratic_case("dcsgd", "relative:0.5", 4, 0.01);
  nlohmann::json prediction = prediction_json(predict(o, {}));
  EXPECT_TRUE(prediction["stationary_loss"].is_null());
  EXPECT_NE(prediction["reason"].get<std::string>().find("state-dependent"), std::string::npos);
  o.noise = "gaussian:1";
  o.compressor = "topk:0.1";  // biased: no DCSGD model
  prediction = prediction_json(predict(o, {}));
  EXPECT_TRUE(prediction["stationary_loss"].is_null()) << prediction.dump(2);
  o.compressor = "";
  o.problem.problem = "quartic";
  o.problem.hessian = "identity";
  prediction = prediction_json(predict(o, {}));
  EXPECT_TRUE(prediction["stationary_loss"].is_null());
  EXPECT_TRUE(prediction.contains("l0l1"));
  EXPECT_TRUE(prediction["l0l1"]["theorem_4_3"]["lr_max"].is_null());
  o.problem.problem = "quadratic";
  o.schedule = "invsqrt";
  EXPECT_TRUE(prediction_json(predict(o, {}))["stationary_loss"].is_null());
}

/// Each SDE model's own floor (gradient_sde_floor): drift correction × substeps, DSGD and DCSGD,
/// from small z to the edge, against long simulations of the SDE itself.
struct ModelFloorCase {
  std::string method, correction;
  int substeps;
  double z;  ///< η λ (λ = 1)
  std::string integrator = "euler";
};

class SdeModelFloor : public ::testing::TestWithParam<ModelFloorCase> {};

TEST_P(SdeModelFloor, MatchesItsClosedForm) {
  const ModelFloorCase& c = GetParam();
  TrainOptions o;
  o.method = c.method;
  o.compressor = c.method == "dcsgd" ? "randk:0.25" : "identity";
  o.noise = "gaussian:1";
  o.workers = 4;
  o.lr = c.z;
  o.problem.dim = 16;
  o.problem.x0 = 0.0;
  o.steps = c.z < 0.5 ? 4000 : 2000;
  o.runs = 32;
  o.seed = test_seed(73);
  SdeOptions sde;
  sde.drift_correction = c.correction;
  sde.substeps = c.substeps;
  sde.integrator = c.integrator;
  const SdePlan plan = SdePlan::resolve(sde, make_run_plan(o));
  const double omega = c.method == "dcsgd" ? 3.0 : 0.0;
  const FloorPrediction form =
      gradient_sde_floor(std::vector<double>(16, 1.0), 1.0, omega, 4, c.z, plan.drift_correction,
                         c.substeps, plan.integrator);
  const TrainResult result = simulate_sde(o, sde).result;
  if (!form.stable) {
    std::cout << fmt::format("[ floor    ] {} {}/{} z={}: closed form unstable, runs diverged {}\n",
                             c.method, c.correction, c.substeps, c.z,
                             summarize_loss(result).diverged_runs);
    EXPECT_EQ(summarize_loss(result).diverged_runs, o.runs.value());
    return;
  }
  const SampleStatistics tail = summarize_loss(result).tail_loss;
  std::cout << fmt::format(
      "[ floor    ] {} {}/{} z={}: measured {:.6g} ± {:.2g}, closed form "
      "{:.6g}\n",
      c.method, c.correction, c.substeps, c.z, tail.mean, tail.stderr_, form.value);
  EXPECT_NEAR(tail.mean, form.value, kZ * tail.stderr_);
}

INSTANTIATE_TEST_SUITE_P(
    EveryModel, SdeModelFloor,
    ::testing::Values(
        ModelFloorCase{"dsgd", "none", 1, 1.8}, ModelFloorCase{"dsgd", "none", 16, 0.2},
        ModelFloorCase{"dsgd", "none", 16, 1.8}, ModelFloorCase{"dsgd", "classic", 1, 0.2},
        ModelFloorCase{"dsgd", "classic", 1, 1.5},  // Euler blows up: z > √5 − 1
        ModelFloorCase{"dsgd", "classic", 16, 1.5}, ModelFloorCase{"dsgd", "stability", 1, 1.0},
        ModelFloorCase{"dsgd", "stability", 16, 1.8},
        ModelFloorCase{"dcsgd", "none", 1, 0.8},  // z (1 + ω/N) = 1.4
        ModelFloorCase{"dcsgd", "classic", 16, 0.4}, ModelFloorCase{"dcsgd", "stability", 16, 0.8},
        ModelFloorCase{"dsgd", "none", 4, 1.0, "platen2"},
        ModelFloorCase{"dsgd", "classic", 2, 1.5, "platen2"}),
    [](const ::testing::TestParamInfo<ModelFloorCase>& info) {
      const ModelFloorCase& c = info.param;
      return c.method + "_" + c.correction + "_" + c.integrator + std::to_string(c.substeps) +
             "_z" + std::to_string(static_cast<int>(std::lround(c.z * 10)));
    });

TEST(SdeModelFloor, LimitsAreTheMethodsFloorAndTheContinuousRatios) {
  // gradient_sde_floor's special cases (the identities docs/SDE.md states): none with one
  // substep and stability with M = ∞ are the method's floor; none and classic with M = ∞ are it
  // times (2 − z)/2 and (2 − z)/(2 + z).
  const std::vector<double> spectrum = {0.5, 1.0, 1.9};
  for (double lr : {0.1, 0.5, 1.0}) {
    const double exact = dsgd_floor(spectrum, 1.0, 4, lr).value;
    EXPECT_NEAR(gradient_sde_floor(spectrum, 1.0, 0.0, 4, lr, DriftCorrection::kNone, 1,
                                   IntegratorKind::kEuler)
                    .value,
                exact, 1e-12 * exact);
    EXPECT_NEAR(gradient_sde_floor(spectrum, 1.0, 0.0, 4, lr, DriftCorrection::kStability, 0,
                                   IntegratorKind::kEuler)
                    .value,
                exact, 1e-12 * exact);
    const double compressed = dcsgd_randk_floor(spectrum, 1.0, 3.0, 4, lr / 2).value;
    EXPECT_NEAR(gradient_sde_floor(spectrum, 1.0, 3.0, 4, lr / 2, DriftCorrection::kNone, 1,
                                   IntegratorKind::kEuler)
                    .value,
                compressed, 1e-12 * compressed);
    EXPECT_NEAR(gradient_sde_floor(spectrum, 1.0, 3.0, 4, lr / 2, DriftCorrection::kStability, 0,
                                   IntegratorKind::kEuler)
                    .value,
                compressed, 1e-12 * compressed);
    const std::vector<double> one = {1.0};
    const double single = dsgd_floor(one, 1.0, 4, lr).value;
    EXPECT_NEAR(
        gradient_sde_floor(one, 1.0, 0.0, 4, lr, DriftCorrection::kNone, 0, IntegratorKind::kEuler)
            .value,
        single * (2 - lr) / 2, 1e-12);
    EXPECT_NEAR(gradient_sde_floor(one, 1.0, 0.0, 4, lr, DriftCorrection::kClassic, 0,
                                   IntegratorKind::kEuler)
                    .value,
                single * (2 - lr) / (2 + lr), 1e-12);
  }
  // Explicit Euler of the classic drift at the method's step: unstable once z > √5 − 1.
  EXPECT_TRUE(gradient_sde_floor({1.0}, 1.0, 0.0, 4, 1.2, DriftCorrection::kClassic, 1,
                                 IntegratorKind::kEuler)
                  .stable);
  EXPECT_FALSE(gradient_sde_floor({1.0}, 1.0, 0.0, 4, 1.25, DriftCorrection::kClassic, 1,
                                  IntegratorKind::kEuler)
                   .stable);
}

TEST(MajorityVote, FairCoinTiesRaiseTheFloorByOneOverOneMinusTheTieProbability) {
  // An independent reference: majority vote of N = 16 agents on f = ½‖x‖² with Gaussian noise,
  // simulated here twice — ties broken by a fair coin (the library's 1-bit downlink) and ties
  // sent as 0 (a ternary downlink). The floors' ratio must be 1/(1 − P(tie)) = 1.245, and the
  // library's majority vote must match the coin version.
  constexpr int kAgents = 16, kDim = 16, kRuns = 8;
  constexpr double kLr = 0.05;
  constexpr std::int64_t kSteps = 20000, kBurnIn = 2000;
  const double p_tie = majority_tie_probability(kAgents);
  EXPECT_NEAR(p_tie, 12870.0 / 65536.0, 1e-12);
  const std::uint64_t seed = test_seed(85);
  const auto floor_of = [&](bool coin, std::uint64_t stream) {
    std::vector<double> tails;
    for (int r = 0; r < kRuns; ++r) {
      std::mt19937_64 rng(seed + 1000 * stream + static_cast<std::uint64_t>(r));
      std::normal_distribution<double> normal;
      std::bernoulli_distribution fair;
      std::vector<double> x(kDim, 0.0);
      double sum = 0.0;
      for (std::int64_t k = 0; k < kSteps; ++k) {
        double loss = 0.0;
        for (double& xj : x) {
          int votes = 0;
          for (int i = 0; i < kAgents; ++i) votes += xj + normal(rng) > 0.0 ? 1 : -1;
          const double vote = votes > 0   ? 1.0
                              : votes < 0 ? -1.0
                              : coin      ? (fair(rng) ? 1.0 : -1.0)
                                          : 0.0;
          xj -= kLr * vote;
          loss += 0.5 * xj * xj;
        }
        if (k >= kBurnIn) sum += loss;
      }
      tails.push_back(sum / static_cast<double>(kSteps - kBurnIn));
    }
    return sample_statistics(tails);
  };
  const SampleStatistics coin = floor_of(true, 1);
  const SampleStatistics ternary = floor_of(false, 2);
  const double ratio = coin.mean / ternary.mean;
  const double ratio_stderr =
      ratio * std::hypot(coin.stderr_ / coin.mean, ternary.stderr_ / ternary.mean);
  TrainOptions o;
  o.method = "majority";
  o.noise = "gaussian:1";
  o.workers = kAgents;
  o.lr = kLr;
  o.problem.dim = kDim;
  o.problem.x0 = 0.0;
  o.steps = kSteps;
  o.runs = kRuns;
  o.seed = seed;
  o.tail_fraction = 0.9;
  const SampleStatistics library = summarize_loss(train(o)).tail_loss;
  const nlohmann::json prediction = prediction_json(predict(o, {}));
  std::cout << fmt::format(
      "[ ties     ] N = 16: coin {:.5g} ± {:.2g}, sign(0) = 0 {:.5g} ± {:.2g}, "
      "ratio {:.4f} ± {:.4f} (1/(1 − P(tie)) = {:.4f}); library {:.5g} ± "
      "{:.2g}, predicted {:.5g}\n",
      coin.mean, coin.stderr_, ternary.mean, ternary.stderr_, ratio, ratio_stderr,
      1.0 / (1.0 - p_tie), library.mean, library.stderr_,
      prediction["stationary_loss"].get<double>());
  EXPECT_NEAR(ratio, 1.0 / (1.0 - p_tie), kZ * ratio_stderr);
  EXPECT_NEAR(library.mean, coin.mean, kZ * std::hypot(library.stderr_, coin.stderr_));
  EXPECT_NEAR(prediction["ties"]["floor_factor"].get<double>(), 1.0 / (1.0 - p_tie), 1e-12);
}

TEST(MajorityVote, SlopeMatchesTheBinomialFormula) {
  // κ_N = N C(N−1, (N−1)/2) / 2^(N−1) for odd N; even N equals N − 1 (ties are fair coins).
  EXPECT_DOUBLE_EQ(majority_vote_slope(1), 1.0);
  EXPECT_DOUBLE_EQ(majority_vote_slope(3), 1.5);
  EXPECT_DOUBLE_EQ(majority_vote_slope(5), 1.875);
  EXPECT_DOUBLE_EQ(majority_vote_slope(4), 1.5);
  EXPECT_NEAR(majority_vote_slope(401), std::sqrt(2.0 * 401 / M_PI), 0.01);
}

}  // namespace
}  // namespace dsignsgd
