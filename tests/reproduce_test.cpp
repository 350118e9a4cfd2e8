// The reproduction suite: verdict computations on inputs with known answers, and a reduced run
// whose report must hold every figure and table it promises.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dsignsgd/random/stream.hpp"
#include "dsignsgd/plot/gnuplot.hpp"
#include "dsignsgd/reproduce/experiments.hpp"
#include "dsignsgd/reproduce/table.hpp"
#include "reproduce_support.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

using testing::quick_experiment;

TEST(SlopeVerdict, RecoversKnownSlopesAndCanFail) {
  const std::vector<double> x = {0.25, 0.5, 1, 2, 4};
  std::vector<double> quadratic, linear, in_between;
  for (double v : x) {
    quadratic.push_back(3.0 * v * v);
    linear.push_back(0.1 * v);
    in_between.push_back(std::pow(v, 1.5));
  }
  const SlopeFit q = fit_log_log_slope(x, quadratic);
  EXPECT_NEAR(q.slope, 2.0, 1e-12);
  EXPECT_NEAR(q.stderr_, 0.0, 1e-9);
  EXPECT_TRUE(slope_claim_holds(q, 2.0, 0.15));
  EXPECT_FALSE(slope_claim_holds(q, 1.0, 0.15));
  EXPECT_TRUE(slope_claim_holds(fit_log_log_slope(x, linear), 1.0, 0.15));
  // A slope of 1.5 is neither of the claimed ones: both verdicts fail.
  const SlopeFit mid = fit_log_log_slope(x, in_between);
  EXPECT_FALSE(slope_claim_holds(mid, 2.0, 0.15));
  EXPECT_FALSE(slope_claim_holds(mid, 1.0, 0.15));
  // Scatter widens the acceptance only through its standard error.
  std::vector<double> noisy = quadratic;
  noisy[1] *= 1.3;
  noisy[3] /= 1.3;
  const SlopeFit n = fit_log_log_slope(x, noisy);
  EXPECT_GT(n.stderr_, 0.01);
  EXPECT_TRUE(slope_claim_holds(n, 2.0, 0.15));
}

TEST(TailIndexVerdict, HillRecoversParetoIndicesAndSeparatesFiniteFromInfiniteMeans) {
  // Pareto samples X = U^(−1/α): P(X > x) = x^−α exactly, so Hill's estimate must find α.
  const std::uint64_t seed = testing::test_seed(114);
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kSetup});
  for (double alpha : {0.5, 0.75, 1.5, 3.0}) {
    std::vector<double> samples(20000);
    for (double& x : samples) x = std::pow(1.0 - rng.uniform(), -1.0 / alpha);
    const TailIndex index = hill_tail_index(samples, 0.02);
    EXPECT_EQ(index.used, 400u);
    EXPECT_NEAR(index.alpha, alpha, 4.0 * index.stderr_) << "α = " << alpha;
    EXPECT_NEAR(index.stderr_, alpha / 20.0, 0.2 * alpha / 20.0);
    // The experiment's verdicts: infinite mean iff α + 2 s.e. < 1, finite iff α − 2 s.e. > 1.
    EXPECT_EQ(index.alpha + 2.0 * index.stderr_ < 1.0, alpha < 1.0) << "α = " << alpha;
    EXPECT_EQ(index.alpha - 2.0 * index.stderr_ > 1.0, alpha > 1.0) << "α = " << alpha;
  }
  // Light tails (exponential) give a large index; too few samples give NaN.
  std::vector<double> light(20000);
  for (double& x : light) x = 1.0 - std::log(1.0 - rng.uniform());
  EXPECT_GT(hill_tail_index(light, 0.02).alpha, 3.0);
  EXPECT_TRUE(std::isnan(hill_tail_index({1.0, 2.0, 3.0}, 0.02).alpha));
}

TEST(Verdicts, EachRuleAcceptsItsClaimAndRejectsTheOpposite) {
  // Floors against predictions: 3 s.e. plus a relative allowance, no more.
  EXPECT_TRUE(verdict::matches_prediction(1.04, 0.01, 1.0, 0.05));
  EXPECT_TRUE(verdict::matches_prediction(1.07, 0.01, 1.0, 0.05));   // 0.07 ≤ 0.03 + 0.05
  EXPECT_FALSE(verdict::matches_prediction(1.09, 0.01, 1.0, 0.05));  // 0.09 > 0.08
  EXPECT_FALSE(verdict::matches_prediction(8.0, 0.1, 1.0, 0.05));    // DCSGD ω = 7 unscaled
  // Scaling rules: one-sided — far below is fine (a rule may overshoot), above is not.
  EXPECT_TRUE(verdict::at_or_below(0.009, 0.0002, 0.010, 0.0002));
  EXPECT_TRUE(verdict::at_or_below(0.0105, 0.0001, 0.010, 0.0001));
  EXPECT_FALSE(verdict::at_or_below(0.08, 0.001, 0.010, 0.0002));
  EXPECT_FALSE(verdict::at_or_below(0.0115, 0.0001, 0.010, 0.0001));
  // Curves: 4.5 s.e. + 5 %.
  EXPECT_TRUE(verdict::curves_agree(1.0, 0.01, 1.08, 0.01));
  EXPECT_FALSE(verdict::curves_agree(1.0, 0.01, 1.2, 0.01));
  // Schedules: a flat late/early ratio is a stall, a falling one with a low end is convergence.
  EXPECT_TRUE(verdict::stalled(0.020, 0.021));
  EXPECT_FALSE(verdict::stalled(0.020, 0.005));
  EXPECT_TRUE(verdict::converging(0.012, 0.005, 0.02));
  EXPECT_FALSE(verdict::converging(0.012, 0.011, 0.02));  // not falling
  EXPECT_FALSE(verdict::converging(0.030, 0.015, 0.02));  // falling but above the stalled floor
  // Heavy tails on real data.
  EXPECT_TRUE(verdict::breaks(2, 2, 0, 0.0, 0.75));     // every run diverged
  EXPECT_TRUE(verdict::breaks(1, 2, 1, 0.88, 0.75));    // half the runs
  EXPECT_TRUE(verdict::breaks(0, 4, 4, 0.70, 0.75));    // all alive but below the robust method
  EXPECT_FALSE(verdict::breaks(0, 4, 4, 0.90, 0.75));   // alive and better: does not break
}

