// dsignsgd._core: the C++ library seen from Python (the package dsignsgd wraps it).
#include <pybind11/pybind11.h>

#include "dsignsgd/nn/model.hpp"
#include "dsignsgd/core/build_info.hpp"
#include "dsignsgd/version.hpp"
#include "kernels.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "dsignsgd's C++ core: compressors, aggregators, and the run API";
  // PEP 440: the commit as a local label ("0.1.0+g9a63f8d1a388"); version() is the CLI's line.
  const std::string commit = dsignsgd::kGitCommit;
  m.attr("__version__") =
      std::string(dsignsgd::kVersion) + (commit == "unknown" ? "+unknown" : "+g" + commit);
  m.def("version", &dsignsgd::version_line,
        "\"0.1.0 (commit 9a63f8d1a388, CPU level avx2)\": version, git commit, CPU level in use");
  dsignsgd::python::bind_kernels(m);
  dsignsgd::python::bind_run_api(m);
  // The module leaves the libtorch models out (one libtorch per process: torch's own).
  dsignsgd::set_missing_model_advice(
      "which the Python package leaves out (it shares the process with PyTorch): run it with "
      "the CLI, `dsignsgd train --problem ...`, or train the model in PyTorch with "
      "dsignsgd.torch's DDP hooks");
}
