#pragma once
/// @file
/// The training driver: R independent runs of one distributed method.
///
/// One step k of one run (the only step loop in the library, `StepLoop::step`):
///   1. ∇f(x_k) and f(x_k) once                                      (oracle)
///   2. per local agent i, in order: g_i = ∇f(x_k) + Z_i             (oracle: noise, stream
///      → agent filter (momentum / error feedback) → encode             (seed, run, i, k))
///   3. the exchange brings the N messages together and aggregates   (exchange, aggregator)
///   4. x_{k+1} = x_k − s_k ĝ,  s_k = step_rule(η·η_k, ĝ)             (schedule, step rule)
/// Which agents are local and how messages travel (in process, allgather, allreduce) is the
/// Exchange's business: the step is the same code in one process and under MPI.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dsignsgd/optim/ensemble.hpp"
#include "dsignsgd/optim/exchange.hpp"
#include "dsignsgd/optim/method.hpp"
#include "dsignsgd/optim/run_plan.hpp"
#include "dsignsgd/optim/schedule.hpp"
#include "dsignsgd/optim/train_result.hpp"
#include "dsignsgd/problems/oracle.hpp"

namespace dsignsgd {

class Communicator;

/// Runs the plan. With a communicator of several ranks (plan.backend mpi) this rank holds agents
/// [rank·A, (rank+1)·A), the runs go one after the other, and the exchange is an allgather (or
/// allreduce); the trajectory is bit-identical to the in-process one. Checkpoints follow
/// plan.checkpoint_dir / checkpoint_every / resume; `callbacks` add progress, stop requests
/// (then Interrupted is thrown once the checkpoints are written), early stops.
TrainResult train(const RunPlan& plan, const Callbacks& callbacks = {},
                  Communicator* communicator = nullptr);
/// make_run_plan(options), then train.
TrainResult train(const TrainOptions& options, const Callbacks& callbacks = {},
                  Communicator* communicator = nullptr);

/// The state and step of one run: replicated iterate x, the local agents' filters and messages.
class StepLoop final : public RunStepper {
 public:
  StepLoop(std::unique_ptr<GradientOracle> oracle, const MethodParts& parts,
           const Schedule& schedule, const RunPlan& plan, std::uint32_t run,
           std::unique_ptr<Exchange> exchange);

  /// f(x) and ∇f(x) at the current iterate (computed once per step).
  double evaluate(bool logged) override;
  double grad_norm() const override { return grad_norm_; }
  std::vector<double> extra_metrics() override { return oracle_->metrics(x_); }
  /// Agent i's message for step k (needs evaluate() first).
  void encode_agent(std::uint32_t agent, std::uint32_t step, WireMessage& message);
  /// One full step: encode the local agents, exchange and aggregate, update x.
  void step(std::uint32_t step) override;

  std::span<const float> x() const { return x_; }
  /// x and the memories of the local agents.
  void save(CheckpointWriter& out) const override;
  void load(CheckpointReader& in, std::int64_t step) override;

 private:
  StreamAddress address(std::uint32_t agent, std::uint32_t step) const;

  std::unique_ptr<GradientOracle> oracle_;
  const MethodParts& parts_;
  const Schedule& schedule_;
  const RunPlan& plan_;
  std::uint32_t run_;
  std::unique_ptr<Exchange> exchange_;
  std::vector<float> x_;
  std::vector<float> agent_grad_;
  std::vector<float> decoded_;
  std::vector<float> direction_;
  double grad_norm_ = 0.0;
  std::vector<std::unique_ptr<AgentFilter>> filters_;
  std::vector<WireMessage> messages_;
};

}  // namespace dsignsgd
