// Experiment `realnoise` of `dsignsgd reproduce` (issue 28): the papers' claims on real networks'
// own gradient noise — no injected noise. What the noise is (noise-probe at the start, middle
// and end of plain SGD), how DSGD, DCSGD (rand-k and QSGD at two ω each), DSignSGD, majority
// vote and EF-SignSGD compare on it with each method's η tuned on the same grid by the same
// rule, and whether `scale`'s trajectory rules (η, B, N for rand-k at ω = 1, 3, 7) give DCSGD
// back DSGD's training loss.
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/nn/model.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/reproduce/table.hpp"
#include "dsignsgd/stats/local_model.hpp"
#include "dsignsgd/stats/noise_probe.hpp"
#include "dsignsgd/theory/scaling.hpp"
#include "experiment_support.hpp"

namespace dsignsgd::reproduce_detail {
namespace {

/// The methods compared; `family` chooses the centre of the η grid and the figure's colour.
struct Candidate {
  const char* key;  ///< in the CSVs and figures
  const char* method;
  const char* compressor;  ///< "" = the method's default
  const char* family;      ///< gradient | sign | ef
};

constexpr Candidate kCandidates[] = {
    {"dsgd", "dsgd", "identity", "gradient"},
    {"randk-0.5", "dcsgd", "randk:0.5", "gradient"},
    {"randk-0.125", "dcsgd", "randk:0.125", "gradient"},
    {"qsgd-16", "dcsgd", "qsgd:16:512", "gradient"},
    {"qsgd-2", "dcsgd", "qsgd:2:512", "gradient"},
    {"dsignsgd", "dsignsgd", "sign", "sign"},
    {"majority", "majority", "", "sign"},
    {"ef-signsgd", "ef-signsgd", "", "ef"},
};
constexpr std::size_t kCandidateCount = std::size(kCandidates);

/// One network at one batch size and its settings. η grids are `grid` × the family's centre.
struct Network {
  std::string key;  ///< in the CSVs and figures: problem and batch
  std::string problem;
  std::string label;
  int batch = 16;
  double weight_decay = 0.0;
  std::int64_t steps = 0;
  int runs = 5;
  std::vector<int> workers;
  std::vector<double> grid;
  std::map<std::string, double> centre;  ///< family → η
  std::vector<std::int64_t> probe_at;
  int draws = 128;
  bool scaling = false;  ///< the scaling-rule rows run on this network
  int eval_rows = 256;   ///< training rows (text: windows) of the logged training loss
};

/// The digits MLP at B = 1 (single-sample gradients: the noise dominates the step) and B = 16 in
/// both profiles — quick: N = 4, the centre η only; full: N = 4 and 8, three η per method, and
/// the Fashion-MNIST MLP and (libtorch component) the KJV character transformer beside them.
std::vector<Network> networks(const ReproduceOptions& options) {
  const bool quick = options.quick;
  const std::vector<double> grid =
      quick ? std::vector<double>{1.0} : std::vector<double>{1.0 / 3, 1.0, 3.0};
  const std::vector<int> workers = quick ? std::vector<int>{4} : std::vector<int>{4, 8};
  const std::int64_t steps = quick ? 600 : 1500;
  const std::vector<std::int64_t> probe_at = {0, steps / 2, steps};
  const std::map<std::string, double> mlp = {{"gradient", 0.05}, {"sign", 0.002}, {"ef", 0.05}};
  std::vector<Network> out;
  out.push_back({"digits-b1", "digits-mlp", "digits MLP, B = 1", 1, 1e-4, steps, 5, workers, grid,
                 mlp, probe_at, 128, true, 256});
  out.push_back({"digits-b16", "digits-mlp", "digits MLP, B = 16", 16, 1e-4, steps, 5, workers,
                 grid, mlp, probe_at, 128, false, 256});
  if (quick) return out;
  const std::map<std::string, double> fashion = {{"gradient", 0.05}, {"sign", 0.001}, {"ef", 0.05}};
  out.push_back({"fashion-b4", "fashion-mlp", "Fashion-MNIST MLP, B = 4", 4, 1e-4, steps, 3,
                 workers, grid, fashion, probe_at, 256, false, 256});
  if (has_registered_model("transformer")) {
    const std::map<std::string, double> kjv = {{"gradient", 0.3}, {"sign", 0.002}, {"ef", 0.3}};
    const std::vector<std::int64_t> kjv_probe_at = {0, 200, 400};
    out.push_back({"kjv-b4", "kjv-transformer", "KJV character transformer, B = 4", 4, 0.0, 400, 3,
                   workers, grid, kjv, kjv_probe_at, 128, false, 64});
  }
  return out;
}

/// `seed` is the network's: common random numbers for every method, η and N on it.
TrainOptions network_options(const Network& n, const Candidate& c, double lr, int workers,
                             const ReproduceOptions& options, std::uint64_t seed) {
  TrainOptions o;
  o.data_dir = options.data_dir;
  o.seed = seed;
  o.problem.problem = n.problem;
  o.method = c.method;
  o.compressor = c.compressor;
  o.lr = lr;
  o.workers = workers;
  o.batch = n.batch;
  o.weight_decay = n.weight_decay;
  o.steps = n.steps;
  o.runs = n.runs;
  o.schedule = "const";
  o.warmup = 0;
  o.noise = "none";
  o.eval_batch = n.eval_rows;
  o.tail_fraction = 0.2;
  o.log_every = std::max<std::int64_t>(1, n.steps / 20);
  return o;
}

/// A trained configuration across runs: the training loss the papers' floors speak of (the mean
/// over the last 20 % of the run, on the plan's evaluation rows of the training set), the final
/// test loss and accuracy, and the mean training and test loss at every logged step.
struct Measured {
  double lr = 0.0;
  int workers = 0, batch = 0;
  std::int64_t total_steps = 0;
  SampleStatistics train_loss, test_loss, test_accuracy;
  int diverged = 0, runs = 0;
  double bits_per_step = 0.0;  ///< one agent's uplink message
  std::vector<std::int64_t> steps;
  std::vector<double> mean_train_loss, mean_test_loss;
  /// The tuning rule's key: mean training loss, +∞ when a run diverged.
  double score() const {
    return diverged > 0 || train_loss.count == 0 ? std::numeric_limits<double>::infinity()
                                                 : train_loss.mean;
  }
};

Measured measure(const TrainResult& result) {
  Measured m;
  m.lr = result.plan.lr;
  m.workers = result.plan.workers;
  m.batch = result.plan.batch;
  m.total_steps = result.plan.steps;
  m.runs = result.plan.runs;
  const LossSummary summary = summarize_loss(result);
  m.train_loss = summary.tail_loss;
  m.diverged = summary.diverged_runs;
  m.test_loss = final_metric_statistics(result, 0);
  m.test_accuracy = final_metric_statistics(result, 1);
  m.bits_per_step = static_cast<double>(result.uplink_bits_per_step);
  m.steps = result.logged_steps;
  const std::size_t extras = result.extra_metric_names.size();
  for (std::size_t row = 0; row < result.logged_steps.size(); ++row) {
    m.mean_train_loss.push_back(loss_statistics(result, row).mean);
    double sum = 0.0;
    int count = 0;
    for (const RunTrace& run : result.runs) {
      const double value = run.extra[row * extras];
      if (!run.diverged && std::isfinite(value)) sum += value, ++count;
    }
    m.mean_test_loss.push_back(count ? sum / count : std::nan(""));
  }
  return m;
}

std::string loss_cell(const Measured& m) {
  if (m.train_loss.count == 0) return "diverged";
  std::string cell =
      significant(m.train_loss.mean, 4) + " ± " + significant(m.train_loss.stderr_, 1);
  if (m.diverged)
    cell += " (" + std::to_string(m.diverged) + "/" + std::to_string(m.runs) + " div.)";
  return cell;
}

/// True when a's training loss is above b's by more than 2 combined standard errors.
bool above(const Measured& a, const Measured& b) {
  if (a.score() == std::numeric_limits<double>::infinity()) return b.train_loss.count > 0;
  return a.train_loss.mean - b.train_loss.mean >
         2.0 * std::hypot(a.train_loss.stderr_, b.train_loss.stderr_);
}

/// The noise table's rows for one network: noise-probe of plain SGD at the network's DSGD η.
void probe_network(const Network& n, const ReproduceOptions& options, std::uint64_t seed,
                   Table& table) {
  note(options, "realnoise: noise of " + n.key);
  const TrainOptions o =
      network_options(n, kCandidates[0], n.centre.at("gradient"), 1, options, seed);
  NoiseProbeOptions probe;
  probe.at = n.probe_at;
  probe.draws = n.draws;
  for (const NoisePoint& p : probe_noise(make_run_plan(o), probe)) {
    table.add({n.label, p.step, p.at_centre_fraction, p.tail.alpha, p.tail.stderr_, p.fit.nu,
               p.fit.nu_stderr, p.excess_kurtosis, p.ks_distance, p.spec});
  }
}

Table noise_table() {
  return Table({{"network", "network"},
                {"SGD step", "step"},
                {"draws at their coordinate's median (exact zeros)", "at_centre_fraction", 2},
                {"tail index (Hill, top 2 %)", "tail_index", 3},
                {"s.e.", "tail_stderr", 2},
                {"Student-t fit ν", "student_fit_nu", 3},
                {"s.e.", "student_fit_nu_stderr", 2},
                {"excess kurtosis", "excess_kurtosis", 3},
                {"KS distance to Gaussian", "ks_distance", 2},
                {"fitted law (--noise)", "law"}});
}

/// Every candidate on one network: η tuned at the first N on the grid (the rule: lowest mean
/// training loss over the runs, a diverged run disqualifies, ties to the smaller η), then the
/// tuned η at every other N. `results[w][c]` for workers index w and candidate c.
struct NetworkResults {
  std::vector<std::vector<Measured>> results;
  std::vector<std::vector<Measured>> grid;  ///< [candidate][grid point] at the first N
  std::uint64_t seed = 0;                   ///< every run's on this network
};

/// Every grid point's result goes to `tuning` (realnoise_tuning.csv).
NetworkResults run_network(const Network& n, const ReproduceOptions& options, Table& tuning,
                           std::uint64_t& salt) {
  NetworkResults out;
  out.results.assign(n.workers.size(), std::vector<Measured>(kCandidateCount));
  out.grid.assign(kCandidateCount, {});
  for (std::size_t c = 0; c < kCandidateCount; ++c) {
    const Candidate& candidate = kCandidates[c];
    // Common random numbers: every method and η starts from the same weights and draws the
    // same minibatches, so that differences are the methods'.
    const std::uint64_t seed = out.seed = options.seed + 1000 * salt;
    Measured best;
    for (double factor : n.grid) {
      const double lr = factor * n.centre.at(candidate.family);
      note(options, "realnoise: " + n.key + ", " + candidate.key + ", η = " + significant(lr, 3) +
                        ", N = " + std::to_string(n.workers[0]));
      Measured m = measure(train(network_options(n, candidate, lr, n.workers[0], options, seed)));
      tuning.add({n.key, std::string(candidate.key), lr, m.train_loss.mean, m.train_loss.stderr_,
                  std::int64_t{m.diverged}});
      out.grid[c].push_back(m);
      if (best.runs == 0 || m.score() < best.score()) best = m;
    }
    out.results[0][c] = best;
    for (std::size_t w = 1; w < n.workers.size(); ++w) {
      note(options,
           "realnoise: " + n.key + ", " + candidate.key + ", N = " + std::to_string(n.workers[w]));
      out.results[w][c] =
          measure(train(network_options(n, candidate, best.lr, n.workers[w], options, seed)));
    }
  }
  ++salt;
  return out;
}

/// `scale`'s trajectory rules for DCSGD rand-k at ω = 1, 3, 7 from DSGD's tuned configuration:
/// the unscaled change and each rule, with whether it restores DSGD's training loss.
struct ScalingRow {
  double omega = 0.0;
  std::string rule;  ///< none | lr | batch | workers
  Measured measured;
  /// rule none: the change degrades DSGD's training loss (above it by > 2 s.e., or diverged);
  /// a rule: it restores it (not above DSGD's by > 2 s.e., no run diverged).
  bool verdict = false;
};

/// `seed`: DSGD's tuned run's (common random numbers).
std::vector<ScalingRow> run_scaling(const Network& n, const Measured& dsgd,
                                    const ReproduceOptions& options, std::uint64_t seed) {
  const TrainOptions base =
      network_options(n, kCandidates[0], dsgd.lr, n.workers[0], options, seed);
  std::vector<ScalingRow> rows;
  for (const char* compressor : {"randk:0.5", "randk:0.25", "randk:0.125"}) {
    TrainOptions changed = base;
    changed.method = "dcsgd";
    changed.compressor = compressor;
    const ScalingPlan plan =
        plan_scaling(base, changed, {"method=dcsgd", std::string("compressor=") + compressor},
                     ScalingInvariant::kTrajectory);
    const double omega = plan.changed.compressor->omega(plan.changed.problem.dim);
    std::vector<std::pair<std::string, RunPlan>> variants = {{"none", plan.changed}};
    for (const ScalingRule& rule : plan.rules) variants.emplace_back(rule.adjust, rule.adjusted);
    for (const auto& [rule, variant] : variants) {  // every plan is base's: its seed
      note(options, "realnoise: scaling, " + std::string(compressor) + ", rule " + rule);
      ScalingRow row{omega, rule, measure(train(variant)), false};
      row.verdict = rule == "none" ? above(row.measured, dsgd)
                                   : row.measured.diverged == 0 && !above(row.measured, dsgd);
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

/// realnoise.csv (one row per network, N and method) and the report's table of the same.
void add_method_rows(const Network& n, const NetworkResults& r, Table& csv, Table& curves,
                     Table& report) {
  for (std::size_t w = 0; w < n.workers.size(); ++w) {
    for (std::size_t c = 0; c < kCandidateCount; ++c) {
      const Measured& m = r.results[w][c];
      const std::string key = kCandidates[c].key;
      csv.add({n.key, std::int64_t{m.workers}, key, m.lr, m.train_loss.mean, m.train_loss.stderr_,
               m.test_loss.mean, m.test_loss.stderr_, m.test_accuracy.mean, m.test_accuracy.stderr_,
               m.bits_per_step, std::int64_t{m.diverged}, std::int64_t{m.runs}});
      report.add({n.label, std::int64_t{m.workers}, key, m.lr, loss_cell(m), m.test_loss.mean,
                  m.test_accuracy.mean, m.bits_per_step / 1000.0});
      for (std::size_t row = 0; row < m.steps.size(); ++row) {
        curves.add({n.key, std::int64_t{m.workers}, key, m.steps[row],
                    static_cast<double>(m.steps[row]) * m.bits_per_step, m.mean_train_loss[row],
                    m.mean_test_loss[row]});
      }
    }
  }
}

/// One panel per network at the first N: test loss against steps (x = column 4) or bits sent
/// (column 5). DCSGD's compressors share its colour and differ by dash type.
Panel curve_panel(const Network& n, bool bits) {
  Panel p{.title = n.label + ", N = " + std::to_string(n.workers[0]),
          .xlabel = bits ? "bits sent per agent" : "step",
          .ylabel = "training loss (mean over runs)",
          .log_x = bits,
          .log_y = true,
          .key = "top right font ',8'"};
  if (bits) p.settings.push_back("set format x '10^{%L}'");
  const std::string filter = "strcol(1) eq '" + n.key +
                             "' && $2 == " + std::to_string(n.workers[0]) + " && $" +
                             (bits ? "5" : "4") + " > 0";
  p.series.push_back(
      {.data = "realnoise_curves.csv",
       .for_each = "m in 'dsgd dsignsgd majority ef-signsgd'",
       .columns = "((" + filter + " && strcol(3) eq m) ? $" + (bits ? "5" : "4") + " : 1/0):6",
       .style = "lines lw 2",
       .title = "m",
       .color = "method_color(m)"});
  int dash = 1;
  for (const char* key : {"randk-0.5", "randk-0.125", "qsgd-16", "qsgd-2"}) {
    p.series.push_back({.data = "realnoise_curves.csv",
                        .columns = "((" + filter + " && strcol(3) eq '" + key + "') ? $" +
                                   (bits ? "5" : "4") + " : 1/0):6",
                        .style = "lines lw 2 dt " + std::to_string(dash++),
                        .title = title(std::string("dcsgd ") + key),
                        .color = "method_color('dcsgd')"});
  }
  return p;
}

Table scaling_table(const std::vector<ScalingRow>& rows, const Measured& dsgd, Table& csv) {
  Table report({{"ω", "", 3},
                {"rule", ""},
                {"η", "", 3},
                {"B", ""},
                {"N", ""},
                {"steps", ""},
                {"training loss", ""},
                {"test loss", "", 4},
                {"against DSGD's training loss (2 s.e.)", ""}});
  report.add({0.0, "DSGD (base)", dsgd.lr, std::int64_t{dsgd.batch}, std::int64_t{dsgd.workers},
              dsgd.total_steps, loss_cell(dsgd), dsgd.test_loss.mean, "—"});
  for (const ScalingRow& r : rows) {
    const Measured& m = r.measured;
    report.add({r.omega, r.rule, m.lr, std::int64_t{m.batch}, std::int64_t{m.workers},
                m.total_steps, loss_cell(m), m.test_loss.mean,
                r.rule == "none" ? (r.verdict ? "degraded" : "not degraded")
                                 : (r.verdict ? "restored" : "not restored")});
    csv.add({r.omega, r.rule, m.lr, std::int64_t{m.batch}, std::int64_t{m.workers}, m.total_steps,
             m.train_loss.mean, m.train_loss.stderr_, m.test_loss.mean, std::int64_t{m.diverged},
             std::int64_t{r.verdict ? 1 : 0}});
  }
  return report;
}

/// realnoise.csv's columns: one row per network, N and method.
Table method_csv() {
  return Table({{"", "problem"},
                {"", "workers"},
                {"", "method"},
                {"", "lr"},
                {"", "train_loss"},
                {"", "train_stderr"},
                {"", "test_loss"},
                {"", "test_stderr"},
                {"", "test_accuracy"},
                {"", "accuracy_stderr"},
                {"", "bits_per_step"},
                {"", "diverged"},
                {"", "runs"}});
}

/// realnoise_curves.csv's columns: the mean losses at every logged step.
Table curves_csv() {
  return Table({{"", "problem"},
                {"", "workers"},
                {"", "method"},
                {"", "step"},
                {"", "bits_sent"},
                {"", "train_loss"},
                {"", "test_loss"}});
}

/// The report's table of the methods.
Table method_table() {
  return Table({{"network", ""},
                {"N", ""},
                {"method", ""},
                {"tuned η", "", 3},
                {"training loss, last 20 %", ""},
                {"final test loss", "", 4},
                {"test accuracy", "", 3},
                {"kbit per step", "", 4}});
}

/// realnoise_tuning.csv's columns: every grid point.
Table tuning_csv() {
  return Table({{"", "problem"},
                {"", "method"},
                {"", "lr"},
                {"", "train_loss"},
                {"", "stderr"},
                {"", "diverged"}});
}

Table scaling_csv() {
  return Table({{"", "omega"},
                {"", "rule"},
                {"", "lr"},
                {"", "batch"},
                {"", "workers"},
                {"", "steps"},
                {"", "train_loss"},
                {"", "stderr"},
                {"", "test_loss"},
                {"", "diverged"},
                {"", "degraded_or_restored"}});
}

std::size_t candidate_index(const std::string& key) {
  for (std::size_t c = 0; c < kCandidateCount; ++c) {
    if (key == kCandidates[c].key) return c;
  }
  return 0;
}

/// The ordering checks on one network at its first N, and the headline from the first network.
void judge_network(const Network& n, const NetworkResults& r, Section& section) {
  const std::vector<Measured>& first = r.results[0];
  const Measured& dsgd = first[candidate_index("dsgd")];
  const Measured& heavy = first[candidate_index("randk-0.125")];
  const Measured& light = first[candidate_index("randk-0.5")];
  const Measured& sign = first[candidate_index("dsignsgd")];
  const std::string where = n.label + ", N = " + std::to_string(n.workers[0]);
  section.checks.push_back(
      {where + ": DCSGD rand-k ω = 7's training loss ends above DSGD's and rand-k ω = 1's "
               "(> 2 s.e.)",
       above(heavy, dsgd) && above(heavy, light)});
  section.checks.push_back(
      {where + ": DSignSGD's training loss ends below DCSGD rand-k ω = 7's (> 2 s.e.)",
       above(heavy, sign)});
  if (section.headline.empty()) {
    section.headline = "training loss, " + where + ": DSGD " + loss_cell(dsgd) + ", rand-k ω = 7 " +
                       loss_cell(heavy) + ", DSignSGD " + loss_cell(sign);
  }
}

/// Item 3: the local quadratic model of the network at the end of DSGD's tuned run (plain SGD at
/// its η and first N, the same seed), with the variance of every DCSGD compressor measured there.
LocalModel probe_network_model(const Network& n, const NetworkResults& r,
                               const ReproduceOptions& options) {
  note(options, "realnoise: local quadratic model of " + n.key);
  const Measured& dsgd = r.results[0][candidate_index("dsgd")];
  const TrainOptions o = network_options(n, kCandidates[0], dsgd.lr, n.workers[0], options, r.seed);
  LocalModelOptions lm;
  lm.draws = n.draws;
  for (const Candidate& c : kCandidates) {
    if (std::string(c.method) == "dcsgd") lm.compressors.emplace_back(c.compressor);
  }
  return probe_local_model(make_run_plan(o), n.steps, lm);
}

/// One comparison of the model with the runs: a method at η against DSGD at η_DSGD.
struct ModelRow {
  std::string key;
  double lr = 0.0, dsgd_lr = 0.0;
  LocalPrediction method, dsgd;
  const Measured* measured = nullptr;
  const Measured* measured_dsgd = nullptr;
  double predicted_gap() const { return method.excess_loss - dsgd.excess_loss; }
  bool measured_finite() const {
    return measured->score() < std::numeric_limits<double>::infinity() &&
           measured_dsgd->score() < std::numeric_limits<double>::infinity();
  }
  double measured_gap() const { return measured->train_loss.mean - measured_dsgd->train_loss.mean; }
  double measured_stderr() const {
    return std::hypot(measured->train_loss.stderr_, measured_dsgd->train_loss.stderr_);
  }
  /// The model's word on this row, against the runs': "agrees", "disagrees" or "—" (the
  /// measured gap within 2 s.e. of 0, or outside the model). DSGD's own rows: stability only.
  std::string verdict() const {
    if (!method.stable || measured->diverged > 0 || key == "dsgd") {
      if (method.stable && measured->diverged == 0) return "—";
      const bool diverged = measured->diverged > 0;
      return diverged == !method.stable ? "agrees" : "disagrees";
    }
    if (!std::isfinite(method.excess_loss) || std::abs(measured_gap()) <= 2.0 * measured_stderr()) {
      return "—";
    }
    return (predicted_gap() > 0) == (measured_gap() > 0) ? "agrees" : "disagrees";
  }
};

/// The model's rows: every DCSGD compressor at every grid η beside DSGD at the same η (unbiased
/// methods share the drift: the difference is the noise's), the sign methods at their tuned η
/// beside DSGD at its tuned η (their drifts differ: the comparison is rougher).
std::vector<ModelRow> model_rows(const Network& n, const NetworkResults& r, const LocalModel& m) {
  const std::int64_t horizon = n.steps * 9 / 10;  // the middle of the last 20 %
  const int workers = n.workers[0];
  const std::size_t dsgd = candidate_index("dsgd");
  std::vector<ModelRow> rows;
  for (std::size_t c = 0; c < kCandidateCount; ++c) {
    const Candidate& k = kCandidates[c];
    const std::string method = k.method;
    if (method == "dsgd" || method == "dcsgd") {
      for (std::size_t g = 0; g < r.grid[c].size(); ++g) {
        const double lr = r.grid[c][g].lr;
        rows.push_back({k.key, lr, lr, predict_local(m, method, k.compressor, workers, lr, horizon),
                        predict_local(m, "dsgd", "", workers, lr, horizon), &r.grid[c][g],
                        &r.grid[dsgd][g]});
      }
    } else if (method == "dsignsgd" || method == "majority") {
      const Measured& tuned = r.results[0][c];
      const Measured& base = r.results[0][dsgd];
      rows.push_back({k.key, tuned.lr, base.lr,
                      predict_local(m, method, "", workers, tuned.lr, horizon),
                      predict_local(m, "dsgd", "", workers, base.lr, horizon), &tuned, &base});
    }
  }
  return rows;
}

std::string gap_cell(double gap, double stderr_) {
  return significant(gap, 3) + " ± " + significant(stderr_, 1);
}

void add_model_rows(const Network& n, const LocalModel& m, const std::vector<ModelRow>& rows,
                    Table& csv, Table& report, Table& summary) {
  std::string omegas;
  for (const auto& [name, omega] : m.effective_omega) {
    omegas += (omegas.empty() ? "" : ", ") + name + " " + significant(omega, 3);
  }
  summary.add({n.label, m.step, m.lambda_max, m.curvature_mean, m.curvature_stderr,
               m.negative_curvature_fraction, m.law, m.shapeless_fraction, omegas});
  for (const ModelRow& row : rows) {
    const bool finite = row.measured_finite();
    csv.add({n.key, row.key, row.lr, row.dsgd_lr, row.method.excess_loss, row.predicted_gap(),
             std::int64_t{row.method.stable ? 1 : 0}, row.method.stability_ratio,
             finite ? row.measured_gap() : std::nan(""),
             finite ? row.measured_stderr() : std::nan(""), std::int64_t{row.measured->diverged},
             row.verdict()});
    const std::string predicted =
        !row.method.stable                       ? "unstable (" + row.method.reason + ")"
        : row.key == "dsgd"                      ? "0 (stable)"
        : std::isfinite(row.predicted_gap())     ? significant(row.predicted_gap(), 3)
        : !std::isfinite(row.method.excess_loss) ? "none: " + row.method.reason
                                                 : "none: DSGD unstable in the model";
    const std::string measured = finite ? gap_cell(row.measured_gap(), row.measured_stderr())
                                        : "diverged " + std::to_string(row.measured->diverged) +
                                              "/" + std::to_string(row.measured->runs);
    const bool ratio = finite && row.method.stable && std::isfinite(row.predicted_gap()) &&
                       row.key != "dsgd" &&
                       std::abs(row.measured_gap()) > 2.0 * row.measured_stderr();
    report.add({n.label, row.key, row.lr, row.dsgd_lr, row.method.excess_loss, predicted, measured,
                ratio ? significant(row.measured_gap() / row.predicted_gap(), 2) : "—",
                row.verdict()});
  }
}

Table model_summary_table() {
  return Table({{"network", "network"},
                {"SGD step", "step"},
                {"λ_max (power iteration)", "lambda_max", 3},
                {"mean H_jj (Hutchinson)", "curvature_mean", 3},
                {"s.e.", "curvature_stderr", 2},
                {"H_jj < 0", "negative_curvature_fraction", 2},
                {"noise law", "law"},
                {"coordinates without shape", "shapeless_fraction", 2},
                {"ω_eff at the network's gradients", "effective_omega"}});
}

Table model_csv() {
  return Table({{"", "problem"},
                {"", "method"},
                {"", "lr"},
                {"", "dsgd_lr"},
                {"", "predicted_excess"},
                {"", "predicted_gap"},
                {"", "predicted_stable"},
                {"", "stability_ratio"},
                {"", "measured_gap"},
                {"", "measured_stderr"},
                {"", "measured_diverged"},
                {"", "verdict"}});
}

Table model_table() {
  return Table({{"network", ""},
                {"method", ""},
                {"η", "", 3},
                {"DSGD's η", "", 3},
                {"model: excess loss", "", 3},
                {"model: gap to DSGD", ""},
                {"measured gap (training loss)", ""},
                {"measured / model", ""},
                {"the model's sign of the gap", ""}});
}

/// Item 3's check over every network: each DCSGD row whose measured gap to DSGD is resolved
/// (> 2 s.e.) has the model's sign, and each DSGD or DCSGD grid point that diverged was called
/// unstable (and no other).
/// The sign methods' rows are left out: their η differs from DSGD's, and with it the drift the
/// model does not have.
Check model_check(const std::vector<std::string>& verdicts) {
  std::size_t agree = 0;
  for (const std::string& v : verdicts) agree += v == "agrees" ? 1 : 0;
  return {
      "local quadratic model from the measured noise and curvature: every DCSGD compressor "
      "and grid η whose training-loss gap to DSGD at the same η is resolved (> 2 s.e.) has the "
      "model's sign, and every DSGD or DCSGD grid point its stability (diverged ⇔ unstable; "
      "here " +
          std::to_string(agree) + " of " + std::to_string(verdicts.size()) + ")",
      !verdicts.empty() && agree == verdicts.size()};
}

/// Holds when some ω degrades DSGD without a rule and every rule restores each such ω — it
/// cannot hold where nothing needed restoring.
Check scaling_check(const std::vector<ScalingRow>& rows, const Network& n) {
  int degraded = 0;
  bool restored = true;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].rule != "none" || !rows[i].verdict) continue;
    ++degraded;
    for (std::size_t j = i + 1; j < rows.size() && rows[j].rule != "none"; ++j) {
      restored = restored && rows[j].verdict;
    }
  }
  return {n.label + ", N = " + std::to_string(n.workers[0]) +
              ": rand-k degrades DSGD's training loss at some ω of 1, 3, 7 (here " +
              std::to_string(degraded) +
              " of 3), and at each such ω every η, B and N rule of "
              "`scale --keep trajectory` restores it (not above DSGD's by > 2 s.e.)",
          degraded > 0 && restored};
}

/// Item 3's tables over every network, and the verdicts of its DCSGD rows for model_check.
struct ModelTables {
  Table summary = model_summary_table(), data = model_csv(), report = model_table();
  std::vector<std::string> verdicts;

