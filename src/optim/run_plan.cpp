#include "dsignsgd/core/enum_names.hpp"
#include "dsignsgd/optim/run_plan.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <thread>

#include "dsignsgd/core/atomic_file.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/nn/data_problem.hpp"

namespace dsignsgd {

std::size_t usable_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  std::size_t bytes = pages <= 0 || page_size <= 0
                          ? std::numeric_limits<std::size_t>::max()
                          : static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size);
  rlimit limit{};  // `ulimit -v`: the process may not map more, whatever the machine has
  if (::getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    bytes = std::min(bytes, static_cast<std::size_t>(limit.rlim_cur));
  }
  return bytes;
}

std::size_t memory_budget_bytes() { return usable_memory_bytes() / 10 * 8; }

std::string gib(std::size_t bytes) {
  return format_double(std::round(static_cast<double>(bytes) / (1 << 30) * 100.0) / 100.0) +
         " GiB";
}
namespace {

constexpr EnumNames<Backend, 2> kBackendNames{
    "backend", {{{Backend::kLocal, "local"}, {Backend::kMpi, "mpi"}}}};
constexpr EnumNames<Reduction, 3> kReductionNames{
    "reduction",
    {{{Reduction::kAllgather, "fixed"},
      {Reduction::kAllreduce, "allreduce"},
      {Reduction::kReduceScatter, "reduce-scatter"}}}};
constexpr EnumNames<Normalization, 2> kNormalizationNames{
    "normalization", {{{Normalization::kPlain, "plain"}, {Normalization::kAdaptive, "adaptive"}}}};


/// The problem names for a message: "quadratic, quartic, cosh, digits-logreg, …".
std::string problem_list() { return join(problem_names(), ", "); }

DataSpec resolve_data(const TrainOptions& o, int eval_batch, double weight_decay) {
  DataSpec data;
  data.data_dir = o.data_dir;
  data.arch = o.arch;
  data.context = o.context;
  data.split = data_split_from_string(o.split);
  data.eval_batch = eval_batch;
  data.eval_batch_given = o.eval_batch.has_value();
  data.weight_decay = weight_decay;
  data.hidden.clear();
  for (double w : parse_double_list(o.hidden, "hidden")) {
    if (!(w >= 1 && w <= 65536 && w == std::floor(w))) {
      throw ConfigError("hidden", o.hidden, "must be positive integer layer widths");
    }
    data.hidden.push_back(static_cast<std::size_t>(w));
  }
  return data;
}

}  // namespace

std::string to_string(Backend backend) { return kBackendNames.to_string(backend); }
Backend backend_from_string(const std::string& name) { return kBackendNames.from_string(name); }
std::string to_string(Reduction reduction) { return kReductionNames.to_string(reduction); }
Reduction reduction_from_string(const std::string& name) {
  return kReductionNames.from_string(name);
}
std::string to_string(Normalization normalization) {
  return kNormalizationNames.to_string(normalization);
}
Normalization normalization_from_string(const std::string& name) {
  return kNormalizationNames.from_string(name);
}

void register_builtin_problems() { register_data_problems(); }

std::unique_ptr<ProblemSource> make_problem_source(const RunPlan& plan, const NoiseModel& noise,
                                                   int run_threads) {
  register_builtin_problems();
  const ProblemEntry* entry = find_problem(plan.problem.name);
  if (entry == nullptr) throw ConfigError("problem", plan.problem.name, "is not registered");
  return entry->make(seeded_problem(plan), plan.data,
                     {&noise, plan.workers, plan.batch, plan.seed, run_threads});
}

