#include "dsignsgd/nn/data_problem.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <numeric>
#include <thread>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/norm.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/random/stream.hpp"

namespace dsignsgd {
namespace {

struct Entry {
  const char* name;
  const char* dataset;
  const char* architecture;  ///< logreg, mlp (Eigen, core) or a registered model (libtorch)
};

constexpr Entry kProblems[] = {
    {"breast-cancer-logreg", "breast-cancer", "logreg"},
    {"digits-logreg", "digits", "logreg"},
    {"digits-mlp", "digits", "mlp"},
    {"mnist-logreg", "mnist", "logreg"},
    {"mnist-mlp", "mnist", "mlp"},
    {"mnist-cnn", "mnist", "cnn"},
    {"fashion-mlp", "fashion", "mlp"},
    {"fashion-cnn", "fashion", "cnn"},
    {"kjv-transformer", "kjv", "transformer"},
};

/// Text windows: training windows start every 16 characters; the validation loss is measured on
/// at most 1024 windows of held-out text.
constexpr std::size_t kTextStride = 16;
constexpr std::size_t kTextTestWindows = 1024;

constexpr const char* kInstall =
    "scripts/install_data.sh, which make run and make test run; or give --data-dir";

/// A fixed permutation (independent of --seed) of 0..n−1.
std::vector<std::size_t> fixed_permutation(std::size_t n, std::uint64_t salt) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  RandomStream rng(StreamAddress{0x5eed0000 + salt, 0, 0, 0, StreamPurpose::kSetup});
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.uniform_below(i)]);
  return order;
}

Dataset subset(const Dataset& data, const std::vector<std::size_t>& rows) {
  Dataset out;
  out.name = data.name;
  out.features = data.features;
  out.classes = data.classes;
  out.samples = rows.size();
  for (std::size_t r : rows) {
    out.x.insert(out.x.end(), data.row(r), data.row(r) + data.features);
    out.labels.push_back(data.labels[r]);
  }
  return out;
}

/// 80/20 split of a table with standardized features.
void split_table(const Dataset& all, Dataset& train, Dataset& test) {
  const std::vector<std::size_t> order = fixed_permutation(all.samples, all.samples);
  const std::size_t cut = all.samples * 4 / 5;
  train = subset(all, std::vector<std::size_t>(order.begin(), order.begin() + cut));
  test = subset(all, std::vector<std::size_t>(order.begin() + cut, order.end()));
  standardize(train, test);
}

class DataOracle final : public GradientOracle {
 public:
  DataOracle(const DataProblem& problem, const NoiseModel& noise, int batch, double weight_decay,
             std::uint64_t seed, std::uint32_t run)
      : problem_(problem),
        noise_(noise),
        weight_decay_(weight_decay),
        seed_(seed),
        run_(run),
        grad_(problem.model->parameters()),
        rows_(static_cast<std::size_t>(batch)) {}

  std::size_t dim() const override { return problem_.model->parameters(); }

  void initial_point(std::span<float> x) const override {
    problem_.model->initialize(x, seed_ * 1000003 + run_);
  }

  double evaluate(std::span<const float> x, bool want_grad_norm, double& grad_norm) override {
    // The full-batch gradient (on the evaluation rows) costs three forward passes: only when its
    // norm is reported or the injected noise scales with it (affine, relative).
    const NoiseKind kind = noise_.spec().kind;
    if (!want_grad_norm && kind != NoiseKind::kAffine && kind != NoiseKind::kRelative) {
      grad_norm = std::numeric_limits<double>::quiet_NaN();
      return problem_.model->loss_and_gradient(x, problem_.train, problem_.eval_rows, {});
    }
    const double loss =
        problem_.model->loss_and_gradient(x, problem_.train, problem_.eval_rows, grad_);
    grad_norm_ = l2_norm(grad_);
    grad_norm = grad_norm_;
    return loss;
  }

