#include "dsignsgd/plot/gnuplot.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace dsignsgd {

void render_gnuplot(const std::filesystem::path& script) {
  const std::string command = "gnuplot '" + script.string() + "' 2>&1";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("gnuplot failed on " + script.string() +
                             " (install gnuplot-nox; make run does)");
  }
}

}  // namespace dsignsgd
