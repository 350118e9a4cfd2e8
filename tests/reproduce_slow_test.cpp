// The longer reproduction experiments in their quick form (CTest label slow: `make sanitize`
// runs the unit label only, where these would take many minutes).
#include <filesystem>

#include "dsignsgd/reproduce/experiments.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

/// Runs one experiment's quick profile into a fresh directory; checks the files it promises.
ExperimentReport quick_experiment(const std::string& name, std::uint64_t seed,
                                  const std::vector<std::string>& files) {
  const std::filesystem::path out =
      testing::scratch_path("reproduce_" + name);
  std::filesystem::remove_all(out);
  ReproduceOptions options;
  options.quick = true;
  options.seed = testing::test_seed(seed);
  options.out = out;
  options.data_dir = DSIGNSGD_DATA_DIR;
  options.command_line = "dsignsgd reproduce " + name + " --quick";
  const ExperimentReport report = run_experiment(name, options);
  for (const std::string& file : files) {
    EXPECT_TRUE(std::filesystem::exists(out / file)) << name << ": " << file;
  }
  EXPECT_NE(report.markdown.find("Verdict: "), std::string::npos);
  std::filesystem::remove_all(out);
  return report;
}

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
  const std::filesystem::path out =
      testing::scratch_path("reproduce_sde_test");
  std::filesystem::remove_all(out);
  ReproduceOptions options;
  options.quick = true;
  options.seed = testing::test_seed(113);
  options.out = out;
  options.command_line = "dsignsgd reproduce sde --quick";
  const ExperimentReport report = run_experiment("sde", options);
  EXPECT_TRUE(report.holds) << report.markdown;
  for (const char* file : {"sde_weak_error.png", "sde_curves.png", "sde_weak_error.csv",
                           "sde_curves_0.csv", "sde_curves_3.csv"}) {
    EXPECT_TRUE(std::filesystem::exists(out / file)) << file;
  }
  EXPECT_NE(report.markdown.find("| DSignSGD, Student-t ν = 3 |"), std::string::npos);
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace dsignsgd
