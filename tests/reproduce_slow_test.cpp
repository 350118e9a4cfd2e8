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


TEST(ReproduceSlow, SdeExperimentFindsFirstOrderWeakErrorsForEveryCase) {
  const ExperimentReport report =
      quick_experiment("sde", 113, {"sde_weak_error.png", "sde_curves.png", "sde_weak_error.csv",
                                    "sde_curves_0.csv", "sde_curves_3.csv"});
  EXPECT_TRUE(report.holds) << report.markdown;
  EXPECT_NE(report.markdown.find("| DSignSGD, Student-t ν = 3 |"), std::string::npos);
}

}  // namespace
}  // namespace dsignsgd
