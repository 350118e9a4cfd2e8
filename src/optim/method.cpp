#include "dsignsgd/optim/method.hpp"

#include <cmath>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/optim/train_options.hpp"

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

MethodParts make_method(const TrainOptions& options, std::size_t dim) {
  MethodParts parts;
  parts.method = method_from_string(options.method);
  const std::string compressor_spec =
      options.compressor.empty() ? default_compressor(parts.method) : options.compressor;
  parts.compressor = make_compressor(compressor_spec);
  const std::string given = parts.compressor->name();

  const auto require = [&](const std::string& wanted) {
    if (given != wanted) {
      throw ConfigError("compressor", compressor_spec,
                        "--method " + options.method + " sends " + wanted +
                            " messages; use --compressor " + wanted +
                            " (or --method dcsgd for other compressors)");
    }
  };
  switch (parts.method) {
    case Method::kDsgd:
      require("identity");
      break;
    case Method::kDsignsgd:
    case Method::kMajority:
    case Method::kSignum:
      require("sign");
      break;
    case Method::kDcsgd:
    case Method::kNormalizedDcsgd:
      if (given == "sign") {
        throw ConfigError("compressor", compressor_spec,
                          "sign messages need a sign method: use --method dsignsgd");
      }
      break;
    case Method::kEfSignsgd:
      break;
  }

  if (parts.method == Method::kMajority) {
    parts.aggregator = std::make_unique<MajorityVoteAggregator>();
  } else {
    parts.aggregator = std::make_unique<MeanAggregator>();
  }

  if (parts.method == Method::kSignum) {
    const double beta = options.momentum;
    parts.filter_factory = [beta](std::size_t d) {
      return std::make_unique<MomentumFilter>(d, beta);
    };
  } else if (parts.method == Method::kEfSignsgd) {
    parts.filter_factory = [](std::size_t d) { return std::make_unique<ErrorFeedbackFilter>(d); };
  }

  if (parts.method == Method::kNormalizedDcsgd) {
    if (options.normalization == "plain") {
      parts.step_rule = std::make_unique<NormalizedStep>(options.norm_floor);
    } else {
      const NoiseSpec noise = NoiseSpec::parse(options.noise);
      AdaptiveStepConstants constants;
      constants.l0 = options.l0;
      constants.l1 = options.l1;
      const bool affine = noise.kind == NoiseKind::kAffine;
      constants.sigma0 = options.sigma0 >= 0 ? options.sigma0 : (affine ? noise.sigma0 : 0.0);
      constants.sigma1 = options.sigma1 >= 0                  ? options.sigma1
                         : affine                             ? noise.sigma1
                         : noise.kind == NoiseKind::kRelative ? noise.sigma
                                                              : 0.0;
      const double omega = parts.compressor->omega(dim);
      constants.omega = std::isnan(omega) ? 0.0 : omega;
      constants.dim = dim;
      constants.agents = static_cast<std::size_t>(options.workers);
      parts.step_rule = std::make_unique<AdaptiveNormalizedStep>(constants);
    }
  } else {
    parts.step_rule = std::make_unique<FixedStep>();
  }
  return parts;
}

}  // namespace dsignsgd
