// Experiment `edge` of `dsignsgd reproduce`: the SDE models against the algorithm from small
// steps up to the stability limit — stationary floors and transients of every drift correction ×
// integrator × substeps, the table docs/SDE.md chooses the defaults from.
#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "dsignsgd/core/join.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/sde/simulate.hpp"
#include "dsignsgd/stats/verdict.hpp"
#include "dsignsgd/theory/predict.hpp"
#include "dsignsgd/theory/stationary.hpp"
#include "experiment_support.hpp"

namespace dsignsgd::reproduce_detail {
namespace {

/// What `predict`'s floor is for a case, and so what the edge checks hold it to.
enum class FloorForm {
  kExact,        ///< DSGD, DCSGD rand-k: exact at every stable z; every model has a closed form
  kFixedPoint,   ///< DCSGD QSGD, natural: predict's fixed point, valid to η ≤ ½ lr_max; no
                 ///< model closed form (the compression covariance depends on the state)
  kLinearPhase,  ///< sign methods: the linear phase's form, not judged here
};

/// One method and noise of the sweep.
struct EdgeCase {
  const char* key;     ///< column of the data files
  const char* label;   ///< for the report
  const char* column;  ///< the report's per-model table
  const char* method;
  const char* compressor;
  const char* noise;
  FloorForm form;
  const char* figure;  ///< stem of the figure its panel is in
};

constexpr EdgeCase kCases[] = {
    {"dsgd", "DSGD, Gaussian σ = 1", "DSGD", "dsgd", "identity", "gaussian:1", FloorForm::kExact,
     "edge_linear"},
    {"dcsgd", "DCSGD rand-k k/d = 1/4 (ω = 3), Gaussian σ = 1", "DCSGD rand-k", "dcsgd",
     "randk:0.25", "gaussian:1", FloorForm::kExact, "edge_linear"},
    {"dsignsgd", "DSignSGD, Gaussian σ = 1", "DSignSGD Gaussian", "dsignsgd", "sign", "gaussian:1",
     FloorForm::kLinearPhase, "edge_sign"},
    {"dsignsgd-t3", "DSignSGD, Student-t ν = 3, σ = 1", "DSignSGD Student-t 3", "dsignsgd", "sign",
     "student:3:1", FloorForm::kLinearPhase, "edge_sign"},
    {"dcsgd-qsgd", "DCSGD QSGD s = 2, Gaussian σ = 1", "DCSGD QSGD s = 2", "dcsgd", "qsgd:2",
     "gaussian:1", FloorForm::kFixedPoint, "edge_quantizer"},
    {"dcsgd-natural", "DCSGD natural compression, Gaussian σ = 1", "DCSGD natural", "dcsgd",
     "natural", "gaussian:1", FloorForm::kFixedPoint, "edge_quantizer"},
};

/// One way of simulating the SDE.
struct ModelConfig {
  const char* drift;
  const char* integrator;
  int substeps;
};

std::string config_name(const ModelConfig& c) {
  return std::string(c.drift) + " " + c.integrator + "/" + std::to_string(c.substeps);
}

/// The name in the data files (gnuplot selects on it): drift-integrator-substeps.
std::string config_key(const ModelConfig& c) {
  return std::string(c.drift) + "-" + c.integrator + "-" + std::to_string(c.substeps);
}

/// `dsignsgd sde`'s defaults (SdeOptions).
bool is_default(const ModelConfig& c) {
  const SdeOptions defaults;
  return c.drift == defaults.drift_correction && c.integrator == defaults.integrator &&
         c.substeps == defaults.substeps;
}

/// The linearized contraction of one step per unit curvature: one step multiplies a coordinate's
/// mean by 1 − η λ·slope (DSGD 1; DCSGD in mean square 1 + ω/N; sign methods ℓ/σ, κ_N ℓ/σ). For
/// QSGD and natural compression, whose ω depends on the state, 2 / (λ lr_max) with predict's
/// lr_max: z = 2 is its stability limit as for the others.
double contraction_slope(const RunPlan& plan, FloorForm form) {
  if (form == FloorForm::kFixedPoint) {
    return 2.0 / predict(plan).floor.stability.value().lr_max;  // λ = 1
  }
  switch (plan.method->model) {
    case ModelFamily::kGradient:  // the identity's ω is 0: DSGD's slope is 1
      return 1.0 + plan.compressor->omega(plan.problem.dim) / plan.workers;
    case ModelFamily::kSign: {
      const double slope = plan.noise.small_signal_slope() / plan.noise.sigma;
      if (!plan.method->majority_vote()) return slope;
      return predict(plan).floor.vote_slope_kappa.value_or(1.0) * slope;
    }
    case ModelFamily::kNone:
      break;
  }
  return 1.0;
}

/// Stationary floor and the early mean-loss curve of one ensemble.
struct Measured {
  SampleStatistics floor;
  std::vector<SampleStatistics> curve;  ///< per logged row up to the transient horizon
  int diverged_runs = 0;
  int runs = 0;
};

Measured measure(const TrainResult& result, std::int64_t horizon) {
  Measured m;
  const LossSummary summary = summarize_loss(result);
  m.floor = summary.tail_loss;
  m.diverged_runs = summary.diverged_runs;
  m.runs = static_cast<int>(result.runs.size());
  for (std::size_t row = 0; row < result.logged_steps.size(); ++row) {
    if (result.logged_steps[row] > horizon) break;
    m.curve.push_back(loss_statistics(result, row));
  }
  return m;
}

/// The transient weak error max_k |E f_sde(t_k) − E f(x_k)| / f(x0) over the horizon, with the
/// standard error of the difference at the maximizing time.
std::pair<double, double> transient_error(const Measured& algorithm, const Measured& sde,
                                          double initial_loss) {
  double worst = 0.0, worst_stderr = 0.0;
  for (std::size_t k = 0; k < std::min(algorithm.curve.size(), sde.curve.size()); ++k) {
    const double gap = std::abs(sde.curve[k].mean - algorithm.curve[k].mean);
    if (!(gap <= worst)) {
      worst = gap;
      worst_stderr = std::hypot(sde.curve[k].stderr_, algorithm.curve[k].stderr_);
    }
  }
  return {worst / initial_loss, worst_stderr / initial_loss};
}

int base_runs(const ReproduceOptions& options) { return options.quick ? 24 : 48; }

/// The figures: each case's floor ratio against z, one line per model (DSGD with the continuous
/// models' closed forms).
std::vector<Figure> edge_figures() {
  const std::string model_title =
      "(m eq 'none-euler-1' ? 'default: no correction, Euler Δt = η' : "
      "m eq 'none-euler-16' ? 'no correction, 16 substeps' : "
      "m eq 'classic-euler-16' ? 'classic, 16 substeps' : 'stability, 16 substeps')";
  std::vector<Figure> figures;
  for (std::size_t c = 0; c < std::size(kCases); ++c) {
    const EdgeCase& ec = kCases[c];
    const bool first = c == 0 || std::string(kCases[c - 1].figure) != ec.figure;
    if (first) figures.push_back({.stem = ec.figure});
    Panel panel{.title = ec.label,
                .xlabel = "z = η λ × slope (stable for z < 2)",
                .ylabel = "SDE floor / algorithm floor (± s.e.)",
                .log_y = true,
                .key = first ? "bottom left" : "off"};
    panel.settings = {"set xrange [0:2]", "set yrange [0.02:3]"};
    const std::string select = "strcol(1) eq '" + std::string(ec.key) + "' && strcol(4) eq m";
    panel.series = {
        {.data = "edge_models.csv",
         .for_each = "m in 'none-euler-1 none-euler-16 classic-euler-16 stability-euler-16'",
         .columns = "(" + select + " ? $2 : 1/0):7:8",
         .style = "yerrorlines pt 7 ps 0.6",
         .title = model_title}};
    if (std::string(ec.key) == "dsgd") {  // the continuous models' DSGD closed forms
      panel.series.push_back(
          {.function = "(2-x)/2", .style = "lines dt 2 lc 'black'", .title = title("(2 − z)/2")});
      panel.series.push_back({.function = "(2-x)/(2+x)",
                              .style = "lines dt 3 lc 'black'",
                              .title = title("(2 − z)/(2 + z)")});
    }
    figures.back().panels.push_back(std::move(panel));
  }
  return figures;
}

/// The edge experiment: every case at every z, the algorithm and each SDE model, collected into
/// the tables, the per-model cells of the report and the three checks.
class EdgeExperiment {
 public:
  explicit EdgeExperiment(const ReproduceOptions& options) : options_(options) {
    // At least five points on every line, in both profiles.
    zs_ = options.quick ? std::vector<double>{0.1, 0.5, 1.0, 1.5, 1.9}
                        : std::vector<double>{0.05, 0.2, 0.5, 1.0, 1.5, 1.9};
    for (const char* drift : {"none", "classic", "stability"}) {
      configs_.push_back({drift, "euler", 1});
      if (!options.quick) configs_.push_back({drift, "euler", 4});
      configs_.push_back({drift, "euler", 16});
      if (!options.quick) configs_.push_back({drift, "platen2", 4});
    }
  }

