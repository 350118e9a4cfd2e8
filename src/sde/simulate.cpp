#include "dsignsgd/sde/simulate.hpp"

#include <bit>
#include <cmath>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/io/checkpoint.hpp"
#include "dsignsgd/optim/schedule.hpp"
#include "dsignsgd/sde/integrator.hpp"

namespace dsignsgd {

void SdeOptions::validate() const {
  drift_correction_from_string(drift_correction);
  make_integrator(integrator);
  if (substeps < 1 || substeps > 1024 || !std::has_single_bit(static_cast<unsigned>(substeps))) {
    throw ConfigError("substeps", std::to_string(substeps), "must be a power of two in [1, 1024]");
  }
  if (!compression_covariance.empty()) compression_covariance_from_string(compression_covariance);
}

CompressionCovariance resolved_covariance(const SdeOptions& sde, const std::string& compressor) {
  if (!sde.compression_covariance.empty()) {
    return compression_covariance_from_string(sde.compression_covariance);
  }
  const bool exact = compressor.empty() || compressor.rfind("randk", 0) == 0 ||
                     compressor == "identity";
  return exact ? CompressionCovariance::kExact : CompressionCovariance::kSurrogate;
}

namespace {

class SdePath final : public RunStepper {
 public:
  SdePath(const SdeSystem& system, std::unique_ptr<SdeIntegrator> integrator,
          const Schedule& schedule, const TrainOptions& options, int substeps, std::uint32_t path)
      : system_(system),
        integrator_(std::move(integrator)),
        schedule_(schedule),
        options_(options),
        substeps_(substeps),
        path_(path),
        model_rng_(StreamAddress{options.seed, path, 0, 0, StreamPurpose::kSdeModel}) {
    const std::size_t d = system.problem().dim();
    x_.assign(d, static_cast<float>(options.problem.x0));
    increments_.resize(d * static_cast<std::size_t>(substeps));
  }

  double evaluate(bool /*logged*/) override {
    // Monte Carlo covariance draws are keyed by (path, step), like the algorithm's noise.
    model_rng_ =
        RandomStream(StreamAddress{options_.seed, path_, 0, next_step_, StreamPurpose::kSdeModel});
    system_.evaluate(x_, current_step_size(), c_, model_rng_);
    return c_.loss;
  }
  double grad_norm() const override { return c_.grad_norm; }
  void save(CheckpointWriter& out) const override {
    out.floats(x_);
    out.u64(next_step_);
  }
  void load(CheckpointReader& in) override {
    x_ = in.floats();
    next_step_ = static_cast<std::uint32_t>(in.u64());
  }

  void step(std::uint32_t k) override {
    const double dt = options_.lr * schedule_.multiplier(k);
    const double h = dt / substeps_;
    const std::size_t d = x_.size();
    brownian_increments(options_.seed, path_, k, dt, d, substeps_, increments_);
    for (int m = 0; m < substeps_; ++m) {
      if (m > 0) system_.evaluate(x_, dt, c_, model_rng_);
      integrator_->substep(system_, x_, dt, h,
                           std::span<const float>(increments_).subspan(m * d, d), c_, model_rng_);
    }
    next_step_ = k + 1;
  }

 private:
  double current_step_size() const { return options_.lr * schedule_.multiplier(next_step_); }

  const SdeSystem& system_;
  std::unique_ptr<SdeIntegrator> integrator_;
  const Schedule& schedule_;
  const TrainOptions& options_;
  int substeps_;
  std::uint32_t path_;
  std::uint32_t next_step_ = 0;
  RandomStream model_rng_;
  std::vector<float> x_;
  std::vector<float> increments_;
  SdeCoefficients c_;
};

}  // namespace

SdeResult simulate_sde(const TrainOptions& input, const SdeOptions& sde,
                       const ProgressCallback& progress) {
  input.validate();
  sde.validate();
  SdeResult out;
  TrainResult& result = out.result;
  result.options = input;
  TrainOptions& options = result.options;
  options.problem.seed = options.seed;
  const std::size_t d = options.problem.resolved_dim();
  options.problem.dim = d;
  const MethodParts parts = make_method(options, d);
  options.compressor = parts.compressor->name();

  const CompressionCovariance covariance = resolved_covariance(sde, options.compressor);
  const std::unique_ptr<Problem> problem = make_problem(options.problem);
  const std::unique_ptr<SdeModel> model = make_sde_model(options, d, covariance);
  const SdeSystem system(*problem, *model, drift_correction_from_string(sde.drift_correction));
  const std::unique_ptr<SdeIntegrator> probe = make_integrator(sde.integrator);
  if (probe->weak_order() == 2 && !model->additive_noise() &&
      !(model->coordinatewise_diffusion() && problem->separable())) {
    throw ConfigError("integrator", sde.integrator,
                      "is weak order 2 only for additive noise or coordinate-wise diffusion on a "
                      "separable problem; this model (" + model->covariance_description() +
                          (problem->separable() ? "" : ", rotated problem") + ") needs euler");
  }
  const auto total_steps = static_cast<std::uint64_t>(options.steps);
  const std::unique_ptr<Schedule> schedule =
      make_schedule(options.schedule, total_steps, static_cast<std::uint64_t>(options.warmup));

  out.model = model->name();
  out.covariance = model->covariance_description();
  out.integrator = probe->name();
  out.weak_order = probe->weak_order();
  const std::vector<float> x0(d, static_cast<float>(options.problem.x0));
  describe_run(d, problem->describe(), problem->loss(x0) - problem->optimal_loss(), parts, options,
               result);
  const int threads = resolved_threads(options);
  result.threads = threads;
  run_ensemble(
      options, threads,
      [&](std::uint32_t path) {
        return std::make_unique<SdePath>(system, make_integrator(sde.integrator), *schedule,
                                         options, sde.substeps, path);
      },
      result, progress);
  return out;
}

}  // namespace dsignsgd
