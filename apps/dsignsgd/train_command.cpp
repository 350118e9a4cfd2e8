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
               "dimension d (default 10, or the length of --hessian diag:…)");
  c.add_option("--hessian", o.problem.hessian,
               "quadratic spectrum: identity | diag:a,b,… | linspace:a:b | logspace:a:b")
      ->capture_default_str();
  c.add_flag("--rotate", o.problem.rotate, "random orthogonal rotation of the Hessian");
  c.add_option("--x0", o.problem.x0, "start point, every coordinate")->capture_default_str();
  c.add_option("--x-star", o.problem.x_star, "minimizer, every coordinate")->capture_default_str();
  c.add_option("--noise", o.noise,
               "none | gaussian:σ | student:ν:σ | cauchy:σ | affine:σ0:σ1 | relative:σ "
               "(data problems: injected on top of the minibatch gradient; default none)")
      ->capture_default_str();
  c.add_option("--agent-scales", o.agent_scales, "per-agent noise multipliers s1,…,sN");
  c.add_option("--workers", o.workers, "number of agents N")->capture_default_str();
  c.add_option("--batch", o.batch, "batch size B (noise = mean of B draws)")->capture_default_str();
  c.add_option("--lr", o.lr, "learning rate η")->capture_default_str();
  c.add_option("--schedule", o.schedule, "const | invsqrt | inv | cosine")->capture_default_str();
  c.add_option("--warmup", o.warmup, "linear warm-up steps")->capture_default_str();
  c.add_option("--steps", o.steps, "iterations K")->capture_default_str();
  c.add_option("--runs", o.runs, "independent runs R")->capture_default_str();
  c.add_option("--seed", o.seed, "master seed")->capture_default_str();
  c.add_option("--tail-fraction", o.tail_fraction,
               "tail_loss averages the loss over the last q·K steps")
      ->capture_default_str();
  c.add_option("--log-every", o.log_every, "metrics row every E steps (0: about 200 rows)")
      ->capture_default_str();
  c.add_option("--threads", o.threads, "worker threads (0: all cores)")->capture_default_str();
  c.add_option("--momentum", o.momentum, "β of signum")->capture_default_str();
  c.add_option("--normalization", o.normalization,
               "normalized-dcsgd: plain (η/||ĝ||) | adaptive ([B] Thm 4.2)")
      ->capture_default_str();
  c.add_option("--l0", o.l0, "L0 of the adaptive normalization")->capture_default_str();
  c.add_option("--l1", o.l1, "L1 of the adaptive normalization")->capture_default_str();
  c.add_option("--sigma0", o.sigma0, "σ0 of the adaptive normalization (<0: from --noise)")
      ->capture_default_str();
  c.add_option("--sigma1", o.sigma1, "σ1 of the adaptive normalization (<0: from --noise)")
      ->capture_default_str();
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
  c.add_option("--eval-batch", o.eval_batch, "data problems: training rows of the per-step loss")
      ->capture_default_str();
  c.add_option("--weight-decay", o.weight_decay,
               "data problems: λ; every agent's gradient gets + λ x (L2 regularization)")
      ->capture_default_str();
  c.add_option("--checkpoint-every", o.checkpoint_every,
               "write a checkpoint every K steps (SIGINT/SIGTERM always write one)")
      ->capture_default_str();
  c.add_option("--checkpoint-dir", o.checkpoint_dir, "checkpoint directory (default: OUT/checkpoint)");
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