  Section run() {
    for (std::size_t c = 0; c < std::size(kCases); ++c) run_case(c);
    return declare();
  }

 private:
  // DCSGD beyond z = 1.5: the stationary law's fourth moment is infinite (multiplicative
  // compression noise), so no number of runs gives its floor a standard error.
  static constexpr double kDcsgdLimit = 1.5;

  /// What one (case, z) shares across the models.
  struct Point {
    std::size_t case_index = 0;
    double z = 0.0;
    std::string cell_z;
    RunPlan plan;
    Measured algorithm;
    double f0 = 0.0;
    double closed_form = 0.0;
    double omega = 0.0;
    std::int64_t horizon = 0;
  };

  void run_case(std::size_t c) {
    const EdgeCase& ec = kCases[c];
    TrainOptions base;
    base.method = ec.method;
    base.compressor = ec.compressor;
    base.noise = ec.noise;
    base.problem.dim = 16;
    base.problem.hessian = "identity";
    base.problem.x0 = 2.0;
    base.workers = 4;
    base.runs = base_runs(options_);
    base.seed = options_.seed + 100 * c;
    base.tail_fraction = 0.7;
    base.divergence_factor = 1e6;
    const RunPlan base_plan = make_run_plan(base);
    const double omega = std::string(ec.method) == "dcsgd" ? base_plan.compressor->omega(16) : 0.0;
    const double slope = contraction_slope(base_plan, ec.form);
    for (double z : zs_) {
      if (std::string(ec.method) == "dcsgd" && z > kDcsgdLimit) {
        for (const ModelConfig& config : configs_) cells_[config_name(config)][ec.key].push_back("—");
        continue;
      }
      run_point(c, base, omega, z, slope);
    }
  }

