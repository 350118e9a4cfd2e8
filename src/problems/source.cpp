#include "dsignsgd/core/enum_names.hpp"
#include "dsignsgd/problems/source.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/norm.hpp"

namespace dsignsgd {

namespace {
constexpr EnumNames<DataSplit, 2> kDataSplitNames{
    "split", {{{DataSplit::kIid, "iid"}, {DataSplit::kLabelSkew, "label-skew"}}}};
}  // namespace

std::string to_string(DataSplit split) { return kDataSplitNames.to_string(split); }
DataSplit data_split_from_string(const std::string& name) {
  return kDataSplitNames.from_string(name);
}

// ---- the synthetic oracle and source ---------------------------------------------------------

void SyntheticOracle::initial_point(std::span<float> x) const {
  std::fill(x.begin(), x.end(), static_cast<float>(x0_));
}

double SyntheticOracle::evaluate(std::span<const float> x, bool /*want_grad_norm*/,
                                 double& grad_norm) {
  const double loss = problem_.loss_and_gradient(x, grad_) - problem_.optimal_loss();
  grad_norm_ = l2_norm(grad_);
  grad_norm = grad_norm_;
  return loss;
}

void SyntheticOracle::agent_gradient(std::span<const float>, std::uint32_t agent,
                                     const StreamAddress& address, std::span<float> out) {
  RandomStream rng(address);
  noise_.sample(grad_, grad_norm_, agent, rng, out);
}

namespace {

class SyntheticSource final : public ProblemSource {
 public:
  SyntheticSource(const ProblemSpec& spec, const NoiseModel& noise)
      : problem_(make_problem(spec)), noise_(noise), x0_(spec.x0) {}
  std::size_t dim() const override { return problem_->dim(); }
  std::string describe() const override { return problem_->describe(); }
  std::unique_ptr<GradientOracle> make_oracle(std::uint32_t) const override {
    return std::make_unique<SyntheticOracle>(*problem_, noise_, x0_);
  }

 private:
  std::unique_ptr<Problem> problem_;
  const NoiseModel& noise_;
  double x0_;
};

struct Registry {
  std::mutex mutex;
  std::vector<ProblemEntry> entries;
};

Registry& registry() {
  static Registry* instance = [] {
    auto* r = new Registry;
    for (const std::string& name : synthetic_problem_names()) {
      ProblemEntry entry;
      entry.name = name;
      entry.make = [](const ProblemSpec& spec, const DataSpec&, const ProblemContext& context) {
        return make_synthetic_source(spec, context);
      };
      r->entries.push_back(std::move(entry));
    }
    return r;
  }();
  return *instance;
}

}  // namespace

std::unique_ptr<ProblemSource> make_synthetic_source(const ProblemSpec& spec,
                                                     const ProblemContext& context) {
  return std::make_unique<SyntheticSource>(spec, *context.noise);
}

void register_problem(ProblemEntry entry) {
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  for (ProblemEntry& existing : r.entries) {
    if (existing.name == entry.name) {
      existing = std::move(entry);
      return;
    }
  }
  r.entries.push_back(std::move(entry));
}

const ProblemEntry* find_problem(const std::string& name) {
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  for (const ProblemEntry& entry : r.entries) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

std::vector<std::string> problem_names() {
  Registry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names;
  for (const ProblemEntry& entry : r.entries) names.push_back(entry.name);
  return names;
}

}  // namespace dsignsgd
