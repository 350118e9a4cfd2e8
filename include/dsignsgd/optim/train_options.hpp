#pragma once
/// @file
/// Every option of a training run as the user gives it (strings for the component specs). Field
/// names follow the command-line flags and config keys (flag --tail-fraction ⇔ key tail-fraction
/// ⇔ field tail_fraction); defaults are in-class, and a default that depends on other options is
/// an unset std::optional. make_run_plan (optim/run_plan.hpp) parses this once into the typed
/// RunPlan every command runs.

#include <cstdint>
#include <optional>
#include <string>

#include "dsignsgd/core/data_dir.hpp"
#include "dsignsgd/problems/problem.hpp"

namespace dsignsgd {

struct TrainOptions {
  std::string method = "dsignsgd";      ///< see method_names()
  std::string compressor;               ///< empty: the method's default
  ProblemOptions problem;               ///< --problem --dim --hessian --rotate --x0 --x-star
  /// none | gaussian:σ | student:ν:σ | cauchy:σ | …; unset: gaussian:1, or none for data problems
  /// (their minibatch gradients are noisy already)
  std::optional<std::string> noise;
  std::string agent_scales;             ///< "s1,…,sN" per-agent noise multipliers; empty: all 1
  int workers = 4;                      ///< N agents, >= 1
  // The next six (and eval_batch, weight_decay) default to the problem's recipe for the method
  // when it has one (data problems, docs/DATA.md), else to the value in brackets.
  std::optional<int> batch;             ///< B draws averaged per gradient, >= 1 [1]
  std::optional<double> lr;             ///< η > 0 [0.01]
  std::optional<std::string> schedule;  ///< const | invsqrt | inv | cosine [const]
  std::optional<std::int64_t> warmup;   ///< linear warm-up steps, >= 0 [0]
  std::optional<std::int64_t> steps;    ///< K >= 1 [1000]
  std::optional<int> runs;              ///< R independent runs, >= 1 [8]
  std::uint64_t seed = 1;               ///< master seed
  double tail_fraction = 0.5;           ///< q in (0, 1]: tail average over the last q·K steps
  std::optional<std::int64_t> log_every;  ///< metrics row every E steps; unset: about 200 rows
                                          ///< (data problems: about 20)
  int threads = 0;                      ///< worker threads; 0: all cores
  double momentum = 0.9;                ///< β in [0, 1) for signum
  std::string normalization = "plain";  ///< normalized-dcsgd: plain | adaptive
  double l0 = 1.0;                      ///< adaptive normalization constants ([B] Thm 4.2)
  double l1 = 1.0;
  std::optional<double> sigma0;  ///< unset: taken from an affine noise spec (else 0)
  std::optional<double> sigma1;  ///< unset: from an affine or relative noise spec (else 0)
  double norm_floor = 1e-12;       ///< normalized step: divide by max(||ĝ||, floor)
  double divergence_factor = 1e8;  ///< diverged when f > factor · max(f(x0), 1) or not finite
  std::string backend = "local";  ///< local (N agents in this process) | mpi (A agents per rank)
  int agents_per_rank = 1;        ///< mpi: A agents per rank, N = ranks · A
  double comm_timeout = 30.0;     ///< mpi: seconds a collective may take before the job ends
  std::string reduction = "fixed";  ///< mpi: fixed (allgather, agent order, bit-identical)
                                    ///< | allreduce (ring allreduce of fp32 sums, dsgd)
                                    ///< | reduce-scatter (sign counts, sign methods)
  /// data problems: where scripts/install_data.sh put them (docs/DATA.md, "Where the data is")
  std::string data_dir = default_data_dir();
  std::string hidden = "128";         ///< data problems: MLP hidden widths "w1,w2,…"
  std::string arch;                   ///< torch models: "key=value,…" (docs/DATA.md), "" = defaults
  int context = 64;                   ///< text problems: characters of context per window
  std::string split = "iid";          ///< data problems: iid | label-skew shards
  std::optional<int> eval_batch;      ///< data problems: training rows of the per-step loss [512]
  std::optional<double> weight_decay;  ///< data problems: λ, each agent's gradient gets + λ x [0]
  std::int64_t checkpoint_every = 0;  ///< write a checkpoint every K steps (0: only on SIGINT/SIGTERM)
  std::string checkpoint_dir;         ///< where checkpoints go (CLI: OUT/checkpoint); "" = none
  std::string resume;                 ///< continue from the checkpoints in this directory

  /// Checks every field on its own (ranges, names of choices); throws ConfigError naming the
  /// first invalid option: "invalid --lr '0': must be > 0 and finite". Builds nothing.
  void validate() const;
};

}  // namespace dsignsgd
