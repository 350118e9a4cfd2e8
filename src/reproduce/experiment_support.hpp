#pragma once
// What the experiments of `dsignsgd reproduce` share: number formatting, gnuplot scripts (rendered
// by the caller), and the experiments defined outside experiments.cpp.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>

#include "dsignsgd/io/report.hpp"
#include "dsignsgd/reproduce/experiments.hpp"

namespace dsignsgd::reproduce_detail {

inline std::string fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*g", digits, value);
  return text;
}

/// Hands a gnuplot script to the caller's renderer (ReproduceOptions::render_figure); without
/// one the script and its data stay, and no figure is made.
inline void render(const ReproduceOptions& options, const std::filesystem::path& script) {
  if (options.render_figure) options.render_figure(script);
}

/// Writes the gnuplot script for PNG and SVG around `body` (the plot commands) and runs it.
inline void plot(const ReproduceOptions& options, const std::string& stem, const std::string& body) {
  std::ostringstream gp;
  for (const char* format : {"png", "svg"}) {
    gp << "set terminal "
       << (std::string(format) == "png" ? "pngcairo size 800,560" : "svg size 800,560")
       << " font ',11'\nset output '" << (options.out / (stem + "." + format)).string()
       << "'\nset datafile separator ','\nset grid\n"
       << body << "\n";
  }
  const std::filesystem::path script = options.out / (stem + ".gp");
  write_file_atomic(script, gp.str());
  render(options, script);
}

/// An experiment's closing line: where its data is and the command that regenerates it.
inline std::string data_and_command(const std::string& data, const ReproduceOptions& options) {
  return "Data: " + data + ". Regenerate with `" + options.command_line + "`.\n";
}

/// Tells the progress display what runs now.
inline void note(const ReproduceOptions& options, const std::string& what) {
  if (options.progress) options.progress(what);
}

/// Experiments 1, 2, 5 and 8 (experiments.cpp), 3, 4 and 6 (robustness.cpp), 7 (real_data.cpp).
ExperimentReport sde_versus_algorithm(const ReproduceOptions& options);
ExperimentReport noise_resilience(const ReproduceOptions& options);
ExperimentReport linear_speedup(const ReproduceOptions& options);
ExperimentReport stability_models(const ReproduceOptions& options);
ExperimentReport compression_and_scaling(const ReproduceOptions& options);
ExperimentReport heavy_tails(const ReproduceOptions& options);
ExperimentReport l0l1_smoothness(const ReproduceOptions& options);
ExperimentReport real_data(const ReproduceOptions& options);

}  // namespace dsignsgd::reproduce_detail
