#include "dsignsgd/optim/method.hpp"

#include <cmath>
#include <deque>

#include "dsignsgd/core/assert.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/enum_names.hpp"
#include "dsignsgd/core/join.hpp"
#include "dsignsgd/core/registry.hpp"
#include "dsignsgd/optim/run_plan.hpp"

namespace dsignsgd {
namespace {

constexpr EnumNames<CompressorRule, 4> kCompressorRuleNames{
    "compressors",
    {{{CompressorRule::kIdentity, "identity"},
      {CompressorRule::kSign, "sign"},
      {CompressorRule::kAnyButSign, "any-but-sign"},
      {CompressorRule::kAny, "any"}}}};
constexpr EnumNames<Aggregation, 2> kAggregationNames{
    "aggregation", {{{Aggregation::kMean, "mean"}, {Aggregation::kMajority, "majority"}}}};
constexpr EnumNames<AgentFilterKind, 3> kFilterNames{
    "filter",
    {{{AgentFilterKind::kNone, "none"},
      {AgentFilterKind::kMomentum, "momentum"},
      {AgentFilterKind::kErrorFeedback, "error-feedback"}}}};
constexpr EnumNames<StepRuleKind, 2> kStepRuleNames{
    "step", {{{StepRuleKind::kFixed, "fixed"}, {StepRuleKind::kNormalized, "normalized"}}}};
constexpr EnumNames<ModelFamily, 3> kModelFamilyNames{
    "model",
    {{{ModelFamily::kNone, "none"}, {ModelFamily::kGradient, "gradient"},
      {ModelFamily::kSign, "sign"}}}};

/// The built-in methods (docs/THEORY.md §1), in the order --help lists them.
std::deque<MethodInfo> builtin_methods() {
  using CR = CompressorRule;
  std::deque<MethodInfo> methods;
  methods.push_back({"dsgd", "distributed SGD: agents send fp32 gradients, the server averages",
                     "identity", CR::kIdentity, AgentFilterKind::kNone, Aggregation::kMean,
                     StepRuleKind::kFixed, ModelFamily::kGradient});
  methods.push_back({"dcsgd", "distributed compressed SGD: unbiased compressed gradients averaged",
                     "randk:0.1", CR::kAnyButSign, AgentFilterKind::kNone, Aggregation::kMean,
                     StepRuleKind::kFixed, ModelFamily::kGradient});
  methods.push_back({"dsignsgd", "distributed SignSGD: 1-bit signs averaged", "sign", CR::kSign,
                     AgentFilterKind::kNone, Aggregation::kMean, StepRuleKind::kFixed,
                     ModelFamily::kSign});
  methods.push_back({"majority", "SignSGD with majority vote: the sign of the agents' sign sum",
                     "sign", CR::kSign, AgentFilterKind::kNone, Aggregation::kMajority,
                     StepRuleKind::kFixed, ModelFamily::kSign});
  methods.push_back({"normalized-dcsgd",
                     "DCSGD with a normalized or [B]'s adaptive step ((L0, L1)-smoothness)",
                     "randk:0.1", CR::kAnyButSign, AgentFilterKind::kNone, Aggregation::kMean,
                     StepRuleKind::kNormalized, ModelFamily::kNone});
  methods.push_back({"signum", "signs of each agent's momentum, averaged", "sign", CR::kSign,
                     AgentFilterKind::kMomentum, Aggregation::kMean, StepRuleKind::kFixed,
                     ModelFamily::kNone});
  methods.push_back({"ef-signsgd", "error-feedback SignSGD: scaled signs with each agent's memory",
                     "scaled-sign", CR::kAny, AgentFilterKind::kErrorFeedback,
                     Aggregation::kMean, StepRuleKind::kFixed, ModelFamily::kNone});
  return methods;
}

NamedRegistry<MethodInfo>& registry() {
  static NamedRegistry<MethodInfo> instance(builtin_methods());
  return instance;
}

}  // namespace

std::string to_string(CompressorRule rule) { return kCompressorRuleNames.to_string(rule); }
std::string to_string(Aggregation aggregation) { return kAggregationNames.to_string(aggregation); }
std::string to_string(AgentFilterKind filter) { return kFilterNames.to_string(filter); }
std::string to_string(StepRuleKind step) { return kStepRuleNames.to_string(step); }
std::string to_string(ModelFamily family) { return kModelFamilyNames.to_string(family); }

void MethodInfo::check_compressor(const Compressor& compressor, const std::string& spec) const {
  const std::string given = compressor.name();
  const auto require = [&](const std::string& wanted) {
    if (given != wanted) {
      throw ConfigError("compressor", spec,
                        "--method " + name + " sends " + wanted + " messages; use --compressor " +
                            wanted + " (or --method dcsgd for other compressors)");
    }
  };
  switch (compressors) {
    case CompressorRule::kIdentity:
      require("identity");
      break;
    case CompressorRule::kSign:
      require("sign");
      break;
    case CompressorRule::kAnyButSign:
      if (given == "sign") {
        throw ConfigError("compressor", spec,
                          "sign messages need a sign method: use --method dsignsgd");
      }
      break;
    case CompressorRule::kAny:
      break;
  }
}

const MethodInfo& register_method(MethodInfo info) {
  DSIGNSGD_ASSERT(!info.default_compressor.empty(), "a method needs a default compressor");
  return registry().add(std::move(info));
}

std::vector<const MethodInfo*> registered_methods() { return registry().entries(); }

std::vector<std::string> method_names() {
  std::vector<std::string> names;
  for (const MethodInfo* info : registered_methods()) names.push_back(info->name);
  return names;
}

std::vector<const MethodInfo*> methods_with_model() {
  std::vector<const MethodInfo*> out;
  for (const MethodInfo* info : registered_methods()) {
    if (info->model != ModelFamily::kNone) out.push_back(info);
  }
  return out;
}

const MethodInfo& method_from_string(const std::string& name) {
  for (const MethodInfo* info : registered_methods()) {
    if (info->name == name) return *info;
  }
  throw ConfigError("method", name, "must be one of " + join(method_names(), ", "));
}

MethodParts make_method(const RunPlan& plan, std::size_t dim) {
  MethodParts parts;
  parts.method = plan.method;
  parts.compressor = plan.compressor;
  const MethodInfo& info = *plan.method;
  if (info.aggregation == Aggregation::kMajority) {
    parts.aggregator = std::make_unique<MajorityVoteAggregator>();
  } else {
    parts.aggregator = std::make_unique<MeanAggregator>();
  }

  if (info.filter == AgentFilterKind::kMomentum) {
    const double beta = plan.settings.momentum;
    parts.filter_factory = [beta](std::size_t d) {
      return std::make_unique<MomentumFilter>(d, beta);
    };
  } else if (info.filter == AgentFilterKind::kErrorFeedback) {
    parts.filter_factory = [](std::size_t d) { return std::make_unique<ErrorFeedbackFilter>(d); };
  }

  if (info.step == StepRuleKind::kNormalized) {
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
