#pragma once
/// @file
/// `dsignsgd reproduce`: experiments that check the papers' claims and write a report with
/// figures (gnuplot), tables of measured against predicted numbers with standard errors, a verdict
/// line and the command that regenerates each: sde, noise, compression, tails, agents, l0l1,
/// realdata, stability (experiments 1–8 of issue 6, docs/REPRODUCE.md).

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace dsignsgd {

/// Least-squares slope of log y against log x, with its standard error from the residuals.
struct SlopeFit {
  double slope = 0.0;
  double stderr_ = 0.0;
};
SlopeFit fit_log_log_slope(const std::vector<double>& x, const std::vector<double>& y);

/// A claimed log-log slope holds when the fitted slope is within max(tolerance, 3 s.e.) of it.
bool slope_claim_holds(const SlopeFit& fit, double claimed, double tolerance);

/// Hill's estimator of the tail index α of positive samples (P(X > x) ~ x^−α) from the largest
/// top_fraction of them, with its asymptotic standard error α/√k. NaN with fewer than 10 in the top.
struct TailIndex {
  double alpha = 0.0;
  double stderr_ = 0.0;
  std::size_t used = 0;
};
TailIndex hill_tail_index(std::vector<double> samples, double top_fraction);

/// The experiments' verdict rules as pure functions (tested on inputs with known answers).
namespace verdict {
/// A measured mean agrees with a prediction: |mean − predicted| ≤ 3 s.e. + relative·predicted.
bool matches_prediction(double mean, double stderr_, double predicted, double relative);
/// A scaled configuration is back at (or below) the reference floor: adjusted − reference ≤
/// 3 combined s.e. + 5 % of the reference.
bool at_or_below(double adjusted, double adjusted_stderr, double reference,
                 double reference_stderr);
/// Two mean curves agree at one time: |Δ| ≤ 4.5 combined s.e. + 5 % (the O(η) method–SDE gap).
bool curves_agree(double a, double a_stderr, double b, double b_stderr);
/// Late over early mean loss of one schedule: a stalled run keeps it within [0.75, 1.33];
/// a converging one drops it below 0.75 and ends below a third of the stalled floor.
bool stalled(double early, double late);
bool converging(double early, double late, double stalled_floor);
/// A method "breaks" under heavy tails when it loses half its runs or ends below the robust
/// method's mean accuracy.
bool breaks(int diverged, int runs, std::size_t live, double accuracy, double robust_accuracy);
}  // namespace verdict

struct ReproduceOptions {
  bool quick = false;
  std::uint64_t seed = 1;
  std::filesystem::path out;
  std::string command_line;  ///< echoed into the report
  std::string data_dir = "data";  ///< real-data experiment: where scripts/install_data.sh put it
  /// Told what each experiment is doing (one short line per configuration); may be empty.
  std::function<void(const std::string&)> progress;
};

/// One experiment's section of the report.
struct ExperimentReport {
  std::string name;
  std::string claim;
  std::string markdown;          ///< table, verdict, command
  std::vector<std::string> figures;  ///< file names (PNG) relative to the output directory
  bool holds = false;
};

/// Names of the shipped experiments.
std::vector<std::string> experiment_names();

/// Runs `name` and writes its data and figures into options.out.
ExperimentReport run_experiment(const std::string& name, const ReproduceOptions& options);

/// Writes report.md and report.html for the experiments run.
void write_report(const std::vector<ExperimentReport>& reports, const ReproduceOptions& options);

}  // namespace dsignsgd
