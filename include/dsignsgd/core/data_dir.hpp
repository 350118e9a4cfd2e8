#pragma once
/// @file
/// Where the real data sets are: the default of every `--data-dir`, found without depending on
/// the working directory.

#include <string>

namespace dsignsgd {

/// The environment variable that overrides the recorded data directory.
inline constexpr const char* kDataDirEnv = "DSIGNSGD_DATA_DIR";

/// $DSIGNSGD_DATA_DIR when it is set and not empty; otherwise the directory the build recorded
/// (CMake's DSIGNSGD_DATA_DIR, by default <source tree>/data, where `make run` and `make test`
/// have scripts/install_data.sh put the data). An explicit `--data-dir` wins over both.
std::string default_data_dir();

}  // namespace dsignsgd
