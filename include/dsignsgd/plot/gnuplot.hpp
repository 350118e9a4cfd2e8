#pragma once
/// @file
/// The one place that runs gnuplot (library dsignsgd_plot, outside the core library): renders a
/// gnuplot script the reproduction experiments wrote. The figure files appear only when gnuplot
/// succeeds.

#include <filesystem>

namespace dsignsgd {

/// Runs `gnuplot SCRIPT`; throws std::runtime_error naming the script (and the package to
/// install) when it fails.
void render_gnuplot(const std::filesystem::path& script);

}  // namespace dsignsgd
