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

std::unique_ptr<Schedule> make_schedule(const std::string& name, std::uint64_t total_steps,
                                        std::uint64_t warmup_steps) {
  std::unique_ptr<Schedule> schedule;
  if (name == "const") {
    schedule = std::make_unique<ConstantSchedule>();
  } else if (name == "invsqrt") {
    schedule = std::make_unique<InverseSqrtSchedule>();
  } else if (name == "inv") {
    schedule = std::make_unique<InverseSchedule>();
  } else if (name == "cosine") {
    schedule = std::make_unique<CosineSchedule>(total_steps);
  } else {
    throw ConfigError("schedule", name, "must be one of const, invsqrt, inv, cosine");
  }
  if (warmup_steps > 0) {
    schedule = std::make_unique<WarmupSchedule>(std::move(schedule), warmup_steps);
  }
  return schedule;
}

}  // namespace dsignsgd