  void agent_gradient(std::span<const float> x, std::uint32_t agent, const StreamAddress& address,
                      std::span<float> out) override {
    const std::vector<std::size_t>& shard = problem_.shards[agent];
    RandomStream rng(address);
    for (std::size_t& row : rows_) row = shard[rng.uniform_below(shard.size())];
    problem_.model->loss_and_gradient(x, problem_.train, rows_, out);
    if (weight_decay_ > 0.0) {  // ∇(λ‖x‖²/2), before any noise and compression
      const auto decay = static_cast<float>(weight_decay_);
      for (std::size_t k = 0; k < out.size(); ++k) out[k] += decay * x[k];
    }
    if (noise_.spec().kind != NoiseKind::kNone) {
      // Injected noise on top of the minibatch gradient (the papers' protocol).
      noisy_.assign(out.begin(), out.end());
      noise_.sample(noisy_, grad_norm_, agent, rng, out);
    }
  }

  double loss_gradient(std::span<const float> x, std::span<float> out) override {
    const double loss =
        problem_.model->loss_and_gradient(x, problem_.train, problem_.eval_rows, out);
    if (weight_decay_ > 0.0) {  // as agent_gradient: the decay's curvature is the run's too
      const auto decay = static_cast<float>(weight_decay_);
      for (std::size_t k = 0; k < out.size(); ++k) out[k] += decay * x[k];
    }
    return loss;
  }

  std::vector<double> metrics(std::span<const float> x) override {
    const auto [test_loss, test_accuracy] = problem_.model->loss_and_accuracy(x, problem_.test);
    std::vector<double> values{test_loss, test_accuracy};
    if (problem_.text) values.push_back(test_loss / std::log(2.0));
    return values;
  }

 private:
  const DataProblem& problem_;
  const NoiseModel& noise_;
  double weight_decay_;
  std::uint64_t seed_;
  std::uint32_t run_;
  std::vector<float> grad_;
  std::vector<float> noisy_;
  std::vector<std::size_t> rows_;
  double grad_norm_ = 0.0;
};

class DataSource final : public ProblemSource {
 public:
  DataSource(std::unique_ptr<DataProblem> problem, const DataSpec& data,
             const ProblemContext& context)
      : problem_(std::move(problem)), weight_decay_(data.weight_decay), context_(context) {
    // A minibatch is drawn from its agent's shard with replacement: one larger than the shard
    // costs more than the shard's full gradient and repeats its rows — a contradiction.
    std::size_t smallest = problem_->train.samples;
    for (const std::vector<std::size_t>& shard : problem_->shards) {
      smallest = std::min(smallest, shard.size());
    }
    if (static_cast<std::size_t>(context.batch) > smallest) {
      throw ConfigError("batch", std::to_string(context.batch),
                        "exceeds the " + std::to_string(smallest) + " rows of an agent's shard (" +
                            std::to_string(problem_->train.samples) + " training rows over " +
                            std::to_string(problem_->shards.size()) +
                            " agents); minibatches are drawn from the shard");
    }
  }
  std::size_t dim() const override { return problem_->model->parameters(); }
  std::string describe() const override { return problem_->description; }
  std::unique_ptr<GradientOracle> make_oracle(std::uint32_t run) const override {
    return std::make_unique<DataOracle>(*problem_, *context_.noise, context_.batch, weight_decay_,
                                        context_.seed, run);
  }
  std::vector<std::string> metric_names() const override { return problem_->metric_names; }
  std::size_t training_samples() const override { return problem_->train.samples; }

 private:
  std::unique_ptr<DataProblem> problem_;
  double weight_decay_;
  ProblemContext context_;
};

}  // namespace

std::vector<std::string> data_problem_names() {
  std::vector<std::string> names;
  for (const Entry& e : kProblems) names.emplace_back(e.name);
  return names;
}

