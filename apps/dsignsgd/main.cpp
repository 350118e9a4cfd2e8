// dsignsgd — communication-compressed distributed optimization and its SDE analysis.
// Exit codes: 0 success, 1 runtime failure, 2 invalid input (message names option and value).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>

#include "commands.hpp"
#include "dsignsgd/core/config_error.hpp"
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
  app.set_version_flag("--version", std::string(kVersion) + " (" + kGitCommit + ")");
  app.require_subcommand(1);
  std::map<CLI::App*, cli::Runner> runners;
  const auto add = [&](cli::Runner runner, const char* name) {
    runners[app.get_subcommand(name)] = std::move(runner);
  };
  add(cli::add_train_command(app), "train");
  add(cli::add_sde_command(app), "sde");
  add(cli::add_predict_command(app), "predict");
  add(cli::add_validate_command(app), "validate");
  add(cli::add_scale_command(app), "scale");
  add(cli::add_reproduce_command(app), "reproduce");
  add(cli::add_compare_command(app), "compare");
  add(cli::add_compressor_command(app), "compressor");
  add(cli::add_bench_command(app), "bench");
  add(cli::add_speedup_command(app), "speedup");

  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    // An unknown command is named as such (CLI11 would say "A subcommand is required").
    if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
      std::string names;
      bool known = false;
      for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
        names += (names.empty() ? "" : ", ") + sub->get_name();
        known = known || sub->get_name() == args[0];
      }
      if (!known) {
        std::cerr << "dsignsgd: error: unknown command '" << args[0] << "': must be one of "
                  << names << '\n';
        return 2;
      }
    }
    // --config FILE: turn the file's keys into flags the command line did not give.
    for (std::size_t i = 0; i < args.size(); ++i) {
      std::string path;
      if (args[i] == "--config" && i + 1 < args.size()) path = args[i + 1];
      if (args[i].rfind("--config=", 0) == 0) path = args[i].substr(9);
      if (path.empty() || args.empty()) continue;
      const CLI::App* command = nullptr;
      for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
        if (sub->get_name() == args[0]) command = sub;
      }
      if (command == nullptr) throw ConfigError("config", path, "needs a command before it");
      const auto extra = cli::config_file_arguments(path, *command, args);
      args.insert(args.end(), extra.begin(), extra.end());
      break;
    }
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "dsignsgd: error: " << e.what() << "\n(run 'dsignsgd "
              << (args.empty() ? "" : args[0] + " ") << "--help' for the options)\n";
    return 2;
  } catch (const ConfigError& e) {
    std::cerr << "dsignsgd: error: " << e.what() << '\n';
    return 2;
  }
  for (const auto& [command, runner] : runners) {
    if (command->parsed()) {
      try {
        return runner();
      } catch (const ConfigError& e) {
        std::cerr << "dsignsgd: error: " << e.what() << '\n';
        cli::remove_created_out_dir_if_empty();
        return 2;
      } catch (const std::exception& e) {
        std::cerr << "dsignsgd: failed: " << e.what() << '\n';
        return 1;
      }
    }
  }
  return 2;
}
