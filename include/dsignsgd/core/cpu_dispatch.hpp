#pragma once
// Kernels compiled once per CPU level and chosen when the program is loaded (GCC/Clang
// target_clones: an ifunc resolver picks AVX-512, AVX2 or the x86-64 baseline). Each clone
// computes the same numbers; only the speed differs.
//
// Under ThreadSanitizer the clones are left out: the dynamic loader runs ifunc resolvers before
// the sanitizer runtime is initialized, and an instrumented resolver crashes the program before
// main (`make tsan`). That build computes the same numbers with the baseline code.

#if defined(__SANITIZE_THREAD__)
#define DSIGNSGD_CPU_CLONES
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DSIGNSGD_CPU_CLONES
#endif
#endif

#ifndef DSIGNSGD_CPU_CLONES
#define DSIGNSGD_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
