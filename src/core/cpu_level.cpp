#include "dsignsgd/core/cpu_level.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string_view>

namespace dsignsgd {
namespace {

CpuLevel detect() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma")) {
    return CpuLevel::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CpuLevel::kAvx2;
  return CpuLevel::kBaseline;
}

/// The detected level, lowered by DSIGNSGD_CPU when it names a known level.
CpuLevel initial_level() {
  const CpuLevel detected = detect();
  const char* text = std::getenv("DSIGNSGD_CPU");
  if (text == nullptr) return detected;
  const std::string_view name(text);
  CpuLevel wanted = detected;
  if (name == "baseline") wanted = CpuLevel::kBaseline;
  if (name == "avx2") wanted = CpuLevel::kAvx2;
  if (name == "avx512") wanted = CpuLevel::kAvx512;
  return std::min(wanted, detected);
}

std::atomic<CpuLevel>& current() {
  static std::atomic<CpuLevel> level{initial_level()};
  return level;
}

}  // namespace

std::string to_string(CpuLevel level) {
  switch (level) {
    case CpuLevel::kBaseline:
      return "baseline";
    case CpuLevel::kAvx2:
      return "avx2";
    case CpuLevel::kAvx512:
      return "avx512";
  }
  return "baseline";
}

CpuLevel detected_cpu_level() {
  static const CpuLevel level = detect();
  return level;
}

CpuLevel cpu_level() { return current().load(std::memory_order_relaxed); }

CpuLevel set_cpu_level(CpuLevel level) {
  const CpuLevel used = std::min(level, detected_cpu_level());
  current().store(used, std::memory_order_relaxed);
  return used;
}

std::vector<CpuLevel> available_cpu_levels() {
  std::vector<CpuLevel> levels;
  for (CpuLevel level : {CpuLevel::kBaseline, CpuLevel::kAvx2, CpuLevel::kAvx512}) {
    if (level <= detected_cpu_level()) levels.push_back(level);
  }
  return levels;
}

}  // namespace dsignsgd
