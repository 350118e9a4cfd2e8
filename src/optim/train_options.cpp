#include "dsignsgd/optim/train_options.hpp"

#include <cmath>
#include <filesystem>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/optim/method.hpp"
#include "dsignsgd/optim/schedule.hpp"
#include "dsignsgd/nn/data_problem.hpp"
#include "dsignsgd/optim/trainer.hpp"

namespace dsignsgd {
namespace {

constexpr std::int64_t kMaxSteps = std::int64_t{1} << 32;  // step index is a 32-bit counter

}  // namespace

void TrainOptions::validate() const {
  const Method m = method_from_string(method);
  if (workers < 1) throw ConfigError("workers", std::to_string(workers), "must be >= 1");
  if (workers > (1 << 20)) {
    throw ConfigError("workers", std::to_string(workers), "must be <= 2^20");
  }
  if (runs < 1) throw ConfigError("runs", std::to_string(runs), "must be >= 1");
  if (threads < 0) throw ConfigError("threads", std::to_string(threads), "must be >= 0");
  const bool data = is_data_problem(problem.problem);
  if (data) {
    if (split != "iid" && split != "label-skew") {
      throw ConfigError("split", split, "must be iid or label-skew");
    }
    if (context < 2 || context > 4096) {
      throw ConfigError("context", std::to_string(context), "must be in [2, 4096]");
    }
    if (eval_batch < 1) throw ConfigError("eval-batch", std::to_string(eval_batch), "must be >= 1");
    if (!(weight_decay >= 0.0)) {
      throw ConfigError("weight-decay", format_double(weight_decay), "must be >= 0");
    }
  } else {
    if (problem.problem != "quadratic" && problem.problem != "quartic" &&
        problem.problem != "cosh") {
      std::string names = "quadratic, quartic, cosh";
      for (const std::string& name : data_problem_names()) names += ", " + name;
      throw ConfigError("problem", problem.problem, "must be one of " + names);
    }
    problem.validate();
  }
  const std::size_t dim = data ? 1 : problem.resolved_dim();
  if (!data) check_memory(*this, dim);
  make_method(*this, dim);  // method/compressor compatibility
  const NoiseSpec noise_spec = NoiseSpec::parse(noise);
  (void)noise_spec;
  if (!agent_scales.empty()) {
    const std::vector<double> scales = parse_double_list(agent_scales, "agent-scales");
    if (scales.size() != static_cast<std::size_t>(workers)) {
      throw ConfigError("agent-scales", agent_scales,
                        "needs one scale per agent (" + std::to_string(workers) + ")");
    }
    for (double s : scales) {
      if (s < 0.0) throw ConfigError("agent-scales", agent_scales, "scales must be >= 0");
    }
  }
  if (batch < 1) throw ConfigError("batch", std::to_string(batch), "must be >= 1");
  if (!(lr > 0.0) || !std::isfinite(lr)) {
    throw ConfigError("lr", format_double(lr), "must be > 0 and finite");
  }
  if (steps < 1 || steps >= kMaxSteps) {
    throw ConfigError("steps", std::to_string(steps), "must be in [1, 2^32)");
  }
  if (warmup < 0) throw ConfigError("warmup", std::to_string(warmup), "must be >= 0");
  make_schedule(schedule, static_cast<std::uint64_t>(steps), 0);
  if (!(tail_fraction > 0.0 && tail_fraction <= 1.0)) {
    throw ConfigError("tail-fraction", format_double(tail_fraction), "must be in (0, 1]");
  }
  if (log_every < 0) throw ConfigError("log-every", std::to_string(log_every), "must be >= 0");
  if (!(momentum >= 0.0 && momentum < 1.0)) {
    throw ConfigError("momentum", format_double(momentum), "must be in [0, 1)");
  }
  if (normalization != "plain" && normalization != "adaptive") {
    throw ConfigError("normalization", normalization, "must be plain or adaptive");
  }
  if (m == Method::kNormalizedDcsgd && normalization == "adaptive") {
    if (!(l0 >= 0.0)) throw ConfigError("l0", format_double(l0), "must be >= 0");
    if (!(l1 >= 0.0)) throw ConfigError("l1", format_double(l1), "must be >= 0");
    if (l0 == 0.0 && l1 == 0.0) throw ConfigError("l0", "0", "L0 and L1 cannot both be 0");
  }
  if (!(norm_floor > 0.0)) {
    throw ConfigError("norm-floor", format_double(norm_floor), "must be > 0");
  }
  if (backend != "local" && backend != "mpi") {
    throw ConfigError("backend", backend, "must be local or mpi");
  }
  if (agents_per_rank < 1) {
    throw ConfigError("agents-per-rank", std::to_string(agents_per_rank), "must be >= 1");
  }
  if (!(comm_timeout > 0.0 && comm_timeout <= 3600.0)) {
    throw ConfigError("comm-timeout", format_double(comm_timeout), "must be in (0, 3600] seconds");
  }
  if (reduction != "fixed" && reduction != "allreduce") {
    throw ConfigError("reduction", reduction, "must be fixed or allreduce");
  }
  if (reduction == "allreduce" && m != Method::kDsgd) {
    throw ConfigError("reduction", reduction,
                      "applies to --method dsgd only (the other methods exchange compressed "
                      "messages)");
  }
  if (checkpoint_every < 0) {
    throw ConfigError("checkpoint-every", std::to_string(checkpoint_every), "must be >= 0");
  }
  if (checkpoint_every > 0 && checkpoint_dir.empty()) {
    throw ConfigError("checkpoint-every", std::to_string(checkpoint_every),
                      "needs a place for the checkpoints: give --out (they go to OUT/checkpoint) "
                      "or --checkpoint-dir");
  }
  if (!resume.empty() && !std::filesystem::is_directory(resume)) {
    throw ConfigError("resume", resume, "is not a directory of checkpoints");
  }
  if (!(divergence_factor > 1.0)) {
    throw ConfigError("divergence-factor", format_double(divergence_factor), "must be > 1");
  }
}

nlohmann::json options_json(const TrainOptions& o) {
  return {{"method", o.method},
          {"compressor", o.compressor},
          {"problem", o.problem.problem},
          {"dim", o.problem.dim},
          {"hessian", o.problem.hessian},
          {"rotate", o.problem.rotate},
          {"x0", o.problem.x0},
          {"x-star", o.problem.x_star},
          {"noise", o.noise},
          {"agent-scales", o.agent_scales},
          {"workers", o.workers},
          {"batch", o.batch},
          {"lr", o.lr},
          {"schedule", o.schedule},
          {"warmup", o.warmup},
          {"steps", o.steps},
          {"runs", o.runs},
          {"seed", o.seed},
          {"tail-fraction", o.tail_fraction},
          {"log-every", o.log_every},
          {"momentum", o.momentum},
          {"normalization", o.normalization},
          {"l0", o.l0},
          {"l1", o.l1},
          {"sigma0", o.sigma0},
          {"sigma1", o.sigma1},
          {"norm-floor", o.norm_floor},
          {"divergence-factor", o.divergence_factor},
          {"backend", o.backend},
          {"agents-per-rank", o.agents_per_rank},
          {"reduction", o.reduction},
          {"data-dir", o.data_dir},
          {"hidden", o.hidden},
          {"arch", o.arch},
          {"context", o.context},
          {"split", o.split},
          {"eval-batch", o.eval_batch},
          {"weight-decay", o.weight_decay}};
}

std::string options_fingerprint(const TrainOptions& options) {
  return options_json(options).dump();
}

}  // namespace dsignsgd
