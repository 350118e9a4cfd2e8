#include "dsignsgd/optim/trainer.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <thread>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"

namespace dsignsgd {

// ---- one run ----------------------------------------------------------------------------------

StepLoop::StepLoop(const Problem& problem, const NoiseModel& noise, const MethodParts& parts,
                   const Schedule& schedule, const TrainOptions& options, std::uint32_t run)
    : problem_(problem),
      noise_(noise),
      parts_(parts),
      schedule_(schedule),
      options_(options),
      run_(run) {
  const std::size_t d = problem.dim();
  x_.assign(d, static_cast<float>(options.problem.x0));
  grad_.resize(d);
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

double StepLoop::evaluate() {
  const double loss = problem_.loss_and_gradient(x_, grad_) - problem_.optimal_loss();
  grad_norm_ = l2_norm(grad_);
  return loss;
}

void StepLoop::encode_agent(std::uint32_t agent, std::uint32_t step, WireMessage& message) {
  const StreamAddress addr = address(agent, step);
  RandomStream rng(addr);
  noise_.sample(grad_, grad_norm_, agent, rng, agent_grad_);
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
  const double scheduled = options_.lr * schedule_.multiplier(step);
  const auto s = static_cast<float>(parts_.step_rule->step(scheduled, direction_));
  for (std::size_t j = 0; j < x_.size(); ++j) x_[j] -= s * direction_[j];
}

void StepLoop::step(std::uint32_t step) {
  for (std::uint32_t i = 0; i < messages_.size(); ++i) encode_agent(i, step, messages_[i]);
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

TrainResult train(const TrainOptions& input, const ProgressCallback& progress) {
  input.validate();
  TrainResult result;
  result.options = input;
  TrainOptions& options = result.options;
  options.problem.seed = options.seed;
  const std::size_t d = options.problem.resolved_dim();
  options.problem.dim = d;
  const int threads = resolved_threads(options);
  result.threads = threads;

  const std::unique_ptr<Problem> problem = make_problem(options.problem);
  MethodParts parts = make_method(options, d);
  options.compressor = parts.compressor->name();
  std::vector<double> scales;
  if (!options.agent_scales.empty())
    scales = parse_double_list(options.agent_scales, "agent-scales");
  const NoiseModel noise(NoiseSpec::parse(options.noise), scales, options.batch);
  const auto total_steps = static_cast<std::uint64_t>(options.steps);
  const std::unique_ptr<Schedule> schedule =
      make_schedule(options.schedule, total_steps, static_cast<std::uint64_t>(options.warmup));

  result.dim = d;
  result.problem_description = problem->describe();
  result.omega = parts.compressor->omega(d);
  result.logged_steps = logged_steps(options.steps, options.log_every);
  result.uplink_bits_per_step = parts.compressor->wire_bits(d);
  result.downlink_bits_per_step = parts.aggregator->downlink_bits(
      d, static_cast<std::size_t>(options.workers), *parts.compressor);
  {
    std::vector<float> x0(d, static_cast<float>(options.problem.x0));
    result.initial_loss = problem->loss(x0) - problem->optimal_loss();
  }
  run_ensemble(
      options, threads,
      [&](std::uint32_t run) {
        return std::make_unique<StepLoop>(*problem, noise, parts, *schedule, options, run);
      },
      result, progress);
  return result;
}

}  // namespace dsignsgd
