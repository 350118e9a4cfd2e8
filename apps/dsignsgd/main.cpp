// dsignsgd — communication-compressed distributed optimization and its SDE analysis.
// Exit codes: 0 success, 1 runtime failure, 2 invalid input (message names option and value).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <thread>

#include "commands.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/join.hpp"
#include "dsignsgd/core/build_info.hpp"
#include "dsignsgd/version.hpp"
#ifdef DSIGNSGD_HAVE_TORCH
#include "dsignsgd/torch/torch_models.hpp"
#endif

namespace dsignsgd::cli {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) == 1) {}

void ProgressBar::update(std::uint64_t done, std::uint64_t total) {
  if (!enabled_ || total == 0) return;
  const int percent = static_cast<int>(100 * done / total);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  constexpr int kWidth = 30;
  const int filled = percent * kWidth / 100;
  std::fprintf(stderr, "\r%s [%s%s] %3d%%", label_.c_str(), std::string(filled, '#').c_str(),
               std::string(kWidth - filled, '.').c_str(), percent);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (enabled_ && last_percent_ >= 0)
    std::fprintf(stderr, "\r%*s\r", 50 + static_cast<int>(label_.size()), "");
}

namespace {

/// The rank mpirun gave this process (Open MPI, MPICH, PMIx), or 0 when not started by mpirun.
int launched_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}) {
    if (const char* value = std::getenv(name)) return std::atoi(value);
  }
  return 0;
}

/// An input error (exit 2), printed once. Under mpirun every rank reads the same flags and fails
/// the same way (after MPI starts, agree_on_failure makes them), so rank 0 prints at once; any
/// other rank waits 2 s first and then prints naming itself — mpirun ends it during the wait
/// when rank 0 has failed too (no second copy), and it is the only one to speak when it alone
/// failed. Without the wait, a rank exiting first made mpirun kill rank 0 before it printed.
/// `text` is already escaped for the terminal.
void report_error(const std::string& text) {
  const int rank = launched_rank();
  if (rank > 0) std::this_thread::sleep_for(std::chrono::seconds(2));
  std::cerr << "dsignsgd: error" << (rank > 0 ? " (rank " + std::to_string(rank) + ")" : "") << ": "
            << text << '\n';
}

/// A runtime failure (exit 1) may be one rank's own: every rank prints it, naming itself.
void report_failure(const std::string& text) {
  const int rank = launched_rank();
  std::cerr << "dsignsgd: failed" << (rank > 0 ? " on rank " + std::to_string(rank) : "") << ": "
            << escape_for_terminal(text) << '\n';
}

/// Every subcommand, and the runner of each.
std::map<CLI::App*, Runner> add_commands(CLI::App& app) {
  std::map<CLI::App*, Runner> runners;
  const auto add = [&](Runner runner, const char* name) {
    runners[app.get_subcommand(name)] = std::move(runner);
  };
  add(add_train_command(app), "train");
  add(add_sde_command(app), "sde");
  add(add_predict_command(app), "predict");
  add(add_validate_command(app), "validate");
  add(add_scale_command(app), "scale");
  add(add_reproduce_command(app), "reproduce");
  add(add_compare_command(app), "compare");
  add(add_compressor_command(app), "compressor");
  add(add_bench_command(app), "bench");
  add(add_speedup_command(app), "speedup");
  add(add_noise_probe_command(app), "noise-probe");
  require_decimal_numbers(app);
  return runners;
}

std::vector<const CLI::App*> subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App*) { return true; });
}

/// An unknown command is named as such (CLI11 would say "A subcommand is required"): false then.
bool known_command(const CLI::App& app, const std::vector<std::string>& args) {
  if (args.empty() || args[0].empty() || args[0][0] == '-') return true;
  std::vector<std::string> names;
  bool known = false;
  for (const CLI::App* sub : subcommands(app)) {
    names.push_back(sub->get_name());
    known = known || sub->get_name() == args[0];
  }
  if (!known) {
    report_error("unknown command '" + escape_for_terminal(args[0]) + "': must be one of " +
                 join(names, ", "));
  }
  return known;
}

