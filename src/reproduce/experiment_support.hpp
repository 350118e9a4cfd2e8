#pragma once
// What the experiments of `dsignsgd reproduce` share: number formatting, gnuplot figures, and the
// experiments defined outside experiments.cpp.
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

/// Runs gnuplot on a script; the figure files appear only if it succeeds.
inline void run_gnuplot(const std::filesystem::path& script) {
  const std::string command = "gnuplot '" + script.string() + "' 2>&1";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("gnuplot failed on " + script.string() +
                             " (install gnuplot-nox; make run does)");
  }
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
  run_gnuplot(script);
}

/// An experiment's closing line: where its data is and the command that regenerates it.
inline std::string data_and_command(const std::string& data, const ReproduceOptions& options) {
  return "Data: " + data + ". Regenerate with `" + options.command_line + "`.\n";
}

/// Tells the progress display what runs now.
inline void note(const ReproduceOptions& options, const std::string& what) {
  if (options.progress) options.progress(what);
}

/// Experiments 3, 4 and 6 (robustness.cpp) and 7 (real_data.cpp).
ExperimentReport compression_and_scaling(const ReproduceOptions& options);
ExperimentReport heavy_tails(const ReproduceOptions& options);
ExperimentReport l0l1_smoothness(const ReproduceOptions& options);
ExperimentReport real_data(const ReproduceOptions& options);

}  // namespace dsignsgd::reproduce_detail
