#include <fmt/core.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "mpi_session.hpp"
#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/io/report.hpp"
#include "dsignsgd/nn/data_problem.hpp"
#include "dsignsgd/optim/method.hpp"
#include "dsignsgd/optim/callbacks.hpp"
#include "dsignsgd/optim/trainer.hpp"

namespace dsignsgd::cli {

void add_train_options(CLI::App& c, TrainOptions& o) {
  std::string methods;
  for (const auto& name : method_names()) methods += (methods.empty() ? "" : " | ") + name;
  std::string compressors = "default: the method's own. One of:";
  for (const auto& line : compressor_help()) compressors += "\n  " + line;

  c.add_option("--method", o.method, "distributed method: " + methods)->capture_default_str();
  c.add_option("--compressor", o.compressor, compressors);
  std::string problems = "quadratic | quartic | cosh (synthetic) | data sets:";
  for (const auto& name : data_problem_names()) problems += " " + name;

  c.add_option("--problem", o.problem.problem, problems)->capture_default_str();
  c.add_option("--dim", o.problem.dim,
               "dimension d (default 10, or the length of --hessian diag:…; data problems: the "
               "model's)");
  c.add_option("--hessian", o.problem.hessian,
               "quadratic spectrum: identity | diag:a,b,… | linspace:a:b | logspace:a:b")
      ->capture_default_str();
  c.add_flag("--rotate", o.problem.rotate, "random orthogonal rotation of the Hessian");
  c.add_option("--x0", o.problem.x0, "start point, every coordinate")->capture_default_str();
  c.add_option("--x-star", o.problem.x_star, "minimizer, every coordinate")->capture_default_str();
  c.add_option("--noise", o.noise,
               "none | gaussian:σ | student:ν:σ | cauchy:σ | affine:σ0:σ1 | relative:σ "
               "(default gaussian:1; data problems: injected on top of the minibatch gradient, "
               "default none)");
  c.add_option("--agent-scales", o.agent_scales, "per-agent noise multipliers s1,…,sN");
  c.add_option("--workers", o.workers, "number of agents N")->capture_default_str();
  // Defaults in brackets; data problems take their recipe for the method (docs/DATA.md) first.
  c.add_option("--batch", o.batch, "batch size B (noise = mean of B draws) [1]");
  c.add_option("--lr", o.lr, "learning rate η [0.01]");
  c.add_option("--schedule", o.schedule, "const | invsqrt | inv | cosine [const]");
  c.add_option("--warmup", o.warmup, "linear warm-up steps [0]");
  c.add_option("--steps", o.steps, "iterations K [1000]");
  c.add_option("--runs", o.runs, "independent runs R [8]");
  c.add_option("--seed", o.seed, "master seed")->capture_default_str();
  c.add_option("--tail-fraction", o.tail_fraction,
               "tail_loss averages the loss over the last q·K steps")
      ->capture_default_str();
  c.add_option("--log-every", o.log_every,
               "metrics row every E steps (default: about 200 rows; data problems: about 20)");
  c.add_option("--threads", o.threads, "worker threads (0: all cores)")->capture_default_str();
  c.add_option("--momentum", o.momentum, "β of signum")->capture_default_str();
  c.add_option("--normalization", o.normalization,
               "normalized-dcsgd: plain (η/||ĝ||) | adaptive ([B] Thm 4.2)")
      ->capture_default_str();
  c.add_option("--l0", o.l0, "L0 of the adaptive normalization")->capture_default_str();
  c.add_option("--l1", o.l1, "L1 of the adaptive normalization")->capture_default_str();
  c.add_option("--sigma0", o.sigma0, "σ0 of the adaptive normalization (default: from --noise)");
  c.add_option("--sigma1", o.sigma1, "σ1 of the adaptive normalization (default: from --noise)");
  c.add_option("--norm-floor", o.norm_floor, "normalized step divides by max(||ĝ||, floor)")
      ->capture_default_str();
  c.add_option("--backend", o.backend,
               "local (N agents in this process) | mpi (start with mpirun; A agents per rank)")
      ->capture_default_str();
  c.add_option("--agents-per-rank", o.agents_per_rank, "mpi: agents per rank A (N = ranks · A)")
      ->capture_default_str();
  c.add_option("--comm-timeout", o.comm_timeout,
               "mpi: seconds a collective may wait before the job stops with an error")
      ->capture_default_str();
  c.add_option("--reduction", o.reduction,
               "mpi, dsgd: fixed (allgather, bit-identical to in-process) | allreduce (faster)")
      ->capture_default_str();
  c.add_option("--data-dir", o.data_dir, "data problems: directory of scripts/install_data.sh")
      ->capture_default_str();
  c.add_option("--hidden", o.hidden, "data problems: MLP hidden widths w1,w2,…")
      ->capture_default_str();
  c.add_option("--arch", o.arch,
               "torch models: cnn channels=16:32,fc=0 | transformer width=64,layers=2,heads=4")
      ->capture_default_str();
  c.add_option("--context", o.context, "text problems: characters of context per window")
      ->capture_default_str();
  c.add_option("--split", o.split, "data problems: iid | label-skew shards")->capture_default_str();
  c.add_option("--eval-batch", o.eval_batch,
               "data problems: training rows of the per-step loss [512]");
  c.add_option("--weight-decay", o.weight_decay,
               "data problems: λ; every agent's gradient gets + λ x (L2 regularization) [0]");
  c.add_option("--checkpoint-every", o.checkpoint_every,
               "write a checkpoint every K steps (SIGINT/SIGTERM always write one)")
      ->capture_default_str();
  c.add_option("--checkpoint-dir", o.checkpoint_dir,
               "checkpoint directory (default: OUT/checkpoint; none without --out)");
  c.add_option("--resume", o.resume, "continue from the checkpoints in this directory");
  c.add_option("--divergence-factor", o.divergence_factor,
               "a run diverged when f > factor·max(f(x0), 1) or f is not finite")
      ->capture_default_str();
}

namespace {

struct TrainCommand {
  TrainOptions options;
  std::string out;
  std::string config;
  bool json = false;
};

}  // namespace

void add_output_options(CLI::App& command, std::string& out, std::string& config, bool& json,
                        const std::string& files) {
  command.add_option("--out", out, "write " + files + " into this directory");
  command.add_option("--config", config,
                     "TOML file with the same keys as the flags (flags on the command line win)");
  command.add_flag("--json", json, "print the JSON report to stdout instead of the brief one");
}

void prepare_out_dir(const std::string& out) {
  if (out.empty()) return;
  std::error_code error;
  if (std::filesystem::exists(out, error) && !std::filesystem::is_directory(out, error)) {
    throw ConfigError("out", out, "exists and is not a directory");
  }
  std::filesystem::create_directories(out, error);
  if (error) throw ConfigError("out", out, "cannot be created: " + error.message());
}

namespace {

/// Test hook for the fault-tolerance tests: DSIGNSGD_FAULT="RANK:STEP:kill|stop" makes rank RANK
/// kill or stop itself before step STEP.
class InjectFault final : public EnsembleCallback {
 public:
  explicit InjectFault(int rank) {
    const char* spec = std::getenv("DSIGNSGD_FAULT");
    int fault_rank = -1;
    long long step = 0;
    char kind[8] = {};
    if (spec == nullptr || std::sscanf(spec, "%d:%lld:%7s", &fault_rank, &step, kind) != 3) return;
    armed_ = fault_rank == rank;
    step_ = step;
    signal_ = std::string(kind) == "stop" ? SIGSTOP : SIGKILL;
  }
  bool armed() const { return armed_; }
  void before_step(const RunState& state, bool) override {
    if (state.step >= step_) std::raise(signal_);
  }

