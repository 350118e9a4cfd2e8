#include "dsignsgd/optim/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <stdexcept>

#include "dsignsgd/comm/communicator.hpp"
#include "dsignsgd/core/atomic_file.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/fnv1a.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/optim/callbacks.hpp"
#include "dsignsgd/optim/checkpoint.hpp"

namespace dsignsgd {

// ---- one run ----------------------------------------------------------------------------------

StepLoop::StepLoop(std::unique_ptr<GradientOracle> oracle, const MethodParts& parts,
                   const Schedule& schedule, const RunPlan& plan, std::uint32_t run,
                   std::unique_ptr<Exchange> exchange)
    : oracle_(std::move(oracle)),
      parts_(parts),
      schedule_(schedule),
      plan_(plan),
      run_(run),
      exchange_(std::move(exchange)) {
  const std::size_t d = oracle_->dim();
  x_.resize(d);
  oracle_->initial_point(x_);
  agent_grad_.resize(d);
  direction_.resize(d);
  const auto agents = static_cast<std::size_t>(plan.workers);
  messages_.resize(agents);
  if (parts.filter_factory) {
    for (std::size_t i = 0; i < agents; ++i) filters_.push_back(parts.filter_factory(d));
    if (filters_.front()->needs_decoded()) decoded_.resize(d);
  }
}

StreamAddress StepLoop::address(std::uint32_t agent, std::uint32_t step) const {
  return StreamAddress{plan_.seed, run_, agent, step, StreamPurpose::kGradientNoise};
}

double StepLoop::evaluate(bool logged) { return oracle_->evaluate(x_, logged, grad_norm_); }

void StepLoop::encode_agent(std::uint32_t agent, std::uint32_t step, WireMessage& message) {
  const StreamAddress addr = address(agent, step);
  oracle_->agent_gradient(x_, agent, addr, agent_grad_);
  AgentFilter* filter = filters_.empty() ? nullptr : filters_[agent].get();
  if (filter != nullptr) filter->before_encode(agent_grad_);
  parts_.compressor->encode(agent_grad_, addr, message);
  if (filter != nullptr && filter->needs_decoded()) {
    parts_.compressor->decode(message, addr, decoded_);
    filter->after_encode(agent_grad_, decoded_);
  }
}

void StepLoop::step(std::uint32_t step) {
  const AgentRange local = exchange_->local_agents();
  for (std::uint32_t i = local.first; i < local.last; ++i) encode_agent(i, step, messages_[i]);
  exchange_->reduce(messages_, *parts_.aggregator, *parts_.compressor, address(0, step),
                    direction_);
  // x ← x − s ĝ with the step rule applied to η·η_k and ĝ.
  const double scheduled = plan_.lr * schedule_.multiplier(step);
  const auto s = static_cast<float>(parts_.step_rule->step(scheduled, direction_));
  for (std::size_t j = 0; j < x_.size(); ++j) x_[j] -= s * direction_[j];
}

void StepLoop::save(CheckpointWriter& out) const {
  out.floats(x_);
  const AgentRange local = exchange_->local_agents();
  out.u64(filters_.empty() ? 0 : local.size());
  if (filters_.empty()) return;
  for (std::uint32_t i = local.first; i < local.last; ++i) out.floats(filters_[i]->state());
}

void StepLoop::load(CheckpointReader& in, std::int64_t /*step*/) {
  const auto finite = [](const std::vector<float>& v) {
    return std::all_of(v.begin(), v.end(), [](float value) { return std::isfinite(value); });
  };
  std::vector<float> x = in.floats();
  if (x.size() != x_.size()) {
    throw CheckpointError("its iterate has dimension " + std::to_string(x.size()) +
                          ", this problem has " + std::to_string(x_.size()));
  }
  if (!finite(x)) throw CheckpointError("its iterate is not finite in a run that had not diverged");
  x_ = std::move(x);
  const AgentRange local = exchange_->local_agents();
  const std::uint64_t count = in.u64();
  const std::uint64_t expected = filters_.empty() ? 0 : local.size();
  if (count != expected) {
    throw CheckpointError("it holds " + std::to_string(count) + " agent memories, this method " +
                          "and rank keep " + std::to_string(expected));
  }
  for (std::uint32_t i = local.first; i < local.first + count; ++i) {
    std::vector<float> state = in.floats();
    if (state.size() != x_.size()) {
      throw CheckpointError("agent " + std::to_string(i) + "'s memory has " +
                            std::to_string(state.size()) + " coordinates, not " +
                            std::to_string(x_.size()));
    }
    if (!finite(state))
      throw CheckpointError("agent " + std::to_string(i) + "'s memory is not finite");
    filters_[i]->restore(std::move(state));
  }
}

// ---- the driver -------------------------------------------------------------------------------

namespace {

/// Every rank's `text`, in rank order (a collective: lengths first, then the padded bytes).
std::vector<std::string> gather_strings(Communicator* communicator, const std::string& text) {
  const auto ranks = static_cast<std::size_t>(communicator->size());
  std::vector<std::uint64_t> lengths(ranks);
  communicator->allgather_u64(text.size(), lengths);
  const std::size_t width = *std::max_element(lengths.begin(), lengths.end());
  std::vector<std::uint8_t> mine(width, 0), all(width * ranks);
  std::copy(text.begin(), text.end(), mine.begin());
  communicator->allgather(mine, all);
  std::vector<std::string> out;
  for (std::size_t r = 0; r < ranks; ++r) {
    out.emplace_back(reinterpret_cast<const char*>(all.data() + r * width), lengths[r]);
  }
  return out;
}

/// Under MPI: the agents must split evenly over the ranks and every rank must run the same plan.
void check_distribution(const RunPlan& plan, Communicator* communicator) {
  if (communicator == nullptr) {
    throw ConfigError("backend", "mpi",
                      "needs a program built with MPI and started with mpirun (this run has no "
                      "communicator)");
  }
  const int ranks = communicator->size();
  agree_on_failure(communicator, [&] {  // a rank started with other flags must not hang the rest
    if (plan.workers != ranks * plan.agents_per_rank) {
      throw ConfigError("workers", std::to_string(plan.workers),
                        "must equal ranks × --agents-per-rank = " + std::to_string(ranks) + " × " +
                            std::to_string(plan.agents_per_rank));
    }
  });
  // Every rank must run the same configuration: compare a hash of the resolved plan; where
  // they differ, gather the plans and name the first differing option.
  const std::string fingerprint = plan_fingerprint(plan);
  std::vector<std::uint64_t> hashes(static_cast<std::size_t>(ranks));
  communicator->allgather_u64(fnv1a64(fingerprint), hashes);
  for (int r = 1; r < ranks; ++r) {
    if (hashes[static_cast<std::size_t>(r)] == hashes[0]) continue;
    const std::vector<std::string> plans = gather_strings(communicator, fingerprint);
    const auto differences = fingerprint_differences(plans[0], plans[static_cast<std::size_t>(r)]);
    const std::string rule = "every rank must be started with the same flags";
    if (differences.empty()) {
      throw ConfigError("config", "rank " + std::to_string(r),
                        "its resolved configuration differs from rank 0's (" + rule + ")");
    }
    const FingerprintDifference& d = differences.front();
    throw ConfigError(d.key, d.now,
                      "on rank " + std::to_string(r) + " differs from rank 0's '" + d.before +
                          "' (" + rule + "; all that differs: " +
                          describe_difference(plans[0], plans[static_cast<std::size_t>(r)]) + ")");
  }
}

/// The checkpoint directory, made now (by rank 0 under MPI) and locked for the job: a second job
/// on the same directory is refused instead of overwriting and then deleting this one's files.
/// Whether it existed before decides whether it is removed at the end (never a directory the
/// user made; always the job's own, and the --resume directory it continues in).
std::unique_ptr<DirectoryLock> claim_checkpoint_dir(CheckpointSettings& settings) {
  if (settings.dir.empty()) return nullptr;
  std::error_code error;
  std::uint64_t existed = std::filesystem::exists(settings.dir, error) ? 1 : 0;
  if (settings.communicator != nullptr) {  // rank 0's view, before rank 0 creates it
    std::vector<std::uint64_t> all(static_cast<std::size_t>(settings.communicator->size()));
    settings.communicator->allgather_u64(existed, all);
    existed = all[0];
  }
  settings.remove_dir_when_done = existed == 0 || settings.dir == settings.resume;
  std::unique_ptr<DirectoryLock> lock;
  agree_on_failure(settings.communicator, [&] {
    if (settings.rank != 0) return;
    std::filesystem::create_directories(settings.dir, error);
    if (error) {
      throw ConfigError("checkpoint-dir", settings.dir.string(),
                        "cannot be created: " + error.message());
    }
    lock = std::make_unique<DirectoryLock>("checkpoint-dir", settings.dir);
  });
  return lock;
}

/// What a job is made of before its first step: the problem, the method, the schedule.
struct JobParts {
  std::unique_ptr<ProblemSource> source;
  MethodParts parts;
  std::unique_ptr<Schedule> schedule;
};

/// fp16 messages cannot carry a gradient beyond 65504: where the start point's already is, every
/// run would send inf and be reported "diverged" at its first step. Refused up front instead.
void refuse_fp16_overflow_at_x0(const RunPlan& plan, GradientOracle& oracle,
                                std::span<const float> x0) {
  if (plan.has_data || !plan.compressor || plan.compressor->code() != CompressorCode::kFp16) return;
  std::vector<float> gradient(x0.size());
  oracle.loss_gradient(x0, gradient);
  double largest = 0.0;
  for (float g : gradient) largest = std::max(largest, std::abs(static_cast<double>(g)));
  if (largest > 65504.0) {
    throw ConfigError("x0", format_double(plan.problem.x0),
                      "the gradient at x0 reaches " + format_double(largest) +
                          ", beyond fp16's largest value 65504: --compressor fp16 would send inf "
                          "(choose a smaller start point, or --compressor bf16)");
  }
}

/// Builds the job's parts and describes the run into `result`; under MPI every rank agrees on
/// whether this worked (a data file or memory limit one rank alone fails on ends every rank).
JobParts make_job(RunPlan& plan, const NoiseModel& noise, int threads, Communicator* communicator,
                  TrainResult& result) {
  JobParts job;
  agree_on_failure(plan.backend == Backend::kMpi ? communicator : nullptr, [&] {
    job.source = make_problem_source(plan, noise, threads);
    const std::size_t d = job.source->dim();
    plan.problem.dim = d;
    check_memory(plan, d);
    job.parts = make_method(plan, d);
    job.schedule = make_schedule(plan.schedule, static_cast<std::uint64_t>(plan.steps));
    const std::unique_ptr<GradientOracle> first = job.source->make_oracle(0);
    std::vector<float> x0(d);
    first->initial_point(x0);
    double unused = 0.0;
    const double f0 = first->evaluate(x0, false, unused);
    require_finite_start(plan, f0);
    refuse_fp16_overflow_at_x0(plan, *first, x0);
    describe_run(d, job.source->describe(), f0, job.parts, plan, result);
  });
  return job;
}

/// What the job handed to MPI against what the exchange declares for the steps it took.
void record_communication(const Communicator& communicator, std::uint64_t sent_before,
                          std::uint64_t received_before, std::size_t d, std::size_t message_bytes,
                          TrainResult& result) {
  const RunPlan& plan = result.plan;
  TrainResult::Communication& c = result.communication;
  c.backend = to_string(plan.backend);
  c.ranks = communicator.size();
  c.agents_per_rank = plan.agents_per_rank;
  c.bytes_sent = communicator.bytes_sent() - sent_before;
  c.bytes_received = communicator.bytes_received() - received_before;
  // Steps this job exchanged: every run stops at the same step on every rank (replicated x);
  // a resumed run counts from where its checkpoint stood (the bytes before were an earlier
  // job's).
  std::uint64_t exchanged = 0;
  for (const RunTrace& run : result.runs) {
    const std::int64_t end = run.diverged          ? run.diverged_at
                             : run.stopped_at >= 0 ? run.stopped_at
                                                   : plan.steps;
    exchanged += static_cast<std::uint64_t>(std::max<std::int64_t>(0, end - run.first_step));
  }
  const ExchangeCost cost = exchange_cost(plan, d, message_bytes);
  c.collective = cost.collective;
  c.declared_bytes_sent = exchanged * cost.declared_sent_per_step;
  c.declared_bytes_received = exchanged * cost.declared_received_per_step;
}

}  // namespace

TrainResult train(const TrainOptions& options, const Callbacks& callbacks,
                  Communicator* communicator) {
  return train(make_run_plan(options), callbacks, communicator);
}

TrainResult train(const RunPlan& input, const Callbacks& callbacks, Communicator* communicator) {
  TrainResult result;
  result.plan = input;
  RunPlan& plan = result.plan;
  const bool distributed = plan.backend == Backend::kMpi;
  if (distributed) check_distribution(plan, communicator);
  const int threads = resolved_threads(plan);
  result.threads = threads;

  const NoiseModel noise(plan.noise, plan.agent_scales, plan.batch);
  const JobParts job = make_job(plan, noise, threads, communicator, result);
  const std::unique_ptr<ProblemSource>& source = job.source;
  const MethodParts& parts = job.parts;
  const Schedule& schedule = *job.schedule;
  const std::size_t d = source->dim();
  const std::size_t message_bytes = parts.compressor->wire_bits(d) / 8;
  result.extra_metric_names = source->metric_names();
  result.training_samples = source->training_samples();

  CheckpointSettings settings;
  settings.dir = plan.checkpoint_dir;
  settings.every = plan.checkpoint_every;
  settings.resume = plan.resume;
  settings.fingerprint = plan_fingerprint(plan);
  settings.rank = distributed ? communicator->rank() : 0;
  settings.ranks = distributed ? communicator->size() : 1;
  settings.communicator = distributed ? communicator : nullptr;
  const std::unique_ptr<DirectoryLock> checkpoint_lock = claim_checkpoint_dir(settings);
  // A job that fails leaves no empty checkpoint directory it made (an interrupted one has files).
  const struct RemoveIfEmptyOnFailure {
    std::filesystem::path dir;
    ~RemoveIfEmptyOnFailure() {
      std::error_code ignored;
      if (!dir.empty() && std::uncaught_exceptions() > 0) std::filesystem::remove(dir, ignored);
    }
  } cleanup{settings.remove_dir_when_done && settings.dir != settings.resume
                ? settings.dir
                : std::filesystem::path()};
  Checkpointing checkpointing(settings);
  Callbacks all = callbacks;
  if (!settings.dir.empty() || !settings.resume.empty()) all.insert(all.begin(), &checkpointing);

  const std::uint64_t sent_before = distributed ? communicator->bytes_sent() : 0;
  const std::uint64_t received_before = distributed ? communicator->bytes_received() : 0;
  try {
    run_ensemble(
        plan, threads,
        [&](std::uint32_t run) {
          return std::make_unique<StepLoop>(source->make_oracle(run), parts, schedule, plan, run,
                                            make_exchange(plan, communicator, message_bytes));
        },
        result, all);
  } catch (const Interrupted&) {
    throw Interrupted(settings.dir.empty()
                          ? std::string("stopped on request; no checkpoint was written (give "
                                        "--out or --checkpoint-dir to be able to resume)")
                          : "stopped on request; checkpoints written to " + settings.dir.string());
  }
  if (distributed) {
    record_communication(*communicator, sent_before, received_before, d, message_bytes, result);
  }
  return result;
}

}  // namespace dsignsgd