  void run_point(std::size_t c, TrainOptions o, double omega, double z, double slope) {
    const EdgeCase& ec = kCases[c];
    Point point;
    point.case_index = c;
    point.z = z;
    point.cell_z = format_double(z);
    o.lr = z / slope;
    // Burn-in (30 %) of at least 12 relaxation times of the slowest model; one row per step.
    const auto steps = static_cast<std::int64_t>(std::max(240.0, std::ceil(40.0 / z)));
    o.steps = steps;
    o.log_every = 1;
    point.horizon = steps * 3 / 10;
    note(options_, "edge: " + std::string(ec.key) + " z = " + point.cell_z);
    point.plan = make_run_plan(o);  // resolved once for the method and every model
    const TrainResult algorithm_result = train(point.plan);
    point.algorithm = measure(algorithm_result, point.horizon);
    point.f0 = algorithm_result.initial_loss;
    const MethodFloor floor = predict(point.plan).floor;
    point.closed_form = floor.value_or_nan();
    point.omega = omega;
    floors_.add({std::string(ec.key), z, point.algorithm.floor.mean,
                 point.algorithm.floor.stderr_, point.closed_form});
    // Exact for DSGD and DCSGD rand-k at every stable z, and QSGD's/natural's fixed point where
    // predict calls it valid; the sign methods' form is the linear phase's.
    const bool judged = ec.form == FloorForm::kExact ||
                        (ec.form == FloorForm::kFixedPoint && floor.regime && floor.regime->valid);
    if (judged && !verdict::matches_prediction(point.algorithm.floor.mean,
                                               point.algorithm.floor.stderr_, point.closed_form,
                                               0.05)) {
      closed_form_misses_.push_back(std::string(ec.key) + " at z = " + point.cell_z);
    }
    for (const ModelConfig& config : configs_) run_model(point, config);
  }