TEST(Reproduce, ASecondRunWithTheSameSeedWritesTheSameNumbers) {
  const std::filesystem::path out =
      testing::scratch_path("reproduce_repeat_test");
  std::string first;
  for (int round = 0; round < 2; ++round) {
    std::filesystem::remove_all(out);
    ReproduceOptions options;
    options.quick = true;
    options.seed = 5;
    options.out = out;
    run_experiment("compression", options);
    std::ifstream in(out / "compression_rules.csv");
    std::stringstream text;
    text << in.rdbuf();
    if (round == 0) first = text.str();
    else EXPECT_EQ(text.str(), first);
  }
  EXPECT_GT(first.size(), 100u);
  std::filesystem::remove_all(out);
}

TEST(Reproduce, QuickCompressionExperimentRestoresDsgdsFloorWithEveryRule) {
  const ExperimentReport report = quick_experiment(
      "compression", 115, {"compression.csv", "compression_rules.csv", "compression.png", "compression.svg", "compression_rules.png"});
  EXPECT_TRUE(report.holds) << report.markdown;
  for (const char* rule : {"rule: lr", "rule: batch", "rule: workers"}) {
    EXPECT_NE(report.markdown.find(rule), std::string::npos) << rule;
  }
}

TEST(Reproduce, QuickL0L1ExperimentSeparatesNormalizedFromScheduledSteps) {
  const ExperimentReport report =
      quick_experiment("l0l1", 117, {"l0l1_dcsgd.csv", "l0l1_dsignsgd.csv", "l0l1.png", "l0l1.svg"});
  EXPECT_TRUE(report.holds) << report.markdown;
}

TEST(Reproduce, QuickAgentsExperimentShowsTheLinearSpeedUp) {
  const ExperimentReport report =
      quick_experiment("agents", 112, {"agents.csv", "agents.png", "agents.svg"});
  EXPECT_TRUE(report.holds) << report.markdown;
  EXPECT_NE(report.markdown.find("| κ | N | η | steps |"), std::string::npos);
}

TEST(Reproduce, StabilityExperimentFindsGdsStepSizeLimitOnlyInTheCorrectedModel) {
  const ExperimentReport report = quick_experiment("stability", 1, {"stability.png"});
  EXPECT_TRUE(report.holds) << report.markdown;
  // Above η = 2/λ only the stability model agrees with GD.
  EXPECT_NE(report.markdown.find("| 2.1 |"), std::string::npos);
  EXPECT_NE(report.markdown.find("| stability |"), std::string::npos);
}

TEST(Reproduce, QuickNoiseExperimentWritesItsFigureTableAndVerdict) {
  const std::filesystem::path out =
      testing::scratch_path("reproduce_test");
  std::filesystem::remove_all(out);
  ReproduceOptions options;
  options.quick = true;
  options.seed = testing::test_seed(111);
  options.out = out;
  options.command_line = "dsignsgd reproduce noise --quick";
  options.render_figure = render_gnuplot;
  const ExperimentReport report = run_experiment("noise", options);
  write_report({report}, options);
  EXPECT_TRUE(report.holds) << report.markdown;
  for (const char* file : {"noise.csv", "noise.png", "noise.svg", "report.md", "report.html"}) {
    EXPECT_TRUE(std::filesystem::exists(out / file)) << file;
  }
  std::ifstream in(out / "report.md");
  std::stringstream text;
  text << in.rdbuf();
  for (const char* piece : {"![noise](noise.png)", "| method | σ | measured floor", "Verdict:",
                            "DSignSGD: measured slope", "dsignsgd reproduce noise --quick"}) {
    EXPECT_NE(text.str().find(piece), std::string::npos) << piece;
  }
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace dsignsgd

namespace dsignsgd {
namespace {

using reproduce_detail::Table;

TEST(ReproduceTable, PrintsOneTableAsMarkdownAndCsv) {
  Table t({{"method", ""}, {"", "method"}, {"σ", "sigma"}, {"floor", "floor", 3}, {"runs", "runs"}});
  t.add({"DSGD", "dsgd", 0.25, 0.0123456, std::int64_t{16}});
  t.add({"DSignSGD", "dsignsgd", 4.0, 1234567.0, std::int64_t{8}});
  EXPECT_EQ(t.markdown(),
            "| method | σ | floor | runs |\n|---|---|---|---|\n"
            "| DSGD | 0.25 | 0.0123 | 16 |\n| DSignSGD | 4 | 1.23e+06 | 8 |\n");
  EXPECT_EQ(t.csv(),
            "method,sigma,floor,runs\ndsgd,0.25,0.0123456,16\ndsignsgd,4,1.23457e+06,8\n");
}

}  // namespace
}  // namespace dsignsgd
