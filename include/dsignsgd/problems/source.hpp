#pragma once
/// @file
/// Training problems by name. A `ProblemSource` is the shared, read-only part of a problem (a
/// synthetic objective, or a data set with its model and shards); each run gets its own
/// `GradientOracle` from it. Problems register a factory under their name — the synthetic ones
/// here, the data problems from nn/ (`register_data_problems`), the way libtorch models register
/// into nn/ — so the driver builds any problem the same way and never asks which kind it is.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dsignsgd/core/data_dir.hpp"
#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/problems/oracle.hpp"
#include "dsignsgd/problems/problem.hpp"

namespace dsignsgd {

/// How a data problem's training rows are dealt to the agents.
enum class DataSplit { kIid, kLabelSkew };
std::string to_string(DataSplit split);
/// Throws ConfigError for option "split".
DataSplit data_split_from_string(const std::string& name);

/// The options of data problems (flags --data-dir --hidden --arch --context --split --eval-batch
/// --weight-decay), resolved.
struct DataSpec {
  /// where scripts/install_data.sh put the data
  std::filesystem::path data_dir = default_data_dir();
  std::vector<std::size_t> hidden{128};  ///< MLP hidden widths
  std::string arch;                      ///< torch models: "key=value,…"; "" = defaults
  int context = 64;                      ///< text problems: characters of context
  DataSplit split = DataSplit::kIid;
  int eval_batch = 512;           ///< training rows of the per-step loss
  bool eval_batch_given = false;  ///< the user chose it: more than the rows is refused, not cut
  double weight_decay = 0.0;      ///< λ: each agent's gradient gets + λ x
};

/// What a source needs to know about the run it serves.
struct ProblemContext {
  const NoiseModel* noise = nullptr;  ///< injected noise (outlives the source)
  int workers = 1;                    ///< N agents (data problems shard over them)
  int batch = 1;                      ///< B rows per agent gradient
  std::uint64_t seed = 1;             ///< master seed (data problems: initialization)
  int run_threads = 1;                ///< runs advancing at once (intra-op threads share the rest)
};

/// The shared part of a training problem.
class ProblemSource {
 public:
  virtual ~ProblemSource() = default;
  virtual std::size_t dim() const = 0;
  virtual std::string describe() const = 0;
  /// Run `run`'s oracle (its own scratch; the shared parts are read-only).
  virtual std::unique_ptr<GradientOracle> make_oracle(std::uint32_t run) const = 0;
  /// Names of the extra metrics the oracles report at logged steps (data: test loss, accuracy).
  virtual std::vector<std::string> metric_names() const { return {}; }
  /// Training rows (one epoch = this many samples over all agents); 0 without data.
  virtual std::size_t training_samples() const { return 0; }
};

/// A problem's measured settings for one method (docs/DATA.md): `train` uses them for every one
/// of these options the user did not give.
struct Recipe {
  std::optional<int> batch;
  std::optional<double> lr;
  std::optional<std::string> schedule;
  std::optional<std::int64_t> warmup;
  std::optional<std::int64_t> steps;
  std::optional<int> runs;
  std::optional<double> weight_decay;
  std::optional<int> eval_batch;
  std::string result;  ///< what it reached, e.g. "test accuracy 0.9718 (docs/DATA.md)"
};

/// A registered problem: how to build its source and the defaults that differ by kind.
struct ProblemEntry {
  std::string name;
  bool has_data = false;  ///< a data set with natural minibatch noise (injected noise: none)
  /// Metrics rows when --log-every is not given: about this many (steps / rows per row).
  std::int64_t default_log_rows = 200;
  std::function<std::unique_ptr<ProblemSource>(const ProblemSpec&, const DataSpec&,
                                               const ProblemContext&)>
      make;
  /// The recipe for a method (by name), if the problem has one.
  std::function<std::optional<Recipe>(const std::string& method)> recipe;
};

/// Adds (or replaces) a problem.
void register_problem(ProblemEntry entry);
/// The entry of `name`, or nullptr.
const ProblemEntry* find_problem(const std::string& name);
/// Every registered name, synthetic ones first.
std::vector<std::string> problem_names();

/// The source of a synthetic problem: the exact gradient of make_problem(spec) plus the noise.
std::unique_ptr<ProblemSource> make_synthetic_source(const ProblemSpec& spec,
                                                     const ProblemContext& context);

}  // namespace dsignsgd
