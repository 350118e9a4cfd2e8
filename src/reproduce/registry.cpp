// The experiments of `dsignsgd reproduce` by name, in report order, and the one runner that
// turns a declared section into files: data (CSV), gnuplot scripts and figures.
#include <filesystem>

#include "dsignsgd/core/join.hpp"
#include "dsignsgd/core/atomic_file.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/reproduce/printers.hpp"
#include "experiment_support.hpp"

namespace dsignsgd {
namespace {

using namespace reproduce_detail;

struct ExperimentEntry {
  const char* name;
  Section (*run)(const ReproduceOptions&);
  /// Throws ConfigError when an input the experiment reads is missing; null: it reads none.
  void (*check_inputs)(const ReproduceOptions&) = nullptr;
};

/// The ten experiments, in the order of the report (docs/REPRODUCE.md).
constexpr ExperimentEntry kExperiments[] = {
    {"sde", sde_versus_algorithm},
    {"noise", noise_resilience},
    {"compression", compression_and_scaling},
    {"tails", heavy_tails},
    {"agents", linear_speedup},
    {"l0l1", l0l1_smoothness},
    {"realdata", real_data, check_real_data_inputs},
    {"realnoise", real_noise, check_real_data_inputs},
    {"stability", stability_models},
    {"edge", stability_edge},
};

}  // namespace

std::vector<std::string> experiment_names() {
  std::vector<std::string> names;
  for (const ExperimentEntry& e : kExperiments) names.emplace_back(e.name);
  return names;
}

void require_experiment(const std::string& name) {
  if (name == "all") return;
  for (const ExperimentEntry& e : kExperiments) {
    if (name == e.name) return;
  }
  throw ConfigError("experiment", name,
                    "must be one of " + join(experiment_names(), ", ") + " or all");
}

void check_experiment_inputs(const std::vector<std::string>& names,
                             const ReproduceOptions& options) {
  for (const std::string& name : names) {
    require_experiment(name);
    for (const ExperimentEntry& e : kExperiments) {
      if ((name == e.name || name == "all") && e.check_inputs != nullptr) e.check_inputs(options);
    }
  }
}

ExperimentReport run_experiment(const std::string& name, const ReproduceOptions& options) {
  require_experiment(name);
  for (const ExperimentEntry& e : kExperiments) {
    if (name == e.name) {
      std::filesystem::create_directories(options.out);
      ExperimentReport report;
      report.section = e.run(options);
      for (const DataFile& file : report.section.data) {
        write_file_atomic(options.out / file.name, csv_text(file));
      }
      for (const Figure& figure : report.section.figures) {
        const std::filesystem::path script = options.out / (figure.stem + ".gp");
        write_file_atomic(script, gnuplot_script(figure, options.out));
        if (options.render_figure) options.render_figure(script);
      }
      report.holds = report.section.holds();
      report.markdown = markdown_body(report.section, options.command_line);
      return report;
    }
  }
  throw ConfigError("experiment", name, "must be one experiment, not all");
}

}  // namespace dsignsgd