namespace {

/// Reads the train and test sets of `dataset` from the data directory; returns a note for the
/// description (the text corpus' statistics), empty otherwise.
std::string load_dataset(const std::string& dataset, const DataSpec& data, DataProblem& problem) {
  const std::filesystem::path dir = data.data_dir;
  if (dataset == "kjv") {
    TextCorpus corpus =
        load_text_windows(dir / "kjv" / "kjv.txt", static_cast<std::size_t>(data.context),
                          kTextStride, kTextTestWindows,
                          "Debian's bible-kjv: scripts/install_data.sh writes it with "
                          "`bible -f gen1:1-rev22:21`");
    problem.train = std::move(corpus.train);
    problem.test = std::move(corpus.test);
    problem.text = true;
    problem.unigram_entropy_bits = corpus.unigram_entropy_bits;
    char buffer[160];
    std::snprintf(buffer, sizeof buffer,
                  "; %zu characters, vocabulary %zu, unigram entropy %.3f bits/char",
                  corpus.characters, corpus.vocabulary.size(), corpus.unigram_entropy_bits);
    return buffer;
  }
  if (dataset == "breast-cancer" || dataset == "digits") {
    const std::filesystem::path file =
        dir / "sklearn" / (dataset == "digits" ? "digits.csv.gz" : "breast_cancer.csv");
    const Dataset all =
        load_csv(file, dataset == "digits" ? 0 : 1, kInstall, dataset == "digits" ? 10 : 2);
    split_table(all, problem.train, problem.test);
    return "";
  }
  const std::filesystem::path sub = dir / (dataset == "mnist" ? "mnist" : "fashion-mnist");
  const std::string gz = dataset == "mnist" ? "" : ".gz";
  problem.train = load_idx(sub / ("train-images-idx3-ubyte" + gz),
                           sub / ("train-labels-idx1-ubyte" + gz), kInstall, 10);
  problem.test = load_idx(sub / ("t10k-images-idx3-ubyte" + gz),
                          sub / ("t10k-labels-idx1-ubyte" + gz), kInstall, 10);
  return "";
}

/// The entry's model for the loaded data (torch models through the model registry).
std::unique_ptr<Model> make_entry_model(const std::string& name, const std::string& architecture,
                                        const DataSpec& data, const DataProblem& problem,
                                        int run_threads) {
  const std::size_t features = problem.train.features;
  const std::size_t classes = std::max(problem.train.classes, problem.test.classes);
  if (architecture == "mlp") return make_mlp(features, data.hidden, classes);
  if (architecture != "cnn" && architecture != "transformer") {
    return make_softmax_regression(features, classes);
  }
  ModelShape shape;
  shape.features = features;
  shape.classes = classes;
  if (architecture == "cnn") {
    const auto side =
        static_cast<std::size_t>(std::lround(std::sqrt(static_cast<double>(features))));
    shape.height = side;
    shape.width = side;
  }
  shape.arch = data.arch;
  // Intra-op threads: the machine's cores shared by the runs that go in parallel and by the MPI
  // ranks on this node (Open MPI tells each rank how many share its node).
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int local_ranks = 1;
  if (const char* value = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE")) {
    local_ranks = std::max(1, std::atoi(value));
  }
  shape.threads = std::max(1, hardware / std::max(1, run_threads * local_ranks));
  return make_registered_model(architecture, shape, name);
}

/// Shards: a fixed shuffle, then round-robin (iid) or sorted by label in blocks (label-skew); the
/// evaluation rows are the shuffle's first eval_batch.
void shard_training_rows(const DataSpec& data, int workers, DataProblem& problem) {
  const std::size_t n = problem.train.samples;
  const auto agents = static_cast<std::size_t>(workers);
  if (n < agents) {
    throw ConfigError("workers", std::to_string(agents),
                      "exceeds the " + std::to_string(n) + " training rows");
  }
  std::vector<std::size_t> order = fixed_permutation(n, n + 1);
  const bool skew = data.split == DataSplit::kLabelSkew;
  if (skew) {
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return problem.train.labels[a] < problem.train.labels[b];
    });
  }
  problem.shards.resize(agents);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t agent = skew ? i * agents / n : i % agents;
    problem.shards[agent].push_back(order[i]);
  }
  if (data.eval_batch_given && static_cast<std::size_t>(data.eval_batch) > n) {
    throw ConfigError("eval-batch", std::to_string(data.eval_batch),
                      "must be at most the problem's " + std::to_string(n) + " training rows");
  }
  const std::size_t eval = std::min<std::size_t>(static_cast<std::size_t>(data.eval_batch), n);
  problem.eval_rows.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(eval));
  std::sort(problem.eval_rows.begin(), problem.eval_rows.end());
}

}  // namespace

