#pragma once
/// @file
/// A distributed method (docs/THEORY.md §1) is one `MethodInfo`: a composition of pluggable
/// pieces plus the facts the layers above ask about it, registered once. The built-in ones:
///
/// | method            | agent filter    | compressor (default)  | aggregation | step rule        | model    |
/// |-------------------|-----------------|-----------------------|-------------|------------------|----------|
/// | dsgd              | –               | identity (only)       | mean        | fixed            | gradient |
/// | dcsgd             | –               | randk:0.1 (not sign)  | mean        | fixed            | gradient |
/// | dsignsgd          | –               | sign (only)           | mean        | fixed            | sign     |
/// | majority          | –               | sign (only)           | majority    | fixed            | sign     |
/// | normalized-dcsgd  | –               | randk:0.1 (not sign)  | mean        | normalized or    | –        |
/// |                   |                 |                       |             | adaptive ([B])   |          |
/// | signum            | momentum β      | sign (only)           | mean        | fixed            | –        |
/// | ef-signsgd        | error feedback  | scaled-sign (any)     | mean        | fixed            | –        |
///
/// Update: x ← x − s_k ĝ_k with s_k from the step rule applied to η·η_k.
///
/// No layer above optim/ names a method: the run plan, the exchange, the SDE models, the
/// closed-form floors, the scaling rules and the Python hooks read these fields. Adding a method
/// is one `register_method` call (docs/ARCHITECTURE.md, "Adding a method").

#include <memory>
#include <string>
#include <vector>

#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/optim/agent_filter.hpp"
#include "dsignsgd/optim/aggregator.hpp"
#include "dsignsgd/optim/step_rule.hpp"

namespace dsignsgd {

/// Which compressors a method sends.
enum class CompressorRule {
  kIdentity,     ///< fp32 messages only (DSGD)
  kSign,         ///< 1-bit sign messages only (the sign methods)
  kAnyButSign,   ///< any compressor but sign, whose messages need a sign method (DCSGD)
  kAny,          ///< any compressor (EF-SignSGD)
};
/// How the server combines the agents' decoded messages.
enum class Aggregation { kMean, kMajority };
/// What each agent applies to its gradient before encoding it.
enum class AgentFilterKind { kNone, kMomentum, kErrorFeedback };
/// How the aggregated direction becomes a step: η·ĝ, or normalized ([B], MethodSettings).
enum class StepRuleKind { kFixed, kNormalized };
/// Which of [A]'s models describes the method — its SDE, its closed-form stationary floor on a
/// quadratic and its scaling rules (docs/THEORY.md §2–§3):
enum class ModelFamily {
  kNone,      ///< none yet: `sde`, `predict`'s floor and `scale` say so
  kGradient,  ///< unbiased messages averaged (DSGD, DCSGD): drift −∇f, noise + compression covariance
  kSign,      ///< sign messages averaged or voted (DSignSGD, majority): drift −E[sign(∇f + Z)]
};

std::string to_string(CompressorRule rule);
std::string to_string(Aggregation aggregation);
std::string to_string(AgentFilterKind filter);
std::string to_string(StepRuleKind step);
std::string to_string(ModelFamily family);

/// Everything other layers know about a method.
struct MethodInfo {
  std::string name;                ///< --method value, e.g. "majority"
  std::string summary;             ///< one line for docs and listings
  std::string default_compressor;  ///< the --compressor spec when none is given
  CompressorRule compressors = CompressorRule::kAny;
  AgentFilterKind filter = AgentFilterKind::kNone;
  Aggregation aggregation = Aggregation::kMean;
  StepRuleKind step = StepRuleKind::kFixed;
  ModelFamily model = ModelFamily::kNone;

  bool majority_vote() const { return aggregation == Aggregation::kMajority; }
  /// Its messages are fp32 gradients: they may be summed by a ring allreduce, and its SDE has no
  /// compression term.
  bool dense() const { return compressors == CompressorRule::kIdentity; }

  /// Throws ConfigError (option "compressor", value `spec`) when the method does not send the
  /// messages of `compressor`.
  void check_compressor(const Compressor& compressor, const std::string& spec) const;
};

/// Adds a method (its name must be new: DSIGNSGD_ASSERT) and returns it. The built-in methods are
/// registered before the first lookup; a program or test may add its own at start-up.
const MethodInfo& register_method(MethodInfo info);
/// The registered methods in registration order (built-ins first).
std::vector<const MethodInfo*> registered_methods();
std::vector<std::string> method_names();
/// The registered methods whose ModelFamily is not kNone (an SDE, a floor, scaling rules).
std::vector<const MethodInfo*> methods_with_model();
/// Throws ConfigError for option "method" ("must be one of …").
const MethodInfo& method_from_string(const std::string& name);

/// A method is named by its registry entry; entries live as long as the program.
using Method = const MethodInfo*;

struct RunPlan;

/// The pieces one step is made of, built from a run plan.
struct MethodParts {
  Method method = nullptr;
  std::shared_ptr<const Compressor> compressor;
  std::unique_ptr<Aggregator> aggregator;
  AgentFilterFactory filter_factory;  ///< empty: no per-agent filter
  std::unique_ptr<StepRule> step_rule;
};

/// The aggregator, agent filter and step rule of plan.method around plan.compressor, for
/// dimension `dim` (the adaptive step's constants depend on it).
MethodParts make_method(const RunPlan& plan, std::size_t dim);

}  // namespace dsignsgd