void print_brief_report(const TrainResult& result, std::ostream& out) {
  const LossSummary loss = summarize_loss(result);
  out << fmt::format("{} with {} on {}, d = {}, N = {}, noise {}, {} runs × {} steps ({:.2f} s)\n",
                     result.options.method, result.options.compressor, result.problem_description,
                     result.dim, result.options.workers, result.options.noise, result.options.runs,
                     result.options.steps, result.wall_seconds);
  out << fmt::format("  final loss  {:.6g} ± {:.2g}\n", loss.final_loss.mean,
                     loss.final_loss.stderr_);
  out << fmt::format("  tail loss   {:.6g} ± {:.2g}  (last {:g}% of steps)\n", loss.tail_loss.mean,
                     loss.tail_loss.stderr_, 100 * result.options.tail_fraction);
  out << fmt::format("  diverged    {} of {} runs\n", loss.diverged_runs, result.options.runs);
  out << fmt::format(
      "  uplink      {:.4g} bits/coordinate/step per agent\n",
      static_cast<double>(result.uplink_bits_per_step) / static_cast<double>(result.dim));
  if (result.training_samples > 0) {
    out << fmt::format("  epochs      {:.3g} per run, {:.3g} s per epoch\n", result.epochs(),
                       result.seconds_per_epoch());
    const std::size_t extras = result.extra_metric_names.size();
    if (extras > 0 && !result.logged_steps.empty()) {
      std::string line;
      for (std::size_t m = 0; m < extras; ++m) {
        const SampleStatistics s = final_metric_statistics(result, m);
        line += fmt::format("{}{} {:.4g}", m ? ", " : "", result.extra_metric_names[m], s.mean);
      }
      out << "  final       " << line << "\n";
    }
  }
}

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
/// kill or stop itself once it has done about STEP steps.
void maybe_inject_fault(int rank, std::uint64_t done) {
  static const char* spec = std::getenv("DSIGNSGD_FAULT");
  if (spec == nullptr) return;
  int fault_rank = -1;
  unsigned long long step = 0;
  char kind[8] = {};
  if (std::sscanf(spec, "%d:%llu:%7s", &fault_rank, &step, kind) != 3) return;
  if (fault_rank != rank || done < step) return;
  std::raise(std::string(kind) == "stop" ? SIGSTOP : SIGKILL);
}

std::atomic<bool> stop_requested{false};

extern "C" void request_stop(int) { stop_requested = true; }

int run_train(TrainCommand& state) {
  if (state.options.checkpoint_dir.empty() && !state.out.empty()) {
    state.options.checkpoint_dir = (std::filesystem::path(state.out) / "checkpoint").string();
  }
  state.options.validate();
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  std::unique_ptr<MpiSession> mpi;
  if (state.options.backend == "mpi") mpi = std::make_unique<MpiSession>(state.options.comm_timeout);
  const int rank = mpi ? mpi->communicator().rank() : 0;
  if (rank == 0) prepare_out_dir(state.out);
  ProgressBar bar(rank == 0 ? "train" : "");
  const auto progress = [&](std::uint64_t done, std::uint64_t total) {
    if (rank == 0) bar.update(done, total);
    maybe_inject_fault(rank, done);
  };
  // Every rank must stop at the same step: under MPI the flags are combined every 16 steps.
  Communicator* communicator = mpi ? &mpi->communicator() : nullptr;
  const auto should_stop = [communicator](std::int64_t step) {
    if (communicator == nullptr) return stop_requested.load();
    if (step % 16 != 0) return false;
    std::vector<std::uint64_t> flags(static_cast<std::size_t>(communicator->size()));
    communicator->allgather_u64(stop_requested.load() ? 1 : 0, flags);
    for (std::uint64_t flag : flags) {
      if (flag != 0) return true;
    }
    return false;
  };
  TrainResult result;
  try {
    result = train(state.options, progress, communicator, should_stop);
  } catch (const Interrupted& e) {
    bar.finish();
    if (rank == 0) {
      std::cerr << "dsignsgd: " << e.what();
      if (!state.options.checkpoint_dir.empty()) {
        std::cerr << "; continue with the same flags and --resume " << state.options.checkpoint_dir;
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
    print_brief_report(result, std::cout);
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
  // Data problems have natural minibatch noise: --noise defaults to none for them.
  c->final_callback([state, c]() {
    if (is_data_problem(state->options.problem.problem) && c->get_option("--noise")->count() == 0) {
      state->options.noise = "none";
    }
  });
  add_output_options(*c, state->out, state->config, state->json, "metrics.csv and summary.json");
  return [state]() { return run_train(*state); };
}

}  // namespace dsignsgd::cli
