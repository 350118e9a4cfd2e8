// `dsignsgd reproduce [NAME|all] [--quick] --out DIR`: the papers' claims, checked, with figures.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "dsignsgd/core/data_dir.hpp"
#include "dsignsgd/plot/gnuplot.hpp"
#include "dsignsgd/reproduce/experiments.hpp"

namespace dsignsgd::cli {

Runner add_reproduce_command(CLI::App& app) {
  struct State {
    std::string name = "all";
    bool quick = false;
    std::uint64_t seed = 1;
    std::string out = "results/reproduce";
    std::string data_dir = default_data_dir();
  };
  auto state = std::make_shared<State>();
  CLI::App* c = app.add_subcommand(
      "reproduce", "run the papers' experiments and write report.md / report.html with figures");
  std::string names;  // from the registry, so that the help lists every experiment
  for (const std::string& name : experiment_names()) names += name + ", ";
  c->add_option("experiment,--experiment", state->name, "experiment: " + names + "or all")
      ->capture_default_str();
  c->add_flag("--quick", state->quick, "the reduced profile");
  c->add_option("--seed", state->seed, "master seed")->check(whole_number())->capture_default_str();
  add_out_option(*c, state->out, "report.md, report.html, figures and data");
  c->add_option("--data-dir", state->data_dir,
                "realdata: directory of scripts/install_data.sh (default: $DSIGNSGD_DATA_DIR, else "
                "the one this build recorded)")
      ->capture_default_str();
  return [state]() {
    std::vector<std::string> names =
        state->name == "all" ? experiment_names() : std::vector<std::string>{state->name};
    ReproduceOptions options;
    options.quick = state->quick;
    options.seed = state->seed;
    options.out = state->out;
    options.data_dir = state->data_dir;
    options.render_figure = render_gnuplot;
    options.command_line = "dsignsgd reproduce " + state->name + (state->quick ? " --quick" : "") +
                           " --seed " + std::to_string(state->seed) + " --out " + state->out;
    require_experiment(state->name);
    check_experiment_inputs(names, options);
    prepare_out_dir(state->out);
    // Progress: the running configuration on one rewritten line when stderr is a terminal,
    // one line per experiment otherwise (logs stay short).
    const bool tty = ::isatty(STDERR_FILENO) == 1;
    std::size_t index = 0;
    const auto started = std::chrono::steady_clock::now();
    const auto elapsed = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };
    if (tty) {
      options.progress = [&](const std::string& what) {
        std::fprintf(stderr, "\r\033[K[%zu/%zu %5.0f s] %s", index + 1, names.size(), elapsed(),
                     what.c_str());
        std::fflush(stderr);
      };
    }
    std::vector<ExperimentReport> reports;
    for (; index < names.size(); ++index) {
      const std::string& name = names[index];
      if (!tty)
        std::fprintf(stderr, "[%zu/%zu %5.0f s] %s …\n", index + 1, names.size(), elapsed(),
                     name.c_str());
      const double before = elapsed();
      reports.push_back(run_experiment(name, options));
      if (tty) std::fprintf(stderr, "\r\033[K");
      std::printf("%s: %s (%.1f s)\n", name.c_str(),
                  reports.back().holds ? "holds" : "does not hold", elapsed() - before);
      std::fflush(stdout);
    }
    write_report(reports, options);
    std::cout << "report: " << state->out << "/report.md and report.html\n";
    return 0;
  };
}

}  // namespace dsignsgd::cli
