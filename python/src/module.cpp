// dsignsgd._core: the C++ library seen from Python (the package dsignsgd wraps it).
#include <pybind11/pybind11.h>

#include "dsignsgd/nn/model.hpp"
#include "dsignsgd/version.hpp"
#include "kernels.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "dsignsgd's C++ core: compressors, aggregators, and the run API";
  m.attr("__version__") = dsignsgd::kVersion;
  dsignsgd::python::bind_kernels(m);
  dsignsgd::python::bind_run_api(m);
  // The module leaves the libtorch models out (one libtorch per process: torch's own).
  dsignsgd::set_missing_model_advice(
      "which the Python package leaves out (it shares the process with PyTorch): run it with "
      "the CLI, `dsignsgd train --problem ...`, or train the model in PyTorch with "
      "dsignsgd.torch's DDP hooks");
}