namespace {

/// The options a problem's recipe may supply that the plan does not hold as they are.
struct RecipeChoices {
  std::string schedule;
  std::int64_t warmup = 0;
  double weight_decay = 0.0;
  int eval_batch = 512;
};

/// Options the user left unset: the problem's recipe for this method, else the general default.
/// Fills batch, lr, steps, runs and what came from the recipe; returns the other choices.
RecipeChoices apply_recipe(const TrainOptions& o, const ProblemEntry& entry, RunPlan& plan) {
  const std::optional<Recipe> recipe =
      entry.recipe ? entry.recipe(o.method) : std::optional<Recipe>();
  const auto pick = [&](const auto& given, const auto& from_recipe, auto fallback,
                        const char* key) {
    using T = decltype(fallback);
    if (given) return static_cast<T>(*given);
    if (recipe && from_recipe) {
      plan.from_recipe.emplace_back(key);
      return static_cast<T>(*from_recipe);
    }
    return fallback;
  };
  const Recipe none;
  const Recipe& r = recipe ? *recipe : none;
  RecipeChoices choices;
  plan.batch = pick(o.batch, r.batch, 1, "batch");
  plan.lr = pick(o.lr, r.lr, 0.01, "lr");
  choices.schedule = pick(o.schedule, r.schedule, std::string("const"), "schedule");
  choices.warmup = pick(o.warmup, r.warmup, std::int64_t{0}, "warmup");
  plan.steps = pick(o.steps, r.steps, std::int64_t{1000}, "steps");
  plan.runs = pick(o.runs, r.runs, 8, "runs");
  choices.weight_decay = pick(o.weight_decay, r.weight_decay, 0.0, "weight-decay");
  choices.eval_batch = pick(o.eval_batch, r.eval_batch, 512, "eval-batch");
  if (!plan.from_recipe.empty()) plan.recipe_result = r.result;
  return choices;
}

void resolve_problem(const TrainOptions& o, const RecipeChoices& choices, RunPlan& plan) {
  if (plan.has_data) {
    plan.problem.name = o.problem.problem;
    plan.problem.dim = 0;  // the model's parameter count, known when its source is built
    plan.problem.x0 = o.problem.x0;
    plan.problem.x_star = o.problem.x_star;
    plan.problem.seed = o.seed;
    plan.data = resolve_data(o, choices.eval_batch, choices.weight_decay);
  } else {
    ProblemOptions problem = o.problem;
    problem.seed = o.seed;
    plan.problem = ProblemSpec::resolve(problem);
  }
}

void resolve_noise(const TrainOptions& o, RunPlan& plan) {
  plan.noise = NoiseSpec::parse(o.noise.value_or(plan.has_data ? "none" : "gaussian:1"));
  if (o.agent_scales.empty()) return;
  plan.agent_scales = parse_double_list(o.agent_scales, "agent-scales");
  if (plan.agent_scales.size() != static_cast<std::size_t>(o.workers)) {
    throw ConfigError("agent-scales", o.agent_scales,
                      "needs one scale per agent (" + std::to_string(o.workers) + ")");
  }
  for (double s : plan.agent_scales) {
    if (s < 0.0) throw ConfigError("agent-scales", o.agent_scales, "scales must be >= 0");
  }
}

/// The compressor (checked against the method), the method's settings and the schedule.
void resolve_method(const TrainOptions& o, const RecipeChoices& choices, RunPlan& plan) {
  const std::string compressor_spec =
      o.compressor.empty() ? plan.method->default_compressor : o.compressor;
  plan.compressor = make_compressor(compressor_spec);
  plan.method->check_compressor(*plan.compressor, compressor_spec);
  MethodSettings& m = plan.settings;
  m.momentum = o.momentum;
  m.normalization = normalization_from_string(o.normalization);
  m.l0 = o.l0;
  m.l1 = o.l1;
  if (plan.method->step == StepRuleKind::kNormalized &&
      m.normalization == Normalization::kAdaptive && m.l0 == 0.0 && m.l1 == 0.0) {
    throw ConfigError("l0", "0", "L0 and L1 cannot both be 0");
  }
  const bool affine = plan.noise.kind == NoiseKind::kAffine;
  m.sigma0 = o.sigma0.value_or(affine ? plan.noise.sigma0 : 0.0);
  m.sigma1 = o.sigma1.value_or(affine ? plan.noise.sigma1
                               : plan.noise.kind == NoiseKind::kRelative ? plan.noise.sigma
                                                                         : 0.0);
  m.norm_floor = o.norm_floor;
  plan.schedule.kind = schedule_kind_from_string(choices.schedule);
  plan.schedule.warmup = static_cast<std::uint64_t>(choices.warmup);
  if (o.warmup && *o.warmup > 0 && *o.warmup >= plan.steps) {
    throw ConfigError("warmup", std::to_string(*o.warmup),
                      "must be < --steps (" + std::to_string(plan.steps) +
                          "): the run would never reach its learning rate");
  }
  plan.workers = o.workers;
}

void resolve_ensemble(const TrainOptions& o, const ProblemEntry& entry, RunPlan& plan) {
  plan.seed = o.seed;
  plan.tail_fraction = o.tail_fraction;
  plan.log_every =
      o.log_every.value_or(std::max<std::int64_t>(1, plan.steps / entry.default_log_rows));
  plan.log_every_given = o.log_every.has_value();
  plan.threads = o.threads;
  plan.divergence_factor = o.divergence_factor;
}

void resolve_backend(const TrainOptions& o, RunPlan& plan) {
  plan.backend = backend_from_string(o.backend);
  plan.agents_per_rank = o.agents_per_rank;
  plan.comm_timeout = o.comm_timeout;
  plan.reduction = reduction_from_string(o.reduction);
  if (plan.reduction == Reduction::kAllreduce && !plan.method->dense()) {
    throw ConfigError("reduction", o.reduction,
                      "applies to methods that send fp32 gradients (dsgd) only (--method " +
                          plan.method->name + " exchanges compressed messages)");
  }
  if (plan.reduction == Reduction::kReduceScatter) {
    if (!plan.compressor->sign_payload()) {
      throw ConfigError("reduction", o.reduction,
                        "needs 1-bit sign messages (--compressor sign; methods dsignsgd, majority, "
                        "signum), not " + plan.compressor->name());
    }
    if (plan.workers > 65535) {
      throw ConfigError("reduction", o.reduction, "counts at most 65535 agents");
    }
  }
}

void resolve_output(const TrainOptions& o, RunPlan& plan) {
  plan.checkpoint_dir = o.checkpoint_dir;
  plan.checkpoint_every = o.checkpoint_every;
  plan.resume = o.resume;
  if (!plan.resume.empty() && !std::filesystem::is_directory(plan.resume)) {
    throw ConfigError("resume", o.resume, "is not a directory of checkpoints");
  }
  if (!plan.resume.empty() && ::access(o.resume.c_str(), R_OK | X_OK) != 0) {
    throw ConfigError("resume", o.resume, "cannot be read");
  }
  // A checkpoint directory that cannot be written would only fail at the first checkpoint.
  if (!plan.checkpoint_dir.empty()) require_writable_directory("checkpoint-dir", plan.checkpoint_dir);
}

}  // namespace