 private:
  bool armed_ = false;
  std::int64_t step_ = 0;
  int signal_ = SIGKILL;
};

std::atomic<bool> stop_requested{false};

extern "C" void request_stop(int) { stop_requested = true; }

int run_train(TrainCommand& state) {
  if (state.options.checkpoint_dir.empty() && !state.out.empty()) {
    state.options.checkpoint_dir = (std::filesystem::path(state.out) / "checkpoint").string();
  }
  const RunPlan plan = make_run_plan(state.options);
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  std::unique_ptr<MpiSession> mpi;
  if (plan.backend == Backend::kMpi) mpi = std::make_unique<MpiSession>(plan.comm_timeout);
  Communicator* communicator = mpi ? &mpi->communicator() : nullptr;
  const int rank = mpi ? communicator->rank() : 0;
  if (rank == 0) prepare_out_dir(state.out);
  if (rank == 0 && !state.json && !plan.from_recipe.empty()) {
    std::cout << "defaults: " << recipe_summary(plan) << std::endl;
  }
  ProgressBar bar(rank == 0 ? "train" : "");
  OnProgress progress([&](std::uint64_t done, std::uint64_t total) {
    if (rank == 0) bar.update(done, total);
  });
  CollectiveStop stop(stop_requested, communicator);  // every rank stops at the same step
  InjectFault fault(rank);
  Callbacks callbacks{&progress, &stop};
  if (fault.armed()) callbacks.push_back(&fault);
  TrainResult result;
  try {
    result = train(plan, callbacks, communicator);
  } catch (const Interrupted& e) {
    bar.finish();
    if (rank == 0) {
      std::cerr << "dsignsgd: " << e.what();
      if (!plan.checkpoint_dir.empty()) {
        std::cerr << "; continue with the same flags and --resume " << plan.checkpoint_dir.string();
      }
      std::cerr << '\n';
    }
    return 130;
  } catch (const CommunicationError& e) {
    std::cerr << "dsignsgd: communication failed: " << e.what() << '\n';
    MpiSession::abort(3);  // ends every rank, stopped ones included
    return 3;
  }
  bar.finish();
  if (rank != 0) return 0;
  if (!state.out.empty()) write_train_outputs(result, state.out);
  if (state.json) {
    std::cout << summary_json(result).dump(2) << '\n';
  } else {
    std::cout << brief_report(result);
    if (!state.out.empty()) {
      std::cout << "  wrote       " << state.out << "/{metrics.csv,summary.json}\n";
    }
  }
  return 0;
}

}  // namespace

Runner add_train_command(CLI::App& app) {
  auto state = std::make_shared<TrainCommand>();
  CLI::App* c = app.add_subcommand("train", "run a distributed method with N in-process agents");
  add_train_options(*c, state->options);
  add_output_options(*c, state->out, state->config, state->json, "metrics.csv and summary.json");
  return [state]() { return run_train(*state); };
}

}  // namespace dsignsgd::cli
