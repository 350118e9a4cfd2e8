// The longer reproduction experiments in their quick form (CTest label slow).
#include <filesystem>

#include "dsignsgd/reproduce/experiments.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

TEST(ReproduceSlow, SdeExperimentFindsFirstOrderWeakErrorsForEveryCase) {
  const std::filesystem::path out =
      std::filesystem::temp_directory_path() / "dsignsgd_reproduce_sde_test";
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
