#pragma once
// The reproduction tests' common step: one experiment's quick profile in a scratch directory.
#include <filesystem>
#include <string>
#include <vector>

#include "dsignsgd/plot/gnuplot.hpp"
#include "dsignsgd/reproduce/experiments.hpp"
#include "test_support.hpp"

namespace dsignsgd::testing {

/// Runs one experiment's quick profile into a fresh directory; checks the files it promises.
inline ExperimentReport quick_experiment(const std::string& name, std::uint64_t seed,
                                         const std::vector<std::string>& files) {
  const std::filesystem::path out = scratch_path("reproduce_" + name);
  std::filesystem::remove_all(out);
  ReproduceOptions options;
  options.quick = true;
  options.seed = test_seed(seed);
  options.out = out;
  options.data_dir = DSIGNSGD_DATA_DIR;
  options.command_line = "dsignsgd reproduce " + name + " --quick";
  options.render_figure = render_gnuplot;
  const ExperimentReport report = run_experiment(name, options);
  for (const std::string& file : files) {
    EXPECT_TRUE(std::filesystem::exists(out / file)) << name << ": " << file;
  }
  EXPECT_NE(report.markdown.find("Verdict: "), std::string::npos);
  // The report's summary row: where the claim comes from and the key numbers behind the verdict.
  EXPECT_FALSE(report.section.paper.empty()) << name << " names no paper";
  EXPECT_FALSE(report.section.headline.empty()) << name << " declares no key numbers";
  std::filesystem::remove_all(out);
  return report;
}

}  // namespace dsignsgd::testing
