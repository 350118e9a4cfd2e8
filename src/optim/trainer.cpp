#include "dsignsgd/optim/trainer.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <thread>

#include "dsignsgd/comm/communicator.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/io/checkpoint.hpp"
#include "dsignsgd/nn/data_problem.hpp"
#include "dsignsgd/core/spec.hpp"

namespace dsignsgd {

// ---- one run ----------------------------------------------------------------------------------

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

StepLoop::StepLoop(std::unique_ptr<GradientOracle> oracle, const MethodParts& parts,
                   const Schedule& schedule, const TrainOptions& options, std::uint32_t run,
                   Communicator* communicator)
    : oracle_(std::move(oracle)),
      parts_(parts),
      schedule_(schedule),
      options_(options),
      run_(run),
      communicator_(communicator != nullptr && communicator->size() > 1 ? communicator
                                                                        : nullptr) {
  const std::size_t d = oracle_->dim();
  x_.resize(d);
  oracle_->initial_point(x_);
  agent_grad_.resize(d);
  direction_.resize(d);
  const auto agents = static_cast<std::size_t>(options.workers);
  messages_.resize(agents);
  if (parts.filter_factory) {
    for (std::size_t i = 0; i < agents; ++i) filters_.push_back(parts.filter_factory(d));
    if (filters_.front()->needs_decoded()) decoded_.resize(d);
  }
}

StreamAddress StepLoop::address(std::uint32_t agent, std::uint32_t step) const {
  return StreamAddress{options_.seed, run_, agent, step, StreamPurpose::kGradientNoise};
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

void StepLoop::apply(std::span<const WireMessage> messages, std::uint32_t step) {
  parts_.aggregator->aggregate(messages, *parts_.compressor, address(0, step), direction_);
  update(step);
}

void StepLoop::update(std::uint32_t step) {
  const double scheduled = options_.lr * schedule_.multiplier(step);
  const auto s = static_cast<float>(parts_.step_rule->step(scheduled, direction_));
  for (std::size_t j = 0; j < x_.size(); ++j) x_[j] -= s * direction_[j];
}

std::pair<std::uint32_t, std::uint32_t> StepLoop::own_agents() const {
  if (communicator_ == nullptr) return {0u, static_cast<std::uint32_t>(messages_.size())};
  const auto per_rank = static_cast<std::uint32_t>(options_.agents_per_rank);
  const std::uint32_t first = static_cast<std::uint32_t>(communicator_->rank()) * per_rank;
  return {first, first + per_rank};
}

void StepLoop::save(CheckpointWriter& out) const {
  out.floats(x_);
  const auto [first, last] = own_agents();
  out.u64(filters_.empty() ? 0 : last - first);
  if (filters_.empty()) return;
  for (std::uint32_t i = first; i < last; ++i) out.floats(filters_[i]->state());
}

void StepLoop::load(CheckpointReader& in) {
  std::vector<float> x = in.floats();
  if (x.size() != x_.size()) throw std::runtime_error("iterate has the wrong dimension");
  x_ = std::move(x);
  const auto [first, last] = own_agents();
  const std::uint64_t count = in.u64();
  if (count != (filters_.empty() ? 0 : last - first)) {
    throw std::runtime_error("agent memories do not match this method and rank");
  }
  for (std::uint32_t i = first; i < first + count; ++i) {
    std::vector<float> state = in.floats();
    if (state.size() != x_.size()) throw std::runtime_error("agent memory has the wrong size");
    filters_[i]->restore(std::move(state));
  }
}

void StepLoop::step(std::uint32_t step) {
  if (communicator_ == nullptr) {
    for (std::uint32_t i = 0; i < messages_.size(); ++i) encode_agent(i, step, messages_[i]);
    apply(messages_, step);
    return;
  }
  if (options_.reduction == "allreduce") {
    // DSGD with MPI_Allreduce: each rank sums its agents' gradients (agent order), the ranks sum
    // those (in MPI's order: not bit-identical to the in-process run), then x ← x − s Σ/N.
    const auto [first, last] = own_agents();
    std::fill(direction_.begin(), direction_.end(), 0.0f);
    for (std::uint32_t i = first; i < last; ++i) {
      oracle_->agent_gradient(x_, i, address(i, step), agent_grad_);
      for (std::size_t j = 0; j < x_.size(); ++j) direction_[j] += agent_grad_[j];
    }
    communicator_->allreduce_sum(direction_);
    const float inv_agents = 1.0f / static_cast<float>(messages_.size());
    for (float& value : direction_) value *= inv_agents;
    update(step);
    return;
  }
  // This rank's agents, packed back to back; every message of a compressor has the same size.
  const auto [first, last] = own_agents();
  const std::uint32_t per_rank = last - first;
  const std::size_t message_bytes = parts_.compressor->wire_bits(x_.size()) / 8;
  local_bytes_.resize(per_rank * message_bytes);
  all_bytes_.resize(messages_.size() * message_bytes);
  for (std::uint32_t i = 0; i < per_rank; ++i) {
    WireMessage& message = messages_[first + i];
    encode_agent(first + i, step, message);
    std::copy(message.bytes.begin(), message.bytes.end(), local_bytes_.begin() + i * message_bytes);
  }
  communicator_->allgather(local_bytes_, all_bytes_);
  for (std::size_t agent = 0; agent < messages_.size(); ++agent) {
    const auto begin = all_bytes_.begin() + static_cast<std::ptrdiff_t>(agent * message_bytes);
    messages_[agent].bytes.assign(begin, begin + static_cast<std::ptrdiff_t>(message_bytes));
  }
  apply(messages_, step);
}

// ---- the driver -------------------------------------------------------------------------------

namespace {

std::size_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return std::numeric_limits<std::size_t>::max();
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size);
}

std::string gib(std::size_t bytes) {
  return format_double(std::round(static_cast<double>(bytes) / (1 << 30) * 100.0) / 100.0) + " GiB";
}

}  // namespace

