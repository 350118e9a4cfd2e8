#include "dsignsgd/core/enum_names.hpp"
#include "dsignsgd/optim/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "dsignsgd/core/config_error.hpp"

namespace dsignsgd {
namespace {

class ConstantSchedule final : public Schedule {
 public:
  std::string name() const override { return "const"; }
  double multiplier(std::uint64_t) const override { return 1.0; }
};

class InverseSqrtSchedule final : public Schedule {
 public:
  std::string name() const override { return "invsqrt"; }
  double multiplier(std::uint64_t k) const override {
    return 1.0 / std::sqrt(static_cast<double>(k) + 1.0);
  }
};

class InverseSchedule final : public Schedule {
 public:
  std::string name() const override { return "inv"; }
  double multiplier(std::uint64_t k) const override { return 1.0 / (static_cast<double>(k) + 1.0); }
};

class CosineSchedule final : public Schedule {
 public:
  explicit CosineSchedule(std::uint64_t total) : total_(std::max<std::uint64_t>(total, 1)) {}
  std::string name() const override { return "cosine"; }
  double multiplier(std::uint64_t k) const override {
    return 0.5 * (1.0 + std::cos(std::numbers::pi * static_cast<double>(k) /
                                 static_cast<double>(total_)));
  }

 private:
  std::uint64_t total_;
};

class WarmupSchedule final : public Schedule {
 public:
  WarmupSchedule(std::unique_ptr<Schedule> inner, std::uint64_t warmup)
      : inner_(std::move(inner)), warmup_(warmup) {}
  std::string name() const override { return inner_->name(); }
  double multiplier(std::uint64_t k) const override {
    const double ramp =
        std::min(1.0, (static_cast<double>(k) + 1.0) / static_cast<double>(warmup_));
    return ramp * inner_->multiplier(k);
  }

 private:
  std::unique_ptr<Schedule> inner_;
  std::uint64_t warmup_;
};

}  // namespace

namespace {
constexpr EnumNames<ScheduleKind, 4> kScheduleNames{
    "schedule",
    {{{ScheduleKind::kConst, "const"},
      {ScheduleKind::kInvSqrt, "invsqrt"},
      {ScheduleKind::kInv, "inv"},
      {ScheduleKind::kCosine, "cosine"}}}};
}  // namespace

std::string to_string(ScheduleKind kind) { return kScheduleNames.to_string(kind); }
ScheduleKind schedule_kind_from_string(const std::string& name) {
  return kScheduleNames.from_string(name);
}

std::unique_ptr<Schedule> make_schedule(const ScheduleSpec& spec, std::uint64_t total_steps) {
  std::unique_ptr<Schedule> schedule;
  switch (spec.kind) {
    case ScheduleKind::kConst:
      schedule = std::make_unique<ConstantSchedule>();
      break;
    case ScheduleKind::kInvSqrt:
      schedule = std::make_unique<InverseSqrtSchedule>();
      break;
    case ScheduleKind::kInv:
      schedule = std::make_unique<InverseSchedule>();
      break;
    case ScheduleKind::kCosine:
      schedule = std::make_unique<CosineSchedule>(total_steps);
      break;
  }
  if (spec.warmup > 0) {
    schedule = std::make_unique<WarmupSchedule>(std::move(schedule), spec.warmup);
  }
  return schedule;
}

std::unique_ptr<Schedule> make_schedule(const std::string& name, std::uint64_t total_steps,
                                        std::uint64_t warmup_steps) {
  return make_schedule(ScheduleSpec{schedule_kind_from_string(name), warmup_steps}, total_steps);
}

}  // namespace dsignsgd
