#pragma once
/// @file
/// The typed run plan: every option of a run parsed exactly once. `make_run_plan` turns the
/// options a user typed (TrainOptions: strings such as "randk:0.1", "student:3:1", "cosine")
/// into enums, numbers and built components; train, sde, predict, validate, scale, compare and
/// reproduce all take the plan, so no spec string is parsed anywhere else and every command
/// resolves defaults the same way.
///
/// Components and their resolved form:
///   problem      ProblemSpec (synthetic: dimension and spectrum decided) + DataSpec
///   noise        NoiseSpec + per-agent scales
///   method       Method + MethodSettings (momentum, normalization, adaptive constants)
///   compressor   the built Compressor (stateless; shared by every run and agent)
///   schedule     ScheduleSpec
///   backend      Backend, Reduction, agents per rank, timeout
///   output       checkpoint directory, period, resume directory

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/optim/method.hpp"
#include "dsignsgd/optim/schedule.hpp"
#include "dsignsgd/optim/train_options.hpp"
#include "dsignsgd/problems/source.hpp"

namespace dsignsgd {

enum class Backend { kLocal, kMpi };
std::string to_string(Backend backend);
/// Throws ConfigError for option "backend".
Backend backend_from_string(const std::string& name);

/// How messages travel under MPI (--reduction):
///   fixed           kAllgather: the encoded messages gathered in agent order, every rank
///                   aggregates them (bit-identical to the in-process run; the name says the
///                   summation order is fixed)
///   allreduce       kAllreduce: a ring allreduce of fp32 sums (dense methods; not identical)
///   reduce-scatter  kReduceScatter: sign messages only, per-coordinate counts (~ d·log N bytes)
enum class Reduction { kAllgather, kAllreduce, kReduceScatter };
std::string to_string(Reduction reduction);
/// Throws ConfigError for option "reduction".
Reduction reduction_from_string(const std::string& name);

/// normalized-dcsgd's step rule: η/‖ĝ‖ (plain) or [B] Theorem 4.2's adaptive step.
enum class Normalization { kPlain, kAdaptive };
std::string to_string(Normalization normalization);
/// Throws ConfigError for option "normalization".
Normalization normalization_from_string(const std::string& name);

/// The method's own settings, resolved.
struct MethodSettings {
  double momentum = 0.9;  ///< β of signum
  Normalization normalization = Normalization::kPlain;
  double l0 = 1.0;  ///< adaptive normalization constants ([B] Thm 4.2)
  double l1 = 1.0;
  double sigma0 = 0.0;  ///< resolved from --sigma0 or the affine noise spec
  double sigma1 = 0.0;  ///< resolved from --sigma1 or the affine / relative noise spec
  double norm_floor = 1e-12;
};

struct RunPlan {
  // problem
  ProblemSpec problem;
  bool has_data = false;  ///< a registered data problem (problem.dim is its model's, once built)
  DataSpec data;
  // noise
  NoiseSpec noise;
  std::vector<double> agent_scales;  ///< empty: every agent at scale 1
  // method
  Method method = &method_from_string("dsignsgd");  ///< a registry entry (optim/method.hpp)
  std::shared_ptr<const Compressor> compressor;
  MethodSettings settings;
  ScheduleSpec schedule;
  int workers = 4;
  int batch = 1;
  double lr = 0.01;
  // ensemble
  std::int64_t steps = 1000;
  int runs = 8;
  std::uint64_t seed = 1;
  double tail_fraction = 0.5;
  std::int64_t log_every = 5;  ///< resolved: the flag, or steps / (about 200 or 20 rows)
  bool log_every_given = false;  ///< the user chose log_every (validate has its own default)
  int threads = 0;             ///< requested worker threads; 0: all cores (resolved_threads)
  double divergence_factor = 1e8;
  // backend
  Backend backend = Backend::kLocal;
  int agents_per_rank = 1;
  double comm_timeout = 30.0;
  Reduction reduction = Reduction::kAllgather;
  // output
  std::filesystem::path checkpoint_dir;  ///< empty: no checkpoints
  std::int64_t checkpoint_every = 0;
  std::filesystem::path resume;  ///< empty: a fresh start
  // defaults
  std::vector<std::string> from_recipe;  ///< options taken from the problem's recipe (flag names)
  std::string recipe_result;             ///< what the recipe reached (docs/DATA.md)