std::size_t estimate_memory_bytes(const TrainOptions& options, std::size_t dim, int threads) {
  const auto d = static_cast<double>(dim);
  const auto n = static_cast<double>(options.workers);
  // Per active run: x, grad, agent grad, decoded, direction, N filter states, N messages (<= 8d).
  const double per_run = d * 4.0 * 5.0 + n * d * 4.0 + n * (d * 8.0 + 64.0);
  double total = per_run * threads;
  if (options.problem.rotate) total += 2.0 * d * d * 8.0;
  const double bound = static_cast<double>(std::numeric_limits<std::size_t>::max()) / 2;
  return total > bound ? std::numeric_limits<std::size_t>::max() / 2
                       : static_cast<std::size_t>(total);
}

void describe_run(std::size_t d, const std::string& description, double initial_loss,
                  const MethodParts& parts, const TrainOptions& options, TrainResult& result) {
  result.dim = d;
  result.problem_description = description;
  result.omega = parts.compressor->omega(d);
  result.logged_steps = logged_steps(options.steps, options.log_every);
  result.uplink_bits_per_step = parts.compressor->wire_bits(d);
  result.downlink_bits_per_step = parts.aggregator->downlink_bits(
      d, static_cast<std::size_t>(options.workers), *parts.compressor);
  result.initial_loss = initial_loss;
}

int resolved_threads(const TrainOptions& options) {
  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  return std::min(options.threads > 0 ? options.threads : static_cast<int>(hardware), options.runs);
}

void check_memory(const TrainOptions& options, std::size_t dim) {
  const int threads = resolved_threads(options);
  const std::size_t needed = estimate_memory_bytes(options, dim, threads);
  const std::size_t available = physical_memory_bytes();
  if (needed > available / 10 * 8) {
    throw ConfigError("dim", std::to_string(dim),
                      "needs about " + gib(needed) + " of memory with " +
                          std::to_string(options.workers) + " workers and " +
                          std::to_string(threads) + " threads; the machine has " + gib(available));
  }
}

void check_distribution(const TrainOptions& options, Communicator* communicator) {
  if (communicator == nullptr) {
    throw ConfigError("backend", "mpi",
                      "needs a program built with MPI and started with mpirun (this run has no "
                      "communicator)");
  }
  const int ranks = communicator->size();
  if (options.workers != ranks * options.agents_per_rank) {
    throw ConfigError("workers", std::to_string(options.workers),
                      "must equal ranks × --agents-per-rank = " + std::to_string(ranks) + " × " +
                          std::to_string(options.agents_per_rank));
  }
  // Every rank must run the same configuration: compare a hash of the resolved options.
  const std::string text = options_fingerprint(options);
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a
  for (unsigned char ch : text) hash = (hash ^ ch) * 1099511628211ull;
  std::vector<std::uint64_t> hashes(static_cast<std::size_t>(ranks));
  communicator->allgather_u64(hash, hashes);
  for (int r = 0; r < ranks; ++r) {
    if (hashes[static_cast<std::size_t>(r)] != hashes[0]) {
      throw ConfigError("config", "rank " + std::to_string(r),
                        "its resolved configuration differs from rank 0's (every rank must be "
                        "started with the same flags)");
    }
  }
}

double TrainResult::epochs() const {
  if (training_samples == 0) return 0.0;
  return static_cast<double>(options.steps) * options.workers * options.batch /
         static_cast<double>(training_samples);
}

double TrainResult::seconds_per_epoch() const {
  const double e = epochs();
  if (e <= 0.0) return 0.0;
  // `threads` runs advance at once; each run's epochs cost wall × threads / runs.
  return wall_seconds * threads / (static_cast<double>(options.runs) * e);
}

