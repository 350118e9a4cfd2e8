// The longer reproduction experiments in their quick form (CTest label slow: `make sanitize`
// runs the unit label only, where these would take many minutes).
#include <filesystem>

#include "dsignsgd/reproduce/experiments.hpp"
#include "reproduce_support.hpp"

namespace dsignsgd {
namespace {

using testing::quick_experiment;

TEST(Reproduce, QuickTailsExperimentFindsInfiniteMeansOnlyForLinearMethodsBelowNuTwo) {
  const ExperimentReport report = quick_experiment("tails", 116, {"tails.csv", "tails.png", "tails.svg"});
  EXPECT_TRUE(report.holds) << report.markdown;
  EXPECT_NE(report.markdown.find("no finite floor, as claimed"), std::string::npos);
}

TEST(Reproduce, QuickRealDataExperimentOnTheDigitsMlp) {
  const ExperimentReport report = quick_experiment(
      "realdata", 118, {"realdata.csv", "realdata_bits.csv", "realdata.png", "realdata_bits.png"});
  EXPECT_TRUE(report.holds) << report.markdown;
}

// Issue 28: the methods on a network's own noise. Asserted are the properties that hold with
// margin (the other checks are the measurement's to decide, either way): single-sample gradients
// of the digits MLP are half exact zeros, 16-sample ones almost none; at B = 16 DSignSGD's
// training loss is below rand-k ω = 7's; at B = 1 rand-k degrades DSGD and every rule of
// `scale --keep trajectory` restores it; the local quadratic model (item 3) has resolved gaps
// to judge.
TEST(Reproduce, QuickRealNoiseExperimentOnTheDigitsMlpsOwnNoise) {
  const ExperimentReport report = quick_experiment(
      "realnoise", 119,
      {"realnoise_noise.csv", "realnoise.csv", "realnoise_curves.csv", "realnoise_tuning.csv",
       "realnoise_scaling.csv", "realnoise_model.csv", "realnoise_model_summary.csv",
       "realnoise.png", "realnoise_bits.png"});
  const std::vector<Check>& checks = report.section.checks;
  ASSERT_EQ(checks.size(), 6u) << report.markdown;
  EXPECT_NE(checks[2].criterion.find("restores"), std::string::npos);
  EXPECT_TRUE(checks[2].holds) << report.markdown;
  EXPECT_NE(checks[4].criterion.find("B = 16, N = 4: DSignSGD"), std::string::npos);
  EXPECT_TRUE(checks[4].holds) << report.markdown;
  // Item 3's check judges at least one resolved gap (rand-k ω = 7 at B = 1 is degraded by far
  // more than 2 s.e.); whether all agree is the measurement's to say.
  EXPECT_NE(checks[5].criterion.find("local quadratic model"), std::string::npos);
  EXPECT_EQ(checks[5].criterion.find("here 0 of 0"), std::string::npos) << checks[5].criterion;
  const Table& noise = std::get<Table>(report.section.data.at(0).content);
  for (const std::vector<std::string>& row : noise.report_rows()) {
    const double zeros = std::stod(row.at(2));
    if (row.at(0).find("B = 1,") != std::string::npos || row.at(0).ends_with("B = 1")) {
      EXPECT_GT(zeros, 0.3) << row.at(0) << " step " << row.at(1);
    } else {
      EXPECT_LT(zeros, 0.1) << row.at(0) << " step " << row.at(1);
    }
  }
}


TEST(ReproduceSlow, SdeExperimentFindsFirstOrderWeakErrorsForEveryCase) {
  const ExperimentReport report =
      quick_experiment("sde", 113, {"sde_weak_error.png", "sde_curves.png", "sde_weak_error.csv",
                                    "sde_curves_0.csv", "sde_curves_3.csv"});
  EXPECT_TRUE(report.holds) << report.markdown;
  EXPECT_NE(report.markdown.find("| DSignSGD, Student-t ν = 3 |"), std::string::npos);
}

}  // namespace
}  // namespace dsignsgd
