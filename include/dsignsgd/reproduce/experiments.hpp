#pragma once
/// @file
/// `dsignsgd reproduce`: experiments that check the papers' claims and write a report with
/// figures (gnuplot), tables of measured against predicted numbers with standard errors, a verdict
/// line and the command that regenerates each: sde, noise, compression, tails, agents, l0l1,
/// realdata, stability, edge (the nine experiments of docs/REPRODUCE.md).

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "dsignsgd/core/data_dir.hpp"
#include "dsignsgd/reproduce/section.hpp"
#include "dsignsgd/stats/fits.hpp"
#include "dsignsgd/stats/verdict.hpp"

namespace dsignsgd {

struct ReproduceOptions {
  bool quick = false;
  std::uint64_t seed = 1;
  std::filesystem::path out;
  std::string command_line;  ///< echoed into the report
  std::string data_dir =
      default_data_dir();  ///< real-data experiment: where scripts/install_data.sh put it
  /// Renders a gnuplot script into the figures it names (the CLI and the tests pass
  /// render_gnuplot from plot/gnuplot.hpp); empty: the scripts and data are written, no figures.
  std::function<void(const std::filesystem::path& script)> render_figure;
  /// Told what each experiment is doing (one short line per configuration); may be empty.
  std::function<void(const std::string&)> progress;
};

/// One experiment, run: what it declared, its verdict (every check holds) and its section of
/// report.md as printed.
struct ExperimentReport {
  Section section;
  bool holds = false;
  std::string markdown;
};

/// Names of the shipped experiments.
std::vector<std::string> experiment_names();

/// Throws ConfigError for option "experiment" unless `name` is a shipped experiment or "all".
void require_experiment(const std::string& name);

/// Checks, before any experiment starts, that the inputs of the experiments `names` (or of all,
/// for "all") exist — the real-data experiment's data sets — and throws ConfigError naming the
/// option (data-dir) otherwise, so that `reproduce all` never fails after minutes of work.
void check_experiment_inputs(const std::vector<std::string>& names,
                             const ReproduceOptions& options);

/// Runs `name`: the experiment declares its section, the runner writes its data files and
/// gnuplot scripts into options.out and renders the figures (options.render_figure).
ExperimentReport run_experiment(const std::string& name, const ReproduceOptions& options);

/// Writes report.md and report.html for the experiments run.
void write_report(const std::vector<ExperimentReport>& reports, const ReproduceOptions& options);

}  // namespace dsignsgd