RunPlan make_run_plan(const TrainOptions& o) {
  register_builtin_problems();
  o.validate();
  RunPlan plan;
  plan.method = &method_from_string(o.method);
  const ProblemEntry* entry = find_problem(o.problem.problem);
  if (entry == nullptr) {
    throw ConfigError("problem", o.problem.problem, "must be one of " + problem_list());
  }
  plan.has_data = entry->has_data;
  const RecipeChoices choices = apply_recipe(o, *entry, plan);
  resolve_problem(o, choices, plan);
  resolve_noise(o, plan);
  resolve_method(o, choices, plan);
  resolve_ensemble(o, *entry, plan);
  resolve_backend(o, plan);
  resolve_output(o, plan);
  // The traces of a data problem are checked now; its state once its dimension is known.
  check_memory(plan, plan.has_data ? 0 : plan.problem.dim);
  return plan;
}

nlohmann::json plan_json(const RunPlan& p) {
  const MethodSettings& m = p.settings;
  return {{"method", p.method->name},
          {"compressor", p.compressor->name()},
          {"problem", p.problem.name},
          {"dim", p.problem.dim},
          {"hessian", p.problem.spectrum.text},
          {"rotate", p.problem.rotate},
          {"x0", p.problem.x0},
          {"x-star", p.problem.x_star},
          {"noise", p.noise.to_string()},
          {"agent-scales", p.agent_scales},
          {"workers", p.workers},
          {"batch", p.batch},
          {"lr", p.lr},
          {"schedule", to_string(p.schedule.kind)},
          {"warmup", p.schedule.warmup},
          {"steps", p.steps},
          {"runs", p.runs},
          {"seed", p.seed},
          {"tail-fraction", p.tail_fraction},
          {"log-every", p.log_every},
          {"momentum", m.momentum},
          {"normalization", to_string(m.normalization)},
          {"l0", m.l0},
          {"l1", m.l1},
          {"sigma0", m.sigma0},
          {"sigma1", m.sigma1},
          {"norm-floor", m.norm_floor},
          {"divergence-factor", p.divergence_factor},
          {"backend", to_string(p.backend)},
          {"agents-per-rank", p.agents_per_rank},
          {"reduction", to_string(p.reduction)},
          {"data-dir", p.data.data_dir.string()},
          {"hidden", p.data.hidden},
          {"arch", p.data.arch},
          {"context", p.data.context},
          {"split", to_string(p.data.split)},
          {"eval-batch", p.data.eval_batch},
          {"weight-decay", p.data.weight_decay},
          {"recipe", p.from_recipe.empty()
                         ? nlohmann::json(nullptr)
                         : nlohmann::json{{"options", p.from_recipe},
                                          {"reached", p.recipe_result},
                                          {"source", "docs/DATA.md"}}}};
}

