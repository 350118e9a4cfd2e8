#pragma once
// The flags of `train` and `sde` on a CLI11 app, and parsing "--key=value" strings with them: one
// definition shared by the dsignsgd program and the Python package (dsignsgd.train(**config) takes
// the same keys), library dsignsgd_cli_options.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "dsignsgd/optim/train_options.hpp"
#include "dsignsgd/sde/simulate.hpp"

namespace dsignsgd::cli {

/// Checks a flag bound to an unsigned integer: digits only. CLI11 would otherwise read "-5" as
/// 2^64 − 5 (issue 13: `--dim -5` was echoed as 18446744073709551611, `--seed -1` became 2^64 − 1).
const CLI::Validator& whole_number();

/// Integers are decimal, one way everywhere (flags, TOML, Python, `scale --change`): "010" is ten
/// (CLI11 alone reads it as octal eight), "0x10" and "1e3" are refused; a real number cannot be
/// hexadecimal ("0x10", "0x1p4"). Attached to every INT/UINT/FLOAT option of `app` and its
/// subcommands (by their type names).
void require_decimal_numbers(CLI::App& app);

/// Registers every TrainOptions field as a flag on `command` (train, sde, compare, predict, …).
void add_train_options(CLI::App& command, TrainOptions& options);
/// --checkpoint-every, --checkpoint-dir, --resume: only for commands that checkpoint (train).
void add_checkpoint_options(CLI::App& command, TrainOptions& options);

/// Registers the SDE model's flags (drift correction, integrator, substeps, covariance).
void add_sde_options(CLI::App& command, SdeOptions& sde);

/// Parses "--key=value" strings (in order) with `parser`'s flags; a CLI11 error becomes a
/// ConfigError naming `option_name` (the flag the strings came from) and the argument at fault —
/// or, with `option_name` empty (keyword arguments of the Python API), naming that argument's
/// key and value. --help and --version are refused: settings never print help.
void parse_arguments(CLI::App& parser, const std::vector<std::string>& args,
                     const std::string& option_name);

/// parse_arguments with the train flags into `options`.
void parse_train_arguments(TrainOptions& options, const std::vector<std::string>& args,
                           const std::string& option_name);

/// parse_arguments with the train and SDE flags (sde, validate); `sde` keeps the defaults the
/// caller set where no flag overrides them.
void parse_sde_arguments(TrainOptions& options, SdeOptions& sde,
                         const std::vector<std::string>& args, const std::string& option_name);

}  // namespace dsignsgd::cli
