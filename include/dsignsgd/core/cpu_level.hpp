#pragma once
/// @file
/// The CPU level the hand-dispatched kernels run at: the best the machine has (x86-64 baseline,
/// AVX2 with FMA, AVX-512), detected once at start-up. `DSIGNSGD_CPU=baseline|avx2|avx512` in the
/// environment, or set_cpu_level(), lowers it (never above what the machine has) — to compare
/// levels in one process (the tests) or to reproduce another machine's agent-local numbers.
///
/// What replicas share is the same at every level: compressor encodings, the aggregated
/// direction and the update of x (docs/METHODS.md). Model gradients (the MLP's matrix products
/// use FMA from AVX2 on) may differ in the last bits between levels.

#include <string>
#include <vector>

namespace dsignsgd {

enum class CpuLevel { kBaseline = 0, kAvx2 = 1, kAvx512 = 2 };

/// "baseline", "avx2", "avx512".
std::string to_string(CpuLevel level);
/// The best level this machine supports.
CpuLevel detected_cpu_level();
/// The level in use: the detected one, lowered by DSIGNSGD_CPU or set_cpu_level().
CpuLevel cpu_level();
/// Uses min(level, detected_cpu_level()) from now on; returns the level now in use. Not meant to
/// be called while kernels run on other threads.
CpuLevel set_cpu_level(CpuLevel level);
/// Every level this machine can run, lowest first.
std::vector<CpuLevel> available_cpu_levels();

}  // namespace dsignsgd
