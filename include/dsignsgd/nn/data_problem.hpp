#pragma once
/// @file
/// Real models on real data as training problems (`--problem NAME`):
///   breast-cancer-logreg  logistic regression, scikit-learn's breast cancer table (30 features)
///   digits-logreg, digits-mlp   scikit-learn's 8×8 digits (64 features, 10 classes)
///   mnist-logreg, mnist-mlp     MNIST 60k/10k
///   fashion-mlp                 Fashion-MNIST 60k/10k
///   mnist-cnn, fashion-cnn      a small CNN (libtorch component)
///   kjv-transformer             a character-level causal transformer on the King James Bible
///                               (libtorch component); metrics add test_bits_per_char
/// The tables have no given split: a fixed 80/20 split (independent of --seed) is used, and
/// their features are standardized with training statistics. The training set is sharded over
/// the agents (`--split iid` round-robin after a fixed shuffle, or `label-skew`: sorted by label,
/// contiguous blocks). Agent i's gradient is the model's mean gradient on a minibatch of --batch
/// rows drawn with replacement from its shard by its own stream (natural minibatch noise),
/// optionally plus injected noise from --noise (the papers' protocol).

#include <memory>
#include <string>
#include <vector>

#include "dsignsgd/data/dataset.hpp"
#include "dsignsgd/nn/model.hpp"
#include "dsignsgd/problems/source.hpp"

namespace dsignsgd {

/// The shared, read-only part of a data problem.
struct DataProblem {
  std::string description;
  Dataset train;
  Dataset test;
  std::unique_ptr<Model> model;
  std::vector<std::vector<std::size_t>> shards;  ///< training rows of each agent
  std::vector<std::size_t> eval_rows;            ///< fixed training rows for the per-step loss
  std::vector<std::string> metric_names;         ///< what the oracles' metrics() return
  bool text = false;                             ///< rows are token windows (kjv-transformer)
  double unigram_entropy_bits = 0.0;             ///< text: the baseline a model must beat
};

/// The data problems' names, in the order the docs list them.
std::vector<std::string> data_problem_names();

/// Loads data (from data.data_dir) and builds the model of problem `name` for N = `workers`
/// agents; `run_threads` runs go at once (libtorch models share the remaining cores). Throws
/// ConfigError naming the missing file and the package or command that provides it.
std::unique_ptr<DataProblem> load_data_problem(const std::string& name, const DataSpec& data,
                                               int workers, int run_threads);

/// Registers every data problem (problems/source.hpp) under its name; idempotent.
void register_data_problems();

}  // namespace dsignsgd