std::unique_ptr<DataProblem> load_data_problem(const std::string& name, const DataSpec& data,
                                               int workers, int run_threads) {
  const Entry* entry = nullptr;
  for (const Entry& e : kProblems) {
    if (name == e.name) entry = &e;
  }
  if (entry == nullptr) throw ConfigError("problem", name, "is not a data problem");
  const std::string kind = entry->architecture;
  if (!data.arch.empty() && kind != "cnn" && kind != "transformer") {
    throw ConfigError("arch", data.arch,
                      "applies to the torch models (cnn, transformer); " + name + " is " + kind);
  }
  auto problem = std::make_unique<DataProblem>();
  const std::string dataset = entry->dataset;
  const std::string note = load_dataset(dataset, data, *problem);
  problem->model = make_entry_model(name, entry->architecture, data, *problem, run_threads);
  shard_training_rows(data, workers, *problem);
  const std::size_t n = problem->train.samples;
  const char* unit = problem->text ? " windows" : "";
  problem->description = problem->model->describe() + " on " + dataset + " (" + std::to_string(n) +
                         unit + " train / " + std::to_string(problem->test.samples) + unit +
                         " test, " + to_string(data.split) + " shards" + note + ")";
  problem->metric_names = {"test_loss", "test_accuracy"};
  if (problem->text) problem->metric_names.emplace_back("test_bits_per_char");
  return problem;
}

namespace {

/// The recipes of docs/DATA.md: settings measured on this project's models, with what they reach.
std::optional<Recipe> recipe_for(const std::string& problem, const std::string& method) {
  Recipe r;
  const auto sign_recipe = [&](int batch, double lr, std::int64_t steps, const char* result) {
    r.batch = batch;
    r.lr = lr;
    r.schedule = "cosine";
    r.steps = steps;
    r.weight_decay = 1e-4;
    r.runs = 1;
    r.result = result;
    return r;
  };
  if (problem == "breast-cancer-logreg" && (method == "dsignsgd" || method == "dsgd")) {
    r.batch = 16;
    r.lr = method == "dsignsgd" ? 1e-3 : 0.1;
    r.steps = method == "dsignsgd" ? 5000 : 3000;
    r.runs = 4;
    r.result = method == "dsignsgd" ? "test accuracy 0.952 ± 0.003" : "test accuracy 0.943 ± 0.003";
    return r;
  }
  if (problem == "digits-mlp" && (method == "dsgd" || method == "dcsgd" || method == "dsignsgd")) {
    r.batch = 16;
    r.lr = method == "dsignsgd" ? 0.002 : 0.05;
    r.steps = 1500;
    r.weight_decay = 1e-4;
    r.runs = 4;
    r.result = method == "dsignsgd" ? "test accuracy 0.970 (4 runs)"
               : method == "dsgd"   ? "test accuracy 0.971 (4 runs)"
                                    : "test accuracy 0.969 (4 runs, randk:0.1)";
    return r;
  }
  if (problem == "mnist-mlp") {
    if (method == "dsignsgd") return sign_recipe(128, 1e-3, 6000, "test accuracy 0.9718");
    if (method == "dsgd") return sign_recipe(128, 0.1, 6000, "test accuracy 0.962");
    if (method == "dcsgd") return sign_recipe(128, 0.1, 6000, "test accuracy 0.961 (randk:0.1)");
    if (method == "signum") {
      r.batch = 32;
      r.lr = 1e-4;
      r.steps = 3000;
      r.runs = 1;
      r.result = "test accuracy 0.954";
      return r;
    }
  }
  if (problem == "fashion-mlp" && method == "dsignsgd") {
    return sign_recipe(128, 1e-3, 6000, "test accuracy 0.876");
  }
  if (problem == "fashion-cnn" && method == "dsignsgd") {
    return sign_recipe(64, 2e-3, 4000, "test accuracy 0.8947");
  }
  if (problem == "kjv-transformer" && method == "dsignsgd") {
    sign_recipe(16, 2e-3, 3000, "validation 2.485 bits per character (unigram: 4.545)");
    r.warmup = 100;
    r.eval_batch = 64;
    return r;
  }
  return std::nullopt;
}

}  // namespace

void register_data_problems() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const Entry& e : kProblems) {
      ProblemEntry entry;
      entry.name = e.name;
      entry.has_data = true;
      entry.default_log_rows = 20;
      const std::string name = e.name;
      entry.recipe = [name](const std::string& method) { return recipe_for(name, method); };
      entry.make = [](const ProblemSpec& spec, const DataSpec& data,
                      const ProblemContext& context) -> std::unique_ptr<ProblemSource> {
        return std::make_unique<DataSource>(
            load_data_problem(spec.name, data, context.workers, context.run_threads), data,
            context);
      };
      register_problem(std::move(entry));
    }
  });
}

}  // namespace dsignsgd
