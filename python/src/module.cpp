// dsignsgd._core: the C++ library seen from Python (the package dsignsgd wraps it).
#include <pybind11/pybind11.h>

#include "dsignsgd/version.hpp"
#include "kernels.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "dsignsgd's C++ core: compressors, aggregators, and the run API";
  m.attr("__version__") = dsignsgd::kVersion;
  dsignsgd::python::bind_kernels(m);
  dsignsgd::python::bind_run_api(m);
}
