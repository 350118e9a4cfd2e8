// `dsignsgd reproduce [NAME|all] [--quick] --out DIR`: the papers' claims, checked, with figures.
#include <iostream>

#include "commands.hpp"
#include "dsignsgd/reproduce/experiments.hpp"

namespace dsignsgd::cli {

Runner add_reproduce_command(CLI::App& app) {
  struct State {
    std::string name = "all";
    bool quick = false;
    std::uint64_t seed = 1;
    std::string out = "results/reproduce";
  };
  auto state = std::make_shared<State>();
  CLI::App* c = app.add_subcommand(
      "reproduce", "run the papers' experiments and write report.md / report.html with figures");
  c->add_option("name", state->name, "experiment (noise) or all")->capture_default_str();
  c->add_flag("--quick", state->quick, "the reduced profile");
  c->add_option("--seed", state->seed, "master seed")->capture_default_str();
  c->add_option("--out", state->out, "output directory")->capture_default_str();
  return [state]() {
    std::vector<std::string> names =
        state->name == "all" ? experiment_names() : std::vector<std::string>{state->name};
    ReproduceOptions options;
    options.quick = state->quick;
    options.seed = state->seed;
    options.out = state->out;
    options.command_line = "dsignsgd reproduce " + state->name + (state->quick ? " --quick" : "") +
                           " --seed " + std::to_string(state->seed) + " --out " + state->out;
    prepare_out_dir(state->out);
    std::vector<ExperimentReport> reports;
    for (const std::string& name : names) {
      std::cerr << "experiment " << name << " …\n";
      reports.push_back(run_experiment(name, options));
      std::cout << name << ": " << (reports.back().holds ? "holds" : "does not hold") << '\n';
    }
    write_report(reports, options);
    std::cout << "report: " << state->out << "/report.md and report.html\n";
    return 0;
  };
}

}  // namespace dsignsgd::cli
