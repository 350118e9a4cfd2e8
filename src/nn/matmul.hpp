#pragma once
// Internal: the MLP's matrix products, compiled once per CPU level — x86-64 baseline, AVX2 + FMA,
// AVX-512 — and chosen by cpu_level() at each call (OpenBLAS-style dispatch). Each level's file
// includes Eigen under its own namespace name (matmul_kernels.inc), so the three instantiations of
// Eigen's GEMM never meet in the linker.

#include <cstddef>

#include "dsignsgd/core/cpu_level.hpp"

namespace dsignsgd::nn_detail {

/// c (m × n) = op(a) · op(b), every matrix row-major; op(a) is m × k, op(b) is k × n, op(x) = xᵀ
/// when the flag is set (a is then stored k × m, b n × k).
struct MatmulArgs {
  const float* a;
  bool transpose_a;
  const float* b;
  bool transpose_b;
  float* c;
  std::ptrdiff_t m, n, k;
};

namespace baseline {
void matmul(const MatmulArgs& args);
}
namespace avx2 {
void matmul(const MatmulArgs& args);
}
namespace avx512 {
void matmul(const MatmulArgs& args);
}

inline void matmul(const MatmulArgs& args, CpuLevel level = cpu_level()) {
  switch (level) {
    case CpuLevel::kAvx512:
      avx512::matmul(args);
      return;
    case CpuLevel::kAvx2:
      avx2::matmul(args);
      return;
    case CpuLevel::kBaseline:
      baseline::matmul(args);
      return;
  }
}

}  // namespace dsignsgd::nn_detail