  void run_model(const Point& point, const ModelConfig& config) {
    const EdgeCase& ec = kCases[point.case_index];
    std::vector<std::string>& cell = cells_[config_name(config)][ec.key];
    if (ec.form == FloorForm::kFixedPoint && std::string(config.integrator) == "platen2") {
      // Platen's scheme needs a coordinate-wise diffusion; the quantizers' Monte Carlo
      // covariance is not one, and the surrogate is the covariance this sweep shows is wrong.
      cell.push_back("n/a");
      return;
    }
    SdeOptions sde;
    sde.drift_correction = config.drift;
    sde.integrator = config.integrator;
    sde.substeps = config.substeps;
    if (std::string(ec.method) == "dcsgd" && std::string(config.integrator) == "platen2") {
      sde.compression_covariance = "surrogate";  // platen2 refuses the rank-one covariance
    }
    const SdePlan sde_plan = SdePlan::resolve(sde, point.plan);
    const Measured model = measure(simulate_sde(point.plan, sde_plan).result, point.horizon);
    const Measured& algorithm = point.algorithm;
    const double ratio = model.floor.mean / algorithm.floor.mean;
    const double ratio_stderr =
        std::abs(ratio) * std::hypot(model.floor.stderr_ / model.floor.mean,
                                     algorithm.floor.stderr_ / algorithm.floor.mean);
    const auto [transient, transient_stderr] = transient_error(algorithm, model, point.f0);
    const bool diverged = model.diverged_runs > 0;
    // The model's own closed form (linear methods), as a ratio to the method's floor.
    const double form_ratio =
        ec.form == FloorForm::kExact ? check_model_form(point, config, sde_plan, model) : NAN;
    judge_default(point, config, model, ratio, ratio_stderr);
    data_rows_.push_back(
        {point.case_index,
         static_cast<std::size_t>(&config - configs_.data()),
         point.z,
         {std::string(ec.key), point.z, point.plan.lr, config_key(config),
          diverged ? NAN : model.floor.mean, diverged ? NAN : model.floor.stderr_,
          diverged ? NAN : ratio, diverged ? NAN : ratio_stderr, form_ratio,
          diverged ? NAN : transient, diverged ? NAN : transient_stderr,
          static_cast<std::int64_t>(model.diverged_runs)}});
    cell.push_back(diverged ? std::string("diverges")
                            : significant(ratio, 2) + " / " + significant(transient, 2));
  }

