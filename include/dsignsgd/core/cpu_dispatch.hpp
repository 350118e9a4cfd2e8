#pragma once
// Kernels compiled once per CPU level and chosen at each call by cpu_level() (core/cpu_level.hpp):
// AVX-512, AVX2 + FMA or the x86-64 baseline, OpenBLAS-style. Each level computes the same numbers
// (the library is built with -ffp-contract=off, so FMA is never contracted in); only the speed
// differs. Because the choice is an ordinary branch (no ifunc resolver), DSIGNSGD_CPU and
// set_cpu_level() can force any level the machine has, and the tests compare the levels in one
// process.
//
//   DSIGNSGD_DISPATCHED(void, scale, (float* v, std::size_t n, float a), (v, n, a)) {
//     for (std::size_t i = 0; i < n; ++i) v[i] *= a;
//   }
//
// defines scale(v, n, a) and three copies of the body (scale_avx512, scale_avx2, scale_baseline),
// each the body inlined into a function compiled for its level.

#include "dsignsgd/core/cpu_level.hpp"

#define DSIGNSGD_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define DSIGNSGD_TARGET_AVX2 __attribute__((target("avx2,fma")))

#define DSIGNSGD_DISPATCHED(ret, name, params, args)                                            \
  [[gnu::always_inline]] inline ret name##_body params;                                         \
  [[maybe_unused]] DSIGNSGD_TARGET_AVX512 ret name##_avx512 params { return name##_body args; } \
  [[maybe_unused]] DSIGNSGD_TARGET_AVX2 ret name##_avx2 params { return name##_body args; }     \
  [[maybe_unused]] ret name##_baseline params { return name##_body args; }                      \
  ret name params {                                                                             \
    switch (::dsignsgd::cpu_level()) {                                                          \
      case ::dsignsgd::CpuLevel::kAvx512:                                                       \
        return name##_avx512 args;                                                              \
      case ::dsignsgd::CpuLevel::kAvx2:                                                         \
        return name##_avx2 args;                                                                \
      case ::dsignsgd::CpuLevel::kBaseline:                                                     \
        break;                                                                                  \
    }                                                                                           \
    return name##_baseline args;                                                                \
  }                                                                                             \
  [[gnu::always_inline]] inline ret name##_body params
