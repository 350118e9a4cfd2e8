#include "dsignsgd/optim/method.hpp"

#include <cmath>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/optim/run_plan.hpp"

namespace dsignsgd {
namespace {

struct MethodName {
  Method method;
  const char* name;
};

constexpr MethodName kMethodNames[] = {
    {Method::kDsgd, "dsgd"},
    {Method::kDcsgd, "dcsgd"},
    {Method::kDsignsgd, "dsignsgd"},
    {Method::kMajority, "majority"},
    {Method::kNormalizedDcsgd, "normalized-dcsgd"},
    {Method::kSignum, "signum"},
    {Method::kEfSignsgd, "ef-signsgd"},
};

}  // namespace

std::string to_string(Method method) {
  for (const auto& entry : kMethodNames) {
    if (entry.method == method) return entry.name;
  }
  return "?";
}

std::vector<std::string> method_names() {
  std::vector<std::string> names;
  for (const auto& entry : kMethodNames) names.emplace_back(entry.name);
  return names;
}

Method method_from_string(const std::string& name) {
  for (const auto& entry : kMethodNames) {
    if (name == entry.name) return entry.method;
  }
  std::string list;
  for (const auto& entry : kMethodNames)
    list += (list.empty() ? "" : ", ") + std::string(entry.name);
  throw ConfigError("method", name, "must be one of " + list);
}

std::string default_compressor(Method method) {
  switch (method) {
    case Method::kDsgd:
      return "identity";
    case Method::kDcsgd:
    case Method::kNormalizedDcsgd:
      return "randk:0.1";
    case Method::kEfSignsgd:
      return "scaled-sign";
    default:
      return "sign";
  }
}

MethodParts make_method(const RunPlan& plan, std::size_t dim) {
  MethodParts parts;
  parts.method = plan.method;
  parts.compressor = plan.compressor;
  if (parts.method == Method::kMajority) {
    parts.aggregator = std::make_unique<MajorityVoteAggregator>();
  } else {
    parts.aggregator = std::make_unique<MeanAggregator>();
  }

  if (parts.method == Method::kSignum) {
    const double beta = plan.settings.momentum;
    parts.filter_factory = [beta](std::size_t d) {
      return std::make_unique<MomentumFilter>(d, beta);
    };
  } else if (parts.method == Method::kEfSignsgd) {
    parts.filter_factory = [](std::size_t d) { return std::make_unique<ErrorFeedbackFilter>(d); };
  }

  if (parts.method == Method::kNormalizedDcsgd) {
    if (plan.settings.normalization == Normalization::kPlain) {
      parts.step_rule = std::make_unique<NormalizedStep>(plan.settings.norm_floor);
    } else {
      AdaptiveStepConstants constants;
      constants.l0 = plan.settings.l0;
      constants.l1 = plan.settings.l1;
      constants.sigma0 = plan.settings.sigma0;
      constants.sigma1 = plan.settings.sigma1;
      const double omega = parts.compressor->omega(dim);
      constants.omega = std::isnan(omega) ? 0.0 : omega;
      constants.dim = dim;
      constants.agents = static_cast<std::size_t>(plan.workers);
      parts.step_rule = std::make_unique<AdaptiveNormalizedStep>(constants);
    }
  } else {
    parts.step_rule = std::make_unique<FixedStep>();
  }
  return parts;
}

}  // namespace dsignsgd