TrainResult train(const TrainOptions& input, const ProgressCallback& progress,
                  Communicator* communicator, const std::function<bool(std::int64_t)>& should_stop) {
  input.validate();
  TrainResult result;
  result.options = input;
  TrainOptions& options = result.options;
  options.problem.seed = options.seed;
  // Data problems: the dimension is the model's parameter count, known once the data is loaded.
  const bool data = is_data_problem(options.problem.problem);
  const std::unique_ptr<DataProblem> data_problem = data ? load_data_problem(options) : nullptr;
  const std::size_t d =
      data ? data_problem->model->parameters() : options.problem.resolved_dim();
  options.problem.dim = d;
  if (data && options.log_every == 0) options.log_every = std::max<std::int64_t>(1, options.steps / 20);
  if (data) check_memory(options, d);
  const bool distributed = options.backend == "mpi";
  if (distributed) check_distribution(options, communicator);
  const int threads = distributed ? 1 : resolved_threads(options);
  result.threads = threads;

  const std::unique_ptr<Problem> problem = data ? nullptr : make_problem(options.problem);
  MethodParts parts = make_method(options, d);
  options.compressor = parts.compressor->name();
  std::vector<double> scales;
  if (!options.agent_scales.empty())
    scales = parse_double_list(options.agent_scales, "agent-scales");
  const NoiseModel noise(NoiseSpec::parse(options.noise), scales, options.batch);
  const auto total_steps = static_cast<std::uint64_t>(options.steps);
  const std::unique_ptr<Schedule> schedule =
      make_schedule(options.schedule, total_steps, static_cast<std::uint64_t>(options.warmup));

  const auto make_oracle = [&](std::uint32_t run) -> std::unique_ptr<GradientOracle> {
    if (data) return make_data_oracle(*data_problem, noise, options, run);
    return std::make_unique<SyntheticOracle>(*problem, noise, options.problem.x0);
  };
  {
    const std::unique_ptr<GradientOracle> first = make_oracle(0);
    std::vector<float> x0(d);
    first->initial_point(x0);
    double unused = 0.0;
    describe_run(d, data ? data_problem->description : problem->describe(),
                 first->evaluate(x0, false, unused), parts, options, result);
  }
  if (data) {
    result.extra_metric_names = data_problem->metric_names;
    result.training_samples = data_problem->train.samples;
  }
  CheckpointOptions checkpoints;
  checkpoints.dir = options.checkpoint_dir;
  checkpoints.every = options.checkpoint_every;
  checkpoints.resume = options.resume;
  checkpoints.fingerprint = options_fingerprint(options);
  checkpoints.rank = distributed ? communicator->rank() : 0;
  checkpoints.ranks = distributed ? communicator->size() : 1;
  checkpoints.should_stop = should_stop;
  const std::uint64_t sent_before = distributed ? communicator->bytes_sent() : 0;
  const std::uint64_t received_before = distributed ? communicator->bytes_received() : 0;
  run_ensemble(
      options, threads,
      [&](std::uint32_t run) {
        return std::make_unique<StepLoop>(make_oracle(run), parts, *schedule, options, run,
                                          distributed ? communicator : nullptr);
      },
      result, progress, &checkpoints);
  if (distributed) {
    TrainResult::Communication& c = result.communication;
    c.backend = options.backend;
    c.ranks = communicator->size();
    c.agents_per_rank = options.agents_per_rank;
    c.bytes_sent = communicator->bytes_sent() - sent_before;
    c.bytes_received = communicator->bytes_received() - received_before;
    // Steps actually exchanged: every run stops at the same step on every rank (replicated x).
    std::uint64_t exchanged = 0;
    for (const RunTrace& run : result.runs) {
      exchanged += static_cast<std::uint64_t>(run.diverged ? run.diverged_at : options.steps);
    }
    const std::uint64_t message_bytes = result.uplink_bits_per_step / 8;
    const auto others = static_cast<std::uint64_t>(options.workers - options.agents_per_rank);
    c.collective = options.reduction == "allreduce"
                       ? "MPI_Allreduce of each rank's fp32 gradient sum (summation order up to "
                         "MPI: not bit-identical to the in-process run)"
                       : "allgather of the agents' encoded messages in agent order; every rank "
                         "aggregates them (bit-identical to the in-process run)";
    if (options.reduction == "allreduce") {  // one fp32 vector each way, no header
      c.declared_bytes_sent = exchanged * 4 * d;
      c.declared_bytes_received = exchanged * 4 * d;
    } else {
      c.declared_bytes_sent = exchanged * options.agents_per_rank * message_bytes;
      c.declared_bytes_received = exchanged * others * message_bytes;
    }
  }
  return result;
}

}  // namespace dsignsgd