  /// The model's own closed-form floor (DSGD, DCSGD) against its measured one, divergence
  /// included; returns it as a ratio to the method's floor.
  double check_model_form(const Point& point, const ModelConfig& config, const SdePlan& sde_plan,
                          const Measured& model) {
    const bool diverged = model.diverged_runs > 0;
    const FloorPrediction form =
        gradient_sde_floor(std::vector<double>(16, 1.0), 1.0, point.omega, 4, point.plan.lr,
                           sde_plan.drift_correction, config.substeps, sde_plan.integrator);
    // Platen's scheme with multiplicative (compression) noise has no closed form (NaN).
    const bool has_form = !std::isnan(form.value);
    const bool expected_divergence = !form.stable;
    if (has_form &&
        (diverged != expected_divergence ||
         (!diverged && !verdict::matches_prediction(model.floor.mean, model.floor.stderr_,
                                                    form.value, 0.05)))) {
      model_form_misses_.push_back(std::string(kCases[point.case_index].key) + " " +
                                   config_name(config) + " at z = " + point.cell_z);
    }
    return form.stable ? form.value / point.closed_form : INFINITY;
  }

  /// The default model must have the method's floor and never diverge.
  void judge_default(const Point& point, const ModelConfig& config, const Measured& model,
                     double ratio, double ratio_stderr) {
    if (!is_default(config)) return;
    const bool diverged = model.diverged_runs > 0;
    if (!diverged) {
      if (ratio < default_lowest_.first) default_lowest_ = {ratio, ratio_stderr};
      if (ratio > default_highest_.first) default_highest_ = {ratio, ratio_stderr};
    }
    if (diverged || !verdict::matches_prediction(model.floor.mean, model.floor.stderr_,
                                                 point.algorithm.floor.mean, 0.05)) {
      default_misses_.push_back(std::string(kCases[point.case_index].key) + " at z = " +
                                point.cell_z);
    }
  }

  /// The per-model view of the report: one row per model, one cell per case.
  Table model_view() {
    std::vector<Table::Column> columns{{"model (drift integrator/substeps)", ""}};
    for (const EdgeCase& ec : kCases) columns.push_back({ec.column, ""});
    Table view(columns);
    for (const ModelConfig& config : configs_) {
      const auto& row = cells_[config_name(config)];
      std::vector<Table::Cell> cells{config_name(config) +
                                     (is_default(config) ? " (default)" : "")};
      for (const EdgeCase& ec : kCases) cells.push_back(join(row.at(ec.key), " · "));
      view.add(std::move(cells));
    }
    return view;
  }

