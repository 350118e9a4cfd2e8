#pragma once
// The subcommands of the dsignsgd program. Each registers its options on a CLI11 subcommand and
// returns the callback that runs it (returning the process exit code).

#include <CLI/CLI.hpp>
#include <map>
#include <functional>
#include <string>

#include "dsignsgd/optim/train_options.hpp"
#include "options.hpp"

namespace dsignsgd::cli {

using Runner = std::function<int()>;

Runner add_train_command(CLI::App& app);
Runner add_compare_command(CLI::App& app);
Runner add_compressor_command(CLI::App& app);
Runner add_bench_command(CLI::App& app);
Runner add_speedup_command(CLI::App& app);
Runner add_noise_probe_command(CLI::App& app);
Runner add_sde_command(CLI::App& app);
Runner add_predict_command(CLI::App& app);
Runner add_validate_command(CLI::App& app);
Runner add_scale_command(CLI::App& app);
Runner add_reproduce_command(CLI::App& app);

/// --out DIR, --force, --config FILE (read by main before parsing) and --json, with what each
/// command writes named in the help.
void add_output_options(CLI::App& command, std::string& out, std::string& config, bool& json,
                        const std::string& files);
/// --out DIR (its initial value shown as the default when not empty) and --force.
void add_out_option(CLI::App& command, std::string& out, const std::string& files);

/// Refuses (ConfigError naming --out) a path that exists and is not a directory, a directory
/// that already holds results (anything but the checkpoint/ subdirectory a resume reads) unless
/// --force was given, or a directory that cannot be created or written; creates it otherwise,
/// and locks it until the process ends (DirectoryLock: a second job into it is refused).
void prepare_out_dir(const std::string& out);
/// After a refused run (exit 2): removes the --out directory prepare_out_dir created, if nothing
/// was written into it (issue 13: nothing half-written, and no empty directory, after exit 2).
void remove_created_out_dir_if_empty();

/// SIGINT/SIGTERM end the process at once with exit code 130 (docs/USAGE.md), removing an --out
/// it made while still empty (D21: sde, validate, compare, reproduce, … died by the signal). train
/// replaces it with its own cooperative stop (checkpoints, then 130).
void install_stop_at_once();

/// A progress bar on stderr when it is a terminal; nothing otherwise.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  void update(std::uint64_t done, std::uint64_t total);
  void finish();

 private:
  std::string label_;
  bool enabled_;
  int last_percent_ = -1;
};

/// The flags a config file gives, and where each came from.
struct ConfigArguments {
  std::vector<std::string> arguments;             ///< "--key=value", in file order
  std::map<std::string, std::string> origins;     ///< "--key" → "PATH:LINE:COLUMN" of its value
  /// The origin of the flag a CLI11 error message names (e.g. "Could not convert: --lr = abc"),
  /// or "" when it names none of this file's flags.
  std::string origin_of(const std::string& message) const;
};

/// Reads a TOML config file of `key = value` lines (optionally under [command]) and returns the
/// arguments "--key=value" for the keys not already given in argv. Throws ConfigError (for
/// `option`, the flag that named the file) for a path that is not a readable regular file of at
/// most 1 MiB, malformed lines, repeated and unknown keys, each as PATH:LINE:COLUMN. A UTF-8 byte
/// order mark is skipped.
ConfigArguments config_file_arguments(const std::string& path, const CLI::App& command,
                                      const std::vector<std::string>& argv,
                                      const std::string& option = "config");

}  // namespace dsignsgd::cli
