#pragma once
/// @file
/// The training driver: R independent runs of one distributed method, in parallel threads.
///
/// One step k of one run (the only step loop in the library, `StepLoop::step`):
///   1. exact gradient ∇f(x_k) and f(x_k)                          (problem)
///   2. per agent i, in order: g_i = ∇f(x_k) + Z_i                 (noise, stream (seed,run,i,k))
///      → agent filter (momentum / error feedback) → encode        (compressor)
///   3. server: ĝ = aggregate(messages in agent order)             (aggregator)
///   4. x_{k+1} = x_k − s_k ĝ,  s_k = step_rule(η·η_k, ĝ)           (schedule, step rule)
/// Steps 2 and 3–4 only meet through the wire messages, so agents may live in other processes.

#include <atomic>
#include <cstdint>
#include <functional>
#include <utility>
#include <memory>
#include <string>
#include <vector>

#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/optim/ensemble.hpp"
#include "dsignsgd/optim/method.hpp"
#include "dsignsgd/optim/oracle.hpp"
#include "dsignsgd/optim/schedule.hpp"
#include "dsignsgd/optim/train_options.hpp"

namespace dsignsgd {

/// What one run recorded.
struct RunTrace {
  std::vector<double> loss;       ///< f(x_k) − f* at the logged steps (NaN after divergence)
  std::vector<double> grad_norm;  ///< ||∇f(x_k)|| at the logged steps
  /// Extra metrics at the logged steps, row-major: rows × TrainResult::extra_metric_names.
  std::vector<double> extra;
  bool diverged = false;
  std::int64_t diverged_at = -1;  ///< first step whose loss was non-finite or above the bound
  double final_loss = 0.0;        ///< f(x_K) − f*
  double tail_loss = 0.0;         ///< mean of f(x_k) − f* over the last ⌈q·K⌉ iterates
};

struct TrainResult {
  TrainOptions options;  ///< as resolved (compressor filled in, dim resolved)
  std::size_t dim = 0;
  std::string problem_description;
  double omega = 0.0;  ///< declared ω of the compressor (NaN when biased)
  std::vector<std::int64_t> logged_steps;
  std::vector<RunTrace> runs;
  std::size_t uplink_bits_per_step = 0;    ///< one agent's message, header included
  std::size_t downlink_bits_per_step = 0;  ///< the server's broadcast
  int threads = 1;
  double wall_seconds = 0.0;
  double initial_loss = 0.0;
  /// Data problems: training rows; one epoch = this many samples over all agents (0 otherwise).
  std::size_t training_samples = 0;
  /// Epochs the runs went through (steps × N × B / training_samples) and wall time per epoch
  /// and run (runs in parallel threads count as sharing the wall time). 0 without data.
  double epochs() const;
  double seconds_per_epoch() const;
  /// Names of the extra metrics the runs recorded (data sets: test_loss, test_accuracy).
  std::vector<std::string> extra_metric_names;

  /// Set when the agents lived in several processes (backend mpi).
  struct Communication {
    std::string backend = "local";
    int ranks = 1;
    int agents_per_rank = 0;
    std::uint64_t bytes_sent = 0;               ///< handed to the transport by this rank
    std::uint64_t bytes_received = 0;
    std::uint64_t declared_bytes_sent = 0;      ///< from the compressor's wire_bits
    std::uint64_t declared_bytes_received = 0;
    std::string collective;
  } communication;
};

class Communicator;
class CheckpointWriter;
class CheckpointReader;


/// Validates the options (throws ConfigError) and runs them. With a communicator of several
/// ranks (backend mpi) this rank holds agents [rank·A, (rank+1)·A), the runs go one after the
/// other, and every step exchanges the agents' messages with an allgather; the trajectory is
/// bit-identical to the in-process one.
/// With `should_stop` (polled every step, collectively under MPI) the run can be interrupted:
/// checkpoints are written (options.checkpoint_dir) and Interrupted is thrown.
TrainResult train(const TrainOptions& options, const ProgressCallback& progress = {},
                  Communicator* communicator = nullptr,
                  const std::function<bool(std::int64_t)>& should_stop = {});

/// The state and step of one run: replicated iterate x, N agents' filters and messages.
class StepLoop final : public RunStepper {
 public:
  StepLoop(std::unique_ptr<GradientOracle> oracle, const MethodParts& parts,
           const Schedule& schedule, const TrainOptions& options, std::uint32_t run,
           Communicator* communicator = nullptr);

  /// f(x) and ∇f(x) at the current iterate (computed once per step).
  double evaluate(bool logged) override;
  double grad_norm() const override { return grad_norm_; }
  std::vector<double> extra_metrics() override { return oracle_->metrics(x_); }
  /// Agent i's message for step k (needs evaluate() first).
  void encode_agent(std::uint32_t agent, std::uint32_t step, WireMessage& message);
  /// Aggregates the N messages and updates x.
  void apply(std::span<const WireMessage> messages, std::uint32_t step);
  /// One full step: encode this process's agents, exchange the messages (when distributed),
  /// then apply.
  void step(std::uint32_t step) override;

  std::span<const float> x() const { return x_; }
  /// x and the memories of this process's agents.
  void save(CheckpointWriter& out) const override;
  void load(CheckpointReader& in) override;

 private:
  StreamAddress address(std::uint32_t agent, std::uint32_t step) const;
  /// x ← x − s ĝ with the step rule applied to η·η_k and the direction in direction_.
  void update(std::uint32_t step);
  /// The agents this process encodes: all, or [rank·A, (rank+1)·A) under MPI.
  std::pair<std::uint32_t, std::uint32_t> own_agents() const;

  std::unique_ptr<GradientOracle> oracle_;
  const MethodParts& parts_;
  const Schedule& schedule_;
  const TrainOptions& options_;
  std::uint32_t run_;
  std::vector<float> x_;
  std::vector<float> agent_grad_;
  std::vector<float> decoded_;
  std::vector<float> direction_;
  double grad_norm_ = 0.0;
  std::vector<std::unique_ptr<AgentFilter>> filters_;
  std::vector<WireMessage> messages_;
  Communicator* communicator_;
  std::vector<std::uint8_t> local_bytes_;
  std::vector<std::uint8_t> all_bytes_;
};

/// Approximate memory a run needs; train() refuses configurations that do not fit.
std::size_t estimate_memory_bytes(const TrainOptions& options, std::size_t dim, int threads);
/// Throws ConfigError for option "dim" when the estimate exceeds 80 % of physical memory.
void check_memory(const TrainOptions& options, std::size_t dim);
/// Fills what a result says about its configuration: dimension, problem, ω, logged steps, bits
/// per step, initial loss (shared by train and simulate_sde).
void describe_run(std::size_t dim, const std::string& description, double initial_loss,
                  const MethodParts& parts, const TrainOptions& options, TrainResult& result);
/// Worker threads train() uses: --threads (0: all cores), at most one per run.
int resolved_threads(const TrainOptions& options);

}  // namespace dsignsgd
