#pragma once
// The parts of the dsignsgd._core extension module, each binding one area.
#include <pybind11/pybind11.h>

namespace dsignsgd::python {

/// Compressors and aggregators on NumPy arrays (kernels.cpp).
void bind_kernels(pybind11::module_& m);

/// train, simulate_sde, predict, validate and scale with the CLI's flags (run_api.cpp).
void bind_run_api(pybind11::module_& m);

}  // namespace dsignsgd::python
