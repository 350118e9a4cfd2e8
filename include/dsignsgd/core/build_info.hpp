#pragma once
/// @file
/// What identifies a build and a run: the version, the git commit it was built at ("unknown"
/// outside a checkout) and the CPU level its kernels use.
#include <string>

namespace dsignsgd {

/// "0.1.0 (commit 9a63f8d1a388, CPU level avx2)": `dsignsgd --version`, dsignsgd.version().
std::string version_line();
/// The CPU level in use (core/cpu_level.hpp), as summary.json records it.
std::string cpu_level_name();

}  // namespace dsignsgd