  Section declare() {
    Section section;
    section.name = "edge";
    section.paper = "[B]; this project";
    section.claim =
        "Up to the stability limit z = 2, the SDE with the method's own step (Euler, Δt = η, no "
        "correction) has the method's floor; the continuous SDE's floor is the method's × "
        "(2 − z)/2 uncorrected, × (2 − z)/(2 + z) with the classic second-order drift, and exact "
        "with [B]'s stability correction +(η/2) J_φ φ (docs/THEORY.md §2); with QSGD and natural "
        "compression the default model's Monte Carlo compression covariance keeps the method's "
        "floor too (issue 26).";
    std::sort(data_rows_.begin(), data_rows_.end(), [](const DataRow& a, const DataRow& b) {
      return std::tie(a.case_index, a.config_index, a.z) <
             std::tie(b.case_index, b.config_index, b.z);
    });
    for (DataRow& row : data_rows_) data_.add(std::move(row.cells));
    const Table view = model_view();
    std::vector<std::string> z_texts;
    for (double z : zs_) z_texts.push_back(format_double(z));
    const std::string zlist = join(z_texts, ", ");
    section.body = {
        Paragraph{"Quadratic f = ½‖x‖² (d = 16, λ = 1), N = 4 agents, x0 = 2 per coordinate, " +
                  std::to_string(base_runs(options_)) +
                  " runs. z = η λ × slope, the contraction of one step (slope 1 for DSGD, 1 + ω/N "
                  "for DCSGD rand-k in mean square, ℓ/σ for DSignSGD; for QSGD and natural "
                  "compression, whose variance depends on the state, z = 2η/lr_max with `predict`'s "
                  "lr_max); the methods are stable for z < 2. "
                  "Each cell lists, for z = " +
                  zlist +
                  ", the SDE's stationary floor over the algorithm's and its transient weak error "
                  "max_k |E f_sde − E f| / f(x0) over the first 30 % of the steps; `diverges`: the "
                  "integration blew up where the method did not; — : DCSGD beyond z = 1.5, where "
                  "its stationary law has no fourth moment and no floor estimate has a standard "
                  "error; n/a: Platen's scheme refuses the quantizers' state-dependent covariance. "
                  "Standard errors, and each model's own closed-form floor, are in "
                  "`edge_models.csv`."},
        view};
    if (std::isfinite(default_lowest_.first)) {
      section.headline = "default SDE's floor / the method's, over every method and z: " +
                         significant(default_lowest_.first, 3) + " ± " +
                         significant(default_lowest_.second, 1) + " to " +
                         significant(default_highest_.first, 3) + " ± " +
                         significant(default_highest_.second, 1);
    }
    // A check holds when it missed nowhere; the misses are listed after its text.
    const auto check = [](const std::string& text, const std::vector<std::string>& misses) {
      return Check{text + (misses.empty() ? std::string() : ": misses " + join(misses, "; ")),
                   misses.empty()};
    };
    section.checks = {
        check("predict's floors match the algorithm's: DSGD's and DCSGD rand-k's exact forms at "
              "every z, QSGD's and natural's fixed point wherever predict calls it valid "
              "(3 s.e. + 5 %)",
              closed_form_misses_),
        check("every SDE model's DSGD and DCSGD rand-k floor matches its own closed form "
              "(theory/stationary.hpp, 3 s.e. + 5 %), divergence included",
              model_form_misses_),
        check("the default model (`dsignsgd sde` without flags) has every method's floor at "
              "every z (3 s.e. + 5 %) and never diverges",
              default_misses_)};
    section.data = {{"edge_models.csv", data_}, {"edge_floors.csv", floors_}};
    section.figures = edge_figures();
    return section;
  }

  /// A row of edge_models.csv, sorted by case, model and z before printing (gnuplot draws one
  /// line per model through consecutive rows).
  struct DataRow {
    std::size_t case_index, config_index;
    double z;
    std::vector<Table::Cell> cells;
  };

  const ReproduceOptions& options_;
  std::vector<double> zs_;
  std::vector<ModelConfig> configs_;
  Table data_{{{"", "case"},
               {"", "z"},
               {"", "lr"},
               {"", "model"},
               {"", "floor"},
               {"", "floor_stderr"},
               {"", "floor_ratio"},
               {"", "floor_ratio_stderr"},
               {"", "model_closed_form_ratio"},
               {"", "transient_error"},
               {"", "transient_stderr"},
               {"", "diverged_runs"}}};
  Table floors_{{{"", "case"}, {"", "z"}, {"", "algorithm"}, {"", "stderr"}, {"", "closed_form"}}};
  // Where each check missed: predict's floors (exact ones, and valid fixed points), every model's
  // own floor (DSGD, DCSGD rand-k), the default model (the method's floor, never diverging).
  std::vector<std::string> closed_form_misses_, model_form_misses_, default_misses_;
  // The default model's floor over the method's: the smallest and the largest (ratio, s.e.).
  std::pair<double, double> default_lowest_{INFINITY, 0.0}, default_highest_{-INFINITY, 0.0};
  // config → case → one entry per z, joined with " · " in the report
  std::map<std::string, std::map<std::string, std::vector<std::string>>> cells_;
  std::vector<DataRow> data_rows_;
};

}  // namespace

/// Issue 14: floors and transients of DSGD, DCSGD and DSignSGD against z = η λ × slope up to the
/// stability limit, beside each SDE model (drift correction × integrator × substeps).
Section stability_edge(const ReproduceOptions& options) { return EdgeExperiment(options).run(); }

}  // namespace dsignsgd::reproduce_detail
