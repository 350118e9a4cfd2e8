// A --config file for `train`, through the whole path a user's file takes: the TOML reader, the
// flags parser and the run plan (every value range-checked). Refusals are ConfigError or CLI11's
// ParseError (main reports both with exit 2); anything else is a finding.
#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/optim/run_plan.hpp"
#include "fuzz_support.hpp"

using namespace dsignsgd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::write_input("config.toml", data, size);
  TrainOptions options;
  CLI::App command{"", "train"};
  cli::add_train_options(command, options);
  cli::add_checkpoint_options(command, options);
  try {
    const cli::ConfigArguments config = cli::config_file_arguments(path.string(), command, {});
    std::vector<std::string> reversed(config.arguments.rbegin(), config.arguments.rend());
    command.parse(reversed);
    options.resume.clear();          // no file system side trips
    options.checkpoint_dir.clear();
    options.checkpoint_every = 0;
    make_run_plan(options);
  } catch (const ConfigError&) {
  } catch (const CLI::ParseError&) {
  }
  return 0;
}
