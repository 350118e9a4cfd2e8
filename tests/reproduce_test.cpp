// The reproduction suite: verdict computations on inputs with known answers, and a reduced run
// whose report must hold every figure and table it promises.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dsignsgd/reproduce/experiments.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

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

TEST(Reproduce, QuickAgentsExperimentShowsTheLinearSpeedUp) {
  const std::filesystem::path out =
      std::filesystem::temp_directory_path() / "dsignsgd_reproduce_agents_test";
  std::filesystem::remove_all(out);
  ReproduceOptions options;
  options.quick = true;
  options.seed = testing::test_seed(112);
  options.out = out;
  options.command_line = "dsignsgd reproduce agents --quick";
  const ExperimentReport report = run_experiment("agents", options);
  EXPECT_TRUE(report.holds) << report.markdown;
  for (const char* file : {"agents.csv", "agents.png", "agents.svg"}) {
    EXPECT_TRUE(std::filesystem::exists(out / file)) << file;
  }
  EXPECT_NE(report.markdown.find("| κ | N | η | steps |"), std::string::npos);
  std::filesystem::remove_all(out);
}

TEST(Reproduce, StabilityExperimentFindsGdsStepSizeLimitOnlyInTheCorrectedModel) {
  const std::filesystem::path out =
      std::filesystem::temp_directory_path() / "dsignsgd_reproduce_stability_test";
  std::filesystem::remove_all(out);
  ReproduceOptions options;
  options.quick = true;
  options.out = out;
  options.command_line = "dsignsgd reproduce stability --quick";
  const ExperimentReport report = run_experiment("stability", options);
  EXPECT_TRUE(report.holds) << report.markdown;
  // Above η = 2/λ only the stability model agrees with GD.
  EXPECT_NE(report.markdown.find("| 2.1 |"), std::string::npos);
  EXPECT_NE(report.markdown.find("| stability |"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(out / "stability.png"));
  std::filesystem::remove_all(out);
}

TEST(Reproduce, QuickNoiseExperimentWritesItsFigureTableAndVerdict) {
  const std::filesystem::path out =
      std::filesystem::temp_directory_path() / "dsignsgd_reproduce_test";
  std::filesystem::remove_all(out);
  ReproduceOptions options;
  options.quick = true;
  options.seed = testing::test_seed(111);
  options.out = out;
  options.command_line = "dsignsgd reproduce noise --quick";
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