  void add(const Network& n, const NetworkResults& r, const ReproduceOptions& options) {
    const LocalModel model = probe_network_model(n, r, options);
    const std::vector<ModelRow> rows = model_rows(n, r, model);
    add_model_rows(n, model, rows, data, report, summary);
    for (const ModelRow& row : rows) {
      const bool gradient =
          row.key == "dsgd" || row.key.starts_with("randk") || row.key.starts_with("qsgd");
      if (gradient && row.verdict() != "—") verdicts.push_back(row.verdict());
    }
  }
};

/// What the local quadratic model's tables show, and how to read them.
Paragraph model_paragraph() {
  return Paragraph{
      "The SDE models' prediction from the measured noise (issue 28, item 3): at the end of "
      "DSGD's tuned run, the network's curvature (Hutchinson's diagonal of the Hessian, its top "
      "eigenvalue by power iteration, both from central differences of the gradient of the loss "
      "the tables measure, on the same 256 training rows; 64 windows for text), its "
      "noise (per-coordinate variance and fitted law of one agent's gradient) and each DCSGD "
      "compressor's variance at the network's own gradients (ω_eff) make a separable quadratic "
      "model; docs/THEORY.md §3's per-coordinate recursions over the run's horizon give each "
      "method's excess loss from its noise (stationary.hpp's floors when the horizon is long). "
      "f* and the drift's progress are not in it, so it is compared as gaps to DSGD: a DCSGD "
      "compressor at each grid η against DSGD at the same η (same drift), the sign methods at "
      "their tuned η against DSGD at its tuned η (different drifts: rougher). A gap within 2 s.e. "
      "of 0 is not judged (—)."};
}

}  // namespace

Section real_noise(const ReproduceOptions& options) {
  Section section;
  section.name = "realnoise";
  section.paper = "[A], [B]";
  section.claim =
      "On a network's own minibatch noise (none injected): unbiased compression degrades DCSGD "
      "first (its loss grows with ω), sign compression holds, and the scaling rules of η, B and N "
      "in (1 + ω) give DCSGD back DSGD's result ([A]).";
  check_real_data_inputs(options);
  Table noise = noise_table();
  Table csv = method_csv();
  Table curves = curves_csv();
  Table report = method_table();
  Table tuning = tuning_csv();
  Table scaling_rows = scaling_csv();
  std::optional<Table> scaling_report;
  ModelTables model;
  Figure steps_figure{"realnoise", {}}, bits_figure{"realnoise_bits", {}};
  std::uint64_t salt = 0;
  for (const Network& n : networks(options)) {
    probe_network(n, options, options.seed + 1000 * salt++, noise);
    const NetworkResults r = run_network(n, options, tuning, salt);
    add_method_rows(n, r, csv, curves, report);
    steps_figure.panels.push_back(curve_panel(n, false));
    bits_figure.panels.push_back(curve_panel(n, true));
    judge_network(n, r, section);
    model.add(n, r, options);
    if (n.scaling) {
      const Measured& dsgd = r.results[0][candidate_index("dsgd")];
      const std::vector<ScalingRow> rows = run_scaling(n, dsgd, options, r.seed);
      scaling_report = scaling_table(rows, dsgd, scaling_rows);
      section.checks.push_back(scaling_check(rows, n));
    }
  }
  section.body = {
      Paragraph{"No injected noise: every gradient's noise is the network's own minibatch noise, "
                "measured first (`dsignsgd noise-probe`: plain SGD at DSGD's η, one agent, the "
                "run's batch; over coordinates, Hill's index of the standardized noise's top "
                "2 % — its tail — and the maximum-likelihood Student-t fit of the draws off "
                "their coordinate's median, whose ν is the fitted law's):"},
      noise,
      Paragraph{std::string("Each method's η is chosen at the first N on the grid ") +
                (options.quick ? "(quick profile: the grid's centre only) "
                               : "{1/3, 1, 3} × a centre per family ") +
                "by one rule: the lowest training loss (mean over the runs of the loss on 256 "
                "training rows, averaged over the last 20 % of the run — the quantity the papers' "
                "floors describe), a diverged run disqualifies its η, ties to the smaller η; the "
                "other N reuse it. Every method and η runs from the same seeds (same initial "
                "weights, same minibatches). Constant η, no warm-up; bits are one agent's uplink "
                "message per step."},
      report};
  section.body.push_back(Paragraph{
      "Reading the noise table: a 1-bit sign cannot send 0, so where a coordinate's gradient is "
      "exactly 0 in a draw (a pixel no image of the batch lights, a unit no input activates) "
      "DSignSGD and majority vote send a coin (the tie rule of docs/THEORY.md §1): such a "
      "coordinate random-walks with step η instead of standing still. The papers' noise models "
      "have no atom at 0; the column says how much of a network's noise does."});
  if (scaling_report) {
    section.body.push_back(Paragraph{
        "`scale --keep trajectory` from DSGD's tuned run to DCSGD rand-k: the unscaled change, "
        "then each rule (η / (1 + ω) with (1 + ω)× the steps, B or N × (1 + ω)):"});
    section.body.push_back(*scaling_report);
  }
  section.body.push_back(model_paragraph());
  section.body.push_back(model.summary);
  section.body.push_back(model.report);
  section.checks.push_back(model_check(model.verdicts));
  section.data = {{"realnoise_noise.csv", noise},
                  {"realnoise_model.csv", model.data},
                  {"realnoise_model_summary.csv", model.summary},
                  {"realnoise.csv", csv},
                  {"realnoise_curves.csv", curves},
                  {"realnoise_tuning.csv", tuning},
                  {"realnoise_scaling.csv", scaling_rows}};
  section.figures = {steps_figure, bits_figure};
  return section;
}

}  // namespace dsignsgd::reproduce_detail