ProblemSpec seeded_problem(const RunPlan& plan) {
  ProblemSpec spec = plan.problem;
  spec.seed = plan.seed;
  return spec;
}

std::string recipe_summary(const RunPlan& plan) {
  if (plan.from_recipe.empty()) return "";
  const nlohmann::json config = plan_json(plan);
  std::vector<std::string> items;
  for (const std::string& key : plan.from_recipe) {
    const nlohmann::json& value = config[key];
    items.push_back(key + " " +
                    (value.is_string() ? value.get<std::string>()
                     : value.is_number_float() ? format_double(value.get<double>())
                                               : value.dump()));
  }
  return join(items, ", ") + " (the recipe of docs/DATA.md for " + plan.problem.name + " with " +
         plan.method->name + ": " + plan.recipe_result + ")";
}

std::string plan_fingerprint(const RunPlan& plan) {
  nlohmann::json config = plan_json(plan);
  // A synthetic run reads no data: where the data would be ($DSIGNSGD_DATA_DIR, --data-dir) is
  // not part of what it computes, and a resume from another environment is the same run.
  if (!plan.has_data) config.erase("data-dir");
  return config.dump();
}

namespace {

std::string fingerprint_value(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

std::vector<FingerprintDifference> fingerprint_differences(const std::string& before,
                                                           const std::string& now) {
  const nlohmann::json a = nlohmann::json::parse(before, nullptr, false);
  const nlohmann::json b = nlohmann::json::parse(now, nullptr, false);
  std::vector<FingerprintDifference> out;
  if (a.is_discarded() || b.is_discarded() || !a.is_object() || !b.is_object()) return out;
  for (const auto& [key, value] : b.items()) {
    if (!a.contains(key) || a[key] != value) {
      out.push_back({key, a.contains(key) ? fingerprint_value(a[key]) : "∅",
                     fingerprint_value(value)});
    }
  }
  for (const auto& [key, value] : a.items()) {  // keys the first has and the second has not
    if (!b.contains(key)) out.push_back({key, fingerprint_value(value), "∅"});
  }
  return out;
}

std::string describe_difference(const std::string& before, const std::string& now) {
  std::string text;
  for (const FingerprintDifference& d : fingerprint_differences(before, now)) {
    text += (text.empty() ? "" : ", ") + d.key + ": " + d.before + " → " + d.now;
  }
  return text.empty() ? "the configurations differ" : text;
}

int resolved_threads(const RunPlan& plan) {
  if (plan.backend == Backend::kMpi) return 1;  // the runs go one after another on every rank
  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  return std::min(plan.threads > 0 ? plan.threads : static_cast<int>(hardware), plan.runs);
}

namespace {

std::size_t saturated_bytes(double total) {
  const double bound = static_cast<double>(std::numeric_limits<std::size_t>::max()) / 2;
  return total > bound ? std::numeric_limits<std::size_t>::max() / 2
                       : static_cast<std::size_t>(total);
}

}  // namespace

std::size_t estimate_memory_bytes(const RunPlan& plan, std::size_t dim, int threads) {
  const auto d = static_cast<double>(dim);
  const auto n = static_cast<double>(plan.workers);
  // Per active run: x, grad, agent grad, decoded, direction, N filter states, N messages (<= 8d).
  const double per_run = d * 4.0 * 5.0 + n * d * 4.0 + n * (d * 8.0 + 64.0);
  double total = per_run * threads;
  if (plan.problem.rotate) total += 2.0 * d * d * 8.0;
  return saturated_bytes(total);
}

std::int64_t logged_row_count(const RunPlan& plan) {
  const std::int64_t every = std::max<std::int64_t>(1, plan.log_every);
  return plan.steps / every + (plan.steps % every != 0 ? 1 : 0) + 1;
}

std::size_t estimate_trace_bytes(const RunPlan& plan) {
  // Every run keeps its logged rows until the end: loss, gradient norm and the data problems'
  // extra metrics (at most 4) as doubles; plus the logged steps and about 160 bytes of
  // metrics.csv per row.
  const auto rows = static_cast<double>(logged_row_count(plan));
  const double values_per_row = 2.0 + (plan.has_data ? 4.0 : 0.0);
  return saturated_bytes(rows * (static_cast<double>(plan.runs) * values_per_row * 8.0 + 8.0 + 160.0));
}

void require_finite_start(const RunPlan& plan, double f0) {
  if (!plan.has_data && !std::isfinite(f0)) {
    throw ConfigError("x0", format_double(plan.problem.x0),
                      "f(x0) overflows (" + format_double(f0) +
                          ") with this --hessian: choose a smaller start point or spectrum");
  }
}

void check_memory(const RunPlan& plan, std::size_t dim) {
  const int threads = resolved_threads(plan);
  const std::size_t state = estimate_memory_bytes(plan, dim, threads);
  const std::size_t traces = estimate_trace_bytes(plan);
  const std::size_t budget = memory_budget_bytes();
  const std::string machine = "; the process may use " + gib(usable_memory_bytes());
  if (traces > budget || (state <= budget && traces > budget - state)) {
    // The culprit: the logging rate when it was given, else the number of runs.
    const std::int64_t rows = logged_row_count(plan);
    if (!plan.log_every_given) {
      throw ConfigError("runs", std::to_string(plan.runs),
                        "keep " + std::to_string(rows) +
                            " logged rows each, about " + gib(traces + state) + machine +
                            "; run fewer");
    }
    throw ConfigError("log-every", std::to_string(plan.log_every),
                      "logs " + std::to_string(rows) +
                          " rows of " + std::to_string(plan.runs) + " runs (--steps " +
                          std::to_string(plan.steps) + "), about " + gib(traces + state) +
                          " with the iterates" + machine + "; log less often");
  }
  if (state > budget) {
    throw ConfigError("dim", std::to_string(dim),
                      "needs about " + gib(state) + " of memory with " +
                          std::to_string(plan.workers) + " workers and " +
                          std::to_string(threads) + " threads" + machine);
  }
}

}  // namespace dsignsgd