/// An empty value ("--lr ''", "--lr=") would leave the option at its default: refuse it.
void refuse_empty_values(const std::vector<std::string>& args) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0) continue;
    const auto equals = arg.find('=');
    if (equals != std::string::npos ? equals + 1 == arg.size()
                                    : i + 1 < args.size() && args[i + 1].empty()) {
      throw ConfigError(arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2),
                        "", "is empty; give a value or leave the option out");
    }
  }
}

/// --config FILE: appends the file's keys as flags the command line did not give.
void expand_config_file(const CLI::App& app, std::vector<std::string>& args,
                        ConfigArguments& config, std::string& config_path) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string path;
    if (args[i] == "--config" && i + 1 < args.size()) path = args[i + 1];
    if (args[i].rfind("--config=", 0) == 0) path = args[i].substr(9);
    if (path.empty() || args.empty()) continue;
    const CLI::App* command = nullptr;
    for (const CLI::App* sub : subcommands(app)) {
      if (sub->get_name() == args[0]) command = sub;
    }
    if (command == nullptr) throw ConfigError("config", path, "needs a command before it");
    config = config_file_arguments(path, *command, args);
    config_path = path;
    args.insert(args.end(), config.arguments.begin(), config.arguments.end());
    return;
  }
}

/// Runs the parsed command: exit 2 for a ConfigError (its --out removed if still empty), 1 for
/// any other failure. A refused value that came from the config file is reported at its file,
/// line and column, as the parser's errors are.
int run_parsed(const std::map<CLI::App*, Runner>& runners, const ConfigArguments& config,
               const std::string& config_path) {
  for (const auto& [command, runner] : runners) {
    if (!command->parsed()) continue;
    try {
      return runner();
    } catch (const ConfigError& e) {
      const auto origin = config.origins.find("--" + e.option());
      if (origin != config.origins.end()) {
        report_error(ConfigError("config", config_path, origin->second + ": " + e.what()).what());
      } else {
        report_error(e.what());
      }
      remove_created_out_dir_if_empty();
      return 2;
    } catch (const std::exception& e) {
      report_failure(e.what());
      return 1;
    }
  }
  return 2;
}

}  // namespace

}  // namespace dsignsgd::cli

int main(int argc, char** argv) {
  using namespace dsignsgd;
#ifdef DSIGNSGD_HAVE_TORCH
  register_torch_models();  // --problem fashion-cnn, mnist-cnn, kjv-transformer
#endif
  CLI::App app{
      "dsignsgd: distributed SGD, compressed SGD and SignSGD with N agents, and their "
      "SDE analysis"};
  app.name("dsignsgd");
  app.set_version_flag("--version", version_line());
  app.require_subcommand(1);
  const std::map<CLI::App*, cli::Runner> runners = cli::add_commands(app);

  std::vector<std::string> args(argv + 1, argv + argc);
  cli::ConfigArguments config;  // what --config gave, and from which line
  std::string config_path;
  try {
    if (!cli::known_command(app, args)) return 2;
    cli::refuse_empty_values(args);
    cli::expand_config_file(app, args, config, config_path);
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    forget_typed_numbers();
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    // A value from the config file is reported at its file, line and column.
    if (const std::string origin = config.origin_of(e.what()); !origin.empty()) {
      cli::report_error(ConfigError("config", config_path, origin + ": " + e.what()).what());
      return 2;
    }
    cli::report_error(escape_for_terminal(e.what()) + "\n(run 'dsignsgd " +
                      (args.empty() ? "" : args[0] + " ") + "--help' for the options)");
    return 2;
  } catch (const ConfigError& e) {
    cli::report_error(e.what());
    return 2;
  }
  cli::install_stop_at_once();  // train replaces it with its cooperative stop
  return cli::run_parsed(runners, config, config_path);
}
