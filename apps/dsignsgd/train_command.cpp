#include <fmt/core.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>

#include "commands.hpp"
#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/core/atomic_file.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/io/report.hpp"
#include "dsignsgd/nn/data_problem.hpp"
#include "dsignsgd/optim/callbacks.hpp"
#include "dsignsgd/optim/method.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "mpi_session.hpp"

namespace dsignsgd::cli {

namespace {

struct TrainCommand {
  TrainOptions options;
  std::string out;
  std::string config;
  bool json = false;
};

}  // namespace

namespace {
std::filesystem::path created_out_dir;    // the --out this process created, if it did
std::unique_ptr<DirectoryLock> out_lock;  // --out, locked until the process ends
char created_out_path[4096] = {};          // created_out_dir and its checkpoint/, for
char created_checkpoint_path[4096] = {};   // stop_at_once
bool force_out = false;                   // --force: write into a directory holding results
}  // namespace

void add_out_option(CLI::App& command, std::string& out, const std::string& files) {
  CLI::Option* option = command.add_option("--out", out, "write " + files + " into this directory");
  if (!out.empty()) option->capture_default_str();
  command.add_flag("--force", force_out,
                   "write into --out even when it already holds results (files of the same "
                   "names are replaced, others are kept)");
}

void add_output_options(CLI::App& command, std::string& out, std::string& config, bool& json,
                        const std::string& files) {
  add_out_option(command, out, files);
  command.add_option("--config", config,
                     "TOML file with the same keys as the flags (flags on the command line win)");
  command.add_flag("--json", json, "print the JSON report to stdout instead of the brief one");
}

void prepare_out_dir(const std::string& out) {
  if (out.empty()) return;
  namespace fs = std::filesystem;
  std::error_code error;
  const bool existed = fs::exists(out, error);
  if (existed && !fs::is_directory(out, error)) {
    throw ConfigError("out", out, "exists and is not a directory");
  }
  if (existed) {
    for (const auto& entry : fs::directory_iterator(out, error)) {
      if (entry.path().filename() == "checkpoint") continue;  // what --resume reads
      if (!force_out) {
        throw ConfigError("out", out,
                          "already holds results (" + entry.path().filename().string() +
                              "); choose another directory, or give --force to write into it");
      }
      // --force replaces result files of the same names: one that is not a regular file (a
      // directory named summary.json) would fail only after the run, beside new files.
      static const std::set<std::string> kResultExtensions = {".json", ".csv", ".md",
                                                               ".html", ".png", ".svg"};
      if (kResultExtensions.count(entry.path().extension().string()) != 0 &&
          !fs::is_regular_file(entry.symlink_status(error))) {
        throw ConfigError("out", out,
                          "holds " + entry.path().filename().string() +
                              ", which is not a regular file, where a result file goes");
      }
    }
  }
  require_writable_directory("out", out);
  fs::create_directories(out, error);
  if (error) throw ConfigError("out", out, "cannot be created: " + error.message());
  if (!existed) {
    created_out_dir = out;
    // For the signal handler (async-signal-safe: a fixed buffer, rmdir(2) only).
    const std::string text = created_out_dir.string(), sub = (created_out_dir / "checkpoint").string();
    if (text.size() < sizeof created_out_path && sub.size() < sizeof created_checkpoint_path) {
      std::memcpy(created_out_path, text.c_str(), text.size() + 1);
      std::memcpy(created_checkpoint_path, sub.c_str(), sub.size() + 1);
    }
  }
  // Two jobs into one --out would replace each other's files: the second is refused.
  out_lock = std::make_unique<DirectoryLock>("out", out);
}

extern "C" void stop_at_once(int) {
  static const char message[] = "dsignsgd: stopped on request\n";
  [[maybe_unused]] const ssize_t written = ::write(2, message, sizeof message - 1);
  if (created_out_path[0] != '\0') {  // an --out this process made and left empty goes
    ::rmdir(created_checkpoint_path);
    ::rmdir(created_out_path);
  }
  ::_exit(130);
}

void install_stop_at_once() {
  std::signal(SIGINT, stop_at_once);
  std::signal(SIGTERM, stop_at_once);
}

void remove_created_out_dir_if_empty() {
  if (created_out_dir.empty()) return;
  std::error_code ignored;  // remove() takes empty directories only: results are never lost
  std::filesystem::remove(created_out_dir / "checkpoint", ignored);
  std::filesystem::remove(created_out_dir, ignored);
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

/// Under mpirun with more than one rank, --backend local would make every rank run the whole job
/// and write --out: refused, naming the backend that does what was meant.
void refuse_local_backend_under_mpirun(const RunPlan& plan) {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (plan.backend != Backend::kLocal || size == nullptr || std::string(size) == "1") return;
  throw ConfigError("backend", to_string(plan.backend),
                    "this process is one of " + std::string(size) +
                        " ranks started by mpirun, and each would run the whole job and write "
                        "--out: give --backend mpi (or run without mpirun)");
}

int run_train(TrainCommand& state) {
  if (!state.out.empty()) require_writable_directory("out", state.out);  // before OUT/checkpoint
  if (state.options.checkpoint_dir.empty() && !state.out.empty()) {
    // The default OUT/checkpoint is --out's: a refusal names --out, the flag that was given.
    const std::filesystem::path dir = std::filesystem::path(state.out) / "checkpoint";
    std::error_code error;
    if (std::filesystem::exists(std::filesystem::symlink_status(dir, error)) &&
        !std::filesystem::is_directory(dir, error)) {
      throw ConfigError("out", state.out,
                        "holds a 'checkpoint' that is not a directory where the run's checkpoints "
                        "go: remove it or give --checkpoint-dir");
    }
    state.options.checkpoint_dir = dir.string();
  }
  const RunPlan plan = make_run_plan(state.options);
  refuse_local_backend_under_mpirun(plan);
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  std::unique_ptr<MpiSession> mpi;
  if (plan.backend == Backend::kMpi) mpi = std::make_unique<MpiSession>(plan.comm_timeout);
  Communicator* communicator = mpi ? &mpi->communicator() : nullptr;
  const int rank = mpi ? communicator->rank() : 0;
  // Rank 0 alone writes --out: the others must hear if it cannot (else they wait in train()).
  agree_on_failure(communicator, [&] {
    if (rank == 0) prepare_out_dir(state.out);
  });
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
  add_checkpoint_options(*c, state->options);
  add_output_options(*c, state->out, state->config, state->json, "metrics.csv and summary.json");
  return [state]() { return run_train(*state); };
}

}  // namespace dsignsgd::cli
