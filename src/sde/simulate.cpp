#include "dsignsgd/sde/simulate.hpp"

#include <bit>
#include <cmath>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/optim/checkpoint.hpp"
#include "dsignsgd/optim/schedule.hpp"
#include "dsignsgd/sde/integrator.hpp"

namespace dsignsgd {

SdePlan SdePlan::resolve(const SdeOptions& options, const RunPlan& plan) {
  SdePlan out;
  out.drift_correction = drift_correction_from_string(options.drift_correction);
  out.integrator = integrator_from_string(options.integrator);
  const int m = options.substeps;
  if (m < 1 || m > kMaxSubsteps || !std::has_single_bit(static_cast<unsigned>(m))) {
    throw ConfigError("substeps", std::to_string(m),
                      "must be a power of two in [1, " + std::to_string(kMaxSubsteps) + "]");
  }
  out.substeps = m;
  // Accepted and ignored would be a lie: the SDE is simulated in one process, and only an
  // unbiased compressor has a compression covariance.
  if (plan.backend == Backend::kMpi) {
    throw ConfigError("backend", to_string(plan.backend),
                      "the SDE is simulated in one process: --backend mpi (with "
                      "--agents-per-rank, --reduction, --comm-timeout) is train's");
  }
  const bool compresses = plan.method->model == ModelFamily::kGradient && !plan.method->dense();
  if (!options.compression_covariance.empty() && !compresses) {
    throw ConfigError("compression-covariance", options.compression_covariance,
                      "models an unbiased compressor's covariance (DCSGD with a compressor); "
                      "--method " + plan.method->name + " has none");
  }
  if (!options.compression_covariance.empty()) {
    out.covariance = compression_covariance_from_string(options.compression_covariance);
  } else {
    // QSGD's and natural compression's variance depends on the vector rounded: the declared ω
    // is only a bound (the surrogate's floors were 1.04–168× the method's, issue 26), the Monte
    // Carlo average of the exact conditional variance is the method's (docs/SDE.md).
    out.covariance = plan.compressor->covariance_form() == CovarianceForm::kSampling
                         ? CompressionCovariance::kExact
                         : CompressionCovariance::kMonteCarlo;
  }
  return out;
}

namespace {

class SdePath final : public RunStepper {
 public:
  SdePath(const SdeSystem& system, std::unique_ptr<SdeIntegrator> integrator,
          const Schedule& schedule, const RunPlan& plan, int substeps, std::uint32_t path)
      : system_(system),
        integrator_(std::move(integrator)),
        schedule_(schedule),
        plan_(plan),
        substeps_(substeps),
        path_(path),
        model_rng_(StreamAddress{plan.seed, path, 0, 0, StreamPurpose::kSdeModel}) {
    const std::size_t d = system.problem().dim();
    x_.assign(d, static_cast<float>(plan.problem.x0));
    increments_.resize(d * static_cast<std::size_t>(substeps));
  }

  double evaluate(bool /*logged*/) override {
    // Monte Carlo covariance draws are keyed by (path, step), like the algorithm's noise.
    model_rng_ =
        RandomStream(StreamAddress{plan_.seed, path_, 0, next_step_, StreamPurpose::kSdeModel});
    system_.evaluate(x_, current_step_size(), c_, model_rng_);
    return c_.loss;
  }
  double grad_norm() const override { return c_.grad_norm; }
  void save(CheckpointWriter& out) const override {
    out.floats(x_);
    out.u64(next_step_);
  }
  void load(CheckpointReader& in, std::int64_t step) override {
    std::vector<float> x = in.floats();
    if (x.size() != x_.size()) {
      throw CheckpointError("its state has dimension " + std::to_string(x.size()) +
                               ", this model has " + std::to_string(x_.size()));
    }
    const std::uint64_t next = in.u64();
    if (next != static_cast<std::uint64_t>(step)) {
      throw CheckpointError("its path stands at step " + std::to_string(next) +
                               ", its header at step " + std::to_string(step));
    }
    x_ = std::move(x);
    next_step_ = static_cast<std::uint32_t>(next);
  }

  void step(std::uint32_t k) override {
    const double dt = plan_.lr * schedule_.multiplier(k);
    const double h = dt / substeps_;
    const std::size_t d = x_.size();
    brownian_increments(plan_.seed, path_, k, dt, d, substeps_, increments_);
    for (int m = 0; m < substeps_; ++m) {
      if (m > 0) system_.evaluate(x_, dt, c_, model_rng_);
      integrator_->substep(system_, x_, dt, h,
                           std::span<const float>(increments_).subspan(m * d, d), c_, model_rng_);
    }
    next_step_ = k + 1;
  }

 private:
  double current_step_size() const { return plan_.lr * schedule_.multiplier(next_step_); }

  const SdeSystem& system_;
  std::unique_ptr<SdeIntegrator> integrator_;
  const Schedule& schedule_;
  const RunPlan& plan_;
  int substeps_;
  std::uint32_t path_;
  std::uint32_t next_step_ = 0;
  RandomStream model_rng_;
  std::vector<float> x_;
  std::vector<float> increments_;
  SdeCoefficients c_;
};

}  // namespace

SdeResult simulate_sde(const TrainOptions& options, const SdeOptions& sde,
                       const Callbacks& callbacks) {
  const RunPlan plan = make_run_plan(options);
  return simulate_sde(plan, SdePlan::resolve(sde, plan), callbacks);
}

SdeResult simulate_sde(const RunPlan& input, const SdePlan& sde, const Callbacks& callbacks) {
  SdeResult out;
  TrainResult& result = out.result;
  result.plan = input;
  const RunPlan& plan = result.plan;
  if (plan.has_data) {
    throw ConfigError("problem", plan.problem.name,
                      "has no SDE model: the SDE side needs a synthetic problem (quadratic, "
                      "quartic, cosh)");
  }
  const std::size_t d = plan.problem.dim;
  const MethodParts parts = make_method(plan, d);
  const std::unique_ptr<Problem> problem = make_problem(seeded_problem(plan));
  const std::unique_ptr<SdeModel> model = make_sde_model(plan, sde.covariance);
  const SdeSystem system(*problem, *model, sde.drift_correction);
  const std::unique_ptr<SdeIntegrator> probe = make_integrator(sde.integrator);
  if (probe->weak_order() == 2 && !model->additive_noise() &&
      !(model->coordinatewise_diffusion() && problem->separable())) {
    throw ConfigError("integrator", to_string(sde.integrator),
                      "is weak order 2 only for additive noise or coordinate-wise diffusion on a "
                      "separable problem; this model (" + model->covariance_description() +
                          (problem->separable() ? "" : ", rotated problem") + ") needs euler");
  }
  const std::unique_ptr<Schedule> schedule =
      make_schedule(plan.schedule, static_cast<std::uint64_t>(plan.steps));

  out.model = model->name();
  out.covariance = model->covariance_description();
  out.integrator = probe->name();
  out.weak_order = probe->weak_order();
  const std::vector<float> x0(d, static_cast<float>(plan.problem.x0));
  const double f0 = problem->loss(x0) - problem->optimal_loss();
  require_finite_start(plan, f0);
  describe_run(d, problem->describe(), f0, parts, plan, result);
  const int threads = resolved_threads(plan);
  result.threads = threads;
  run_ensemble(
      plan, threads,
      [&](std::uint32_t path) {
        return std::make_unique<SdePath>(system, make_integrator(sde.integrator), *schedule, plan,
                                         sde.substeps, path);
      },
      result, callbacks);
  return out;
}

}  // namespace dsignsgd