  /// The problem's dimension when it is known from the options (synthetic problems).
  std::size_t dim() const { return problem.dim; }
};

/// Validates the options, parses every spec once and resolves every default — options left unset
/// take the problem's recipe for the method (data problems, docs/DATA.md), else the general
/// default. Throws ConfigError
/// naming the option, the value and the constraint. For synthetic problems it also checks that
/// the run fits in memory (data problems: train() does, once the model's size is known).
RunPlan make_run_plan(const TrainOptions& options);

/// plan.problem with its rotation keyed by plan.seed (the one seed of a run: a plan whose seed is
/// changed gets a new rotation, as a fresh make_run_plan would).
ProblemSpec seeded_problem(const RunPlan& plan);

/// The plan's problem source (its registry entry's factory, with the plan's seeded problem, data,
/// agents, batch and seed); `noise` must outlive it.
std::unique_ptr<ProblemSource> make_problem_source(const RunPlan& plan, const NoiseModel& noise,
                                                   int run_threads);

/// Registers the built-in problems of every kind (data problems from nn/); idempotent. Called by
/// make_run_plan; the CLI calls it before listing problem names.
void register_builtin_problems();

/// The configuration with the flag names as keys (summary.json's "config"): every resolved
/// value, defaults included.
nlohmann::json plan_json(const RunPlan& plan);
/// A canonical text of everything that determines a run's numbers (ranks compare its hash,
/// checkpoints store it).
std::string plan_fingerprint(const RunPlan& plan);

/// A key whose value differs between two fingerprints, with both values as written there ("∅"
/// where one has no such key; strings without their quotes).
struct FingerprintDifference {
  std::string key, before, now;
};
/// The differing keys of two fingerprints (empty when either does not parse: compare the texts).
std::vector<FingerprintDifference> fingerprint_differences(const std::string& before,
                                                           const std::string& now);
/// "key: a → b, …", or "the configurations differ" when no key can be named.
std::string describe_difference(const std::string& before, const std::string& now);

/// The options taken from the recipe with their values ("batch 128, lr 0.001, …") and what the
/// recipe reached; empty when none was taken.
std::string recipe_summary(const RunPlan& plan);

/// Worker threads: --threads (0: all cores), at most one per run; 1 under MPI.
int resolved_threads(const RunPlan& plan);
/// Approximate memory the active runs' state needs (iterates, memories, messages).
std::size_t estimate_memory_bytes(const RunPlan& plan, std::size_t dim, int threads);
/// Rows of every trace: steps 0, log_every, 2·log_every, … below steps, and steps itself.
std::int64_t logged_row_count(const RunPlan& plan);
/// Approximate memory of the logged traces of all runs (kept until the end) and metrics.csv.
std::size_t estimate_trace_bytes(const RunPlan& plan);
/// The memory this process can have: physical memory, or less under an address-space limit
/// (`ulimit -v`).
std::size_t usable_memory_bytes();
/// What a command may plan to use: 80 % of usable_memory_bytes().
std::size_t memory_budget_bytes();
/// "3.5 GiB".
std::string gib(std::size_t bytes);
/// Throws ConfigError when state + traces exceed memory_budget_bytes(): for option
/// "log-every" when the traces tip it over, for "dim" otherwise.
void check_memory(const RunPlan& plan, std::size_t dim);
/// Throws ConfigError for option "x0" when a synthetic problem's f(x0) is not finite: every run
/// (train) or path (sde) would be reported "diverged" at step 0.
void require_finite_start(const RunPlan& plan, double f0);

}  // namespace dsignsgd
