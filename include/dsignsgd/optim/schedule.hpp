#pragma once
/// @file
/// Learning-rate schedules: the step at iteration k is η · η_k with η_k = multiplier(k).
///   const    η_k = 1
///   invsqrt  η_k = 1/√(k+1)
///   inv      η_k = 1/(k+1)
///   cosine   η_k = ½ (1 + cos(π k / K))
/// An optional linear warm-up multiplies by min(1, (k+1)/W).

#include <cstdint>
#include <memory>
#include <string>

namespace dsignsgd {

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual std::string name() const = 0;
  virtual double multiplier(std::uint64_t k) const = 0;
};

enum class ScheduleKind { kConst, kInvSqrt, kInv, kCosine };
std::string to_string(ScheduleKind kind);
/// Throws ConfigError for option "schedule".
ScheduleKind schedule_kind_from_string(const std::string& name);

/// A schedule as resolved: its kind and the warm-up steps.
struct ScheduleSpec {
  ScheduleKind kind = ScheduleKind::kConst;
  std::uint64_t warmup = 0;  ///< linear warm-up steps
};

std::unique_ptr<Schedule> make_schedule(const ScheduleSpec& spec, std::uint64_t total_steps);
/// Parses the name, then builds (throws ConfigError for option "schedule").
std::unique_ptr<Schedule> make_schedule(const std::string& name, std::uint64_t total_steps,
                                        std::uint64_t warmup_steps);

}  // namespace dsignsgd
