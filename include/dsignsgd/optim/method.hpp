#pragma once
/// @file
/// The distributed methods (docs/THEORY.md §1) as compositions of pluggable pieces:
///
/// | method            | agent filter    | compressor (default)  | aggregation | step rule        |
/// |-------------------|-----------------|-----------------------|-------------|------------------|
/// | dsgd              | –               | identity (only)       | mean        | fixed            |
/// | dcsgd             | –               | randk:0.1 (any)       | mean        | fixed            |
/// | dsignsgd          | –               | sign (only)           | mean        | fixed            |
/// | majority          | –               | sign (only)           | majority    | fixed            |
/// | normalized-dcsgd  | –               | randk:0.1 (any)       | mean        | normalized or    |
/// |                   |                 |                       |             | adaptive ([B])   |
/// | signum            | momentum β      | sign (only)           | mean        | fixed            |
/// | ef-signsgd        | error feedback  | scaled-sign (any)     | mean        | fixed            |
///
/// Update: x ← x − s_k ĝ_k with s_k from the step rule applied to η·η_k.

#include <memory>
#include <string>
#include <vector>

#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/optim/agent_filter.hpp"
#include "dsignsgd/optim/aggregator.hpp"
#include "dsignsgd/optim/step_rule.hpp"

namespace dsignsgd {

enum class Method { kDsgd, kDcsgd, kDsignsgd, kMajority, kNormalizedDcsgd, kSignum, kEfSignsgd };

std::string to_string(Method method);
/// Throws ConfigError for option "method".
Method method_from_string(const std::string& name);
std::vector<std::string> method_names();
/// The compressor a method uses when --compressor is not given.
std::string default_compressor(Method method);

struct RunPlan;

/// The pieces one step is made of, built from a run plan.
struct MethodParts {
  Method method = Method::kDsignsgd;
  std::shared_ptr<const Compressor> compressor;
  std::unique_ptr<Aggregator> aggregator;
  AgentFilterFactory filter_factory;  ///< empty: no per-agent filter
  std::unique_ptr<StepRule> step_rule;
};

/// The aggregator, agent filter and step rule of plan.method around plan.compressor, for
/// dimension `dim` (the adaptive step's constants depend on it).
MethodParts make_method(const RunPlan& plan, std::size_t dim);

}  // namespace dsignsgd
