// Experiments 3 (compression and scaling rules), 4 (heavy tails) and 6 ((L0,L1)-smoothness) of
// `dsignsgd reproduce`: the robustness claims of [A] and [B] on synthetic problems.
#include <algorithm>
#include <functional>
#include <cmath>
#include <limits>
#include <sstream>

#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/theory/predict.hpp"
#include "dsignsgd/theory/scaling.hpp"
#include "experiment_support.hpp"
#include "dsignsgd/reproduce/table.hpp"

namespace dsignsgd::reproduce_detail {
namespace {

/// The quadratic of docs/THEORY.md §3 that experiments 2–4 share: d = 16, λ ∈ [0.5, 2], N = 4, η = 0.01.
TrainOptions quadratic_base(const ReproduceOptions& options) {
  TrainOptions o;
  o.problem.dim = 16;
  o.problem.hessian = "linspace:0.5:2";
  o.problem.x0 = 0.0;  // start at x*: the runs measure the stationary floor, not a transient
  o.workers = 4;
  o.lr = 0.01;
  o.noise = "gaussian:1";
  o.steps = options.quick ? 10000 : 40000;
  o.runs = options.quick ? 8 : 16;
  return o;
}

/// Measured and predicted floors agree when within 3 s.e. plus 5 % (the small-η closed forms are
/// exact for DSGD/DCSGD; the margin covers the tail's autocorrelation).
bool floor_agrees(const SampleStatistics& measured, double predicted) {
  return verdict::matches_prediction(measured.mean, measured.stderr_, predicted, 0.05);
}

}  // namespace

namespace {

/// Part 1 of the compression experiment: DCSGD's floor against ω with rand-k.
struct OmegaSweep {
  Table table{{{"compressor", ""},
               {"ω", "omega"},
               {"measured floor", "measured", 5},
               {"s.e.", "stderr", 2},
               {"predicted", "predicted", 5}}};
  std::vector<double> one_plus_omega, floors;
  bool agree = true;
};

/// Floors with rand-k, k/d = 1, 1/2, 1/4, 1/8, 1/16 (ω = d/k − 1), measured and predicted.
OmegaSweep sweep_omega(const ReproduceOptions& options) {
  const std::vector<double> fractions = {1.0, 0.5, 0.25, 0.125, 0.0625};
  OmegaSweep out;
  for (std::size_t i = 0; i < fractions.size(); ++i) {
    TrainOptions o = quadratic_base(options);
    o.method = i == 0 ? "dsgd" : "dcsgd";
    o.compressor = i == 0 ? "identity" : "randk:" + format_double(fractions[i]);
    o.seed = options.seed + 100 * i;
    note(options, "compression: " + o.compressor);
    const SampleStatistics tail = summarize_loss(train(o)).tail_loss;
    const double predicted = predict(o).floor.stationary_loss.value();
    const double omega = 1.0 / fractions[i] - 1.0;
    out.one_plus_omega.push_back(1.0 + omega);
    out.floors.push_back(tail.mean);
    out.agree = out.agree && floor_agrees(tail, predicted);
    out.table.add({i == 0 ? "identity (DSGD)" : o.compressor, omega, tail.mean, tail.stderr_,
                   predicted});
  }
  return out;
}

/// Part 2: the scaling rules of `dsignsgd scale` from DSGD to DCSGD rand-k 1/8 (ω = 7), each run.
struct RulesMeasurement {
  Table rules{{{"configuration", ""},
               {"", "configuration"},
               {"N", ""},
               {"B", ""},
               {"η", ""},
               {"measured floor", "measured", 5},
               {"s.e.", "stderr", 2},
               {"predicted", "predicted", 5},
               {"back at DSGD's?", ""}}};
  SampleStatistics base_floor, changed_floor;
  bool rules_hold = false;
};

RulesMeasurement measure_scaling_rules(const ReproduceOptions& options) {
  TrainOptions base = quadratic_base(options);
  base.method = "dsgd";
  base.compressor = "identity";
  TrainOptions changed = base;
  changed.method = "dcsgd";
  changed.compressor = "randk:0.125";
  const ScalingPlan plan =
      plan_scaling(base, changed, {"method", "compressor"}, ScalingInvariant::kFloor);
  RulesMeasurement out;
  base.seed = options.seed + 7000;
  out.base_floor = summarize_loss(train(base)).tail_loss;
  const SampleStatistics& base_floor = out.base_floor;
  const auto row = [&](const std::string& label, const auto& o, const SampleStatistics& s,
                       double predicted, const std::string& verdict) {
    // The CSV's label is the table's without commas (first column of a comma-separated file).
    std::string short_label = label;
    std::replace(short_label.begin(), short_label.end(), ',', ';');
    out.rules.add({label, short_label, std::int64_t{o.workers}, std::int64_t{o.batch}, o.lr,
                   s.mean, s.stderr_, predicted, verdict});
  };
  row("DSGD (base)", plan.base, base_floor, plan.base_floor, "reference");
  changed.seed = options.seed + 7001;
  out.changed_floor = summarize_loss(train(changed)).tail_loss;
  row("DCSGD ω = 7, unchanged", plan.changed, out.changed_floor, plan.changed_floor,
      significant(out.changed_floor.mean / base_floor.mean, 3) + "× DSGD's");
  out.rules_hold = !plan.rules.empty();
  std::uint64_t salt = 7002;
  for (const ScalingRule& rule : plan.rules) {
    RunPlan adjusted = rule.adjusted;
    adjusted.seed = options.seed + salt++;
    note(options, "compression: scaling rule " + rule.adjust);
    // A smaller η reaches its floor more slowly: run long enough for the same time horizon.
    adjusted.steps = static_cast<std::int64_t>(
        std::ceil(static_cast<double>(plan.base.steps) * plan.base.lr / adjusted.lr));
    const SampleStatistics s = summarize_loss(train(adjusted)).tail_loss;
    // The rules solve for the smallest B or N (or the η) reaching DSGD's floor: at or below it.
    const bool back =
        verdict::at_or_below(s.mean, s.stderr_, base_floor.mean, base_floor.stderr_);
    out.rules_hold = out.rules_hold && back;
    row("DCSGD ω = 7, rule: " + rule.adjust, adjusted, s, rule.predicted,
        back ? "yes (" + significant(s.mean / base_floor.mean, 3) + "×)"
             : "**no** (" + significant(s.mean / base_floor.mean, 3) + "×)");
  }
  return out;
}

Panel compression_floors_panel(const SlopeFit& fit, double last_floor) {
  Panel floors_panel{.title = "DCSGD on the quadratic d = 16, N = 4, η = 0.01, Gaussian σ = 1",
                     .xlabel = "1 + ω (rand-k, ω = d/k − 1)",
                     .ylabel = "stationary loss (tail average)",
                     .log_x = true,
                     .log_y = true};
  floors_panel.settings = {"set xrange [0.8:24]",
                           "set label 'fitted slope " + significant(fit.slope, 3) + " (claim 1)' at 1.2," +
                               significant(last_floor, 4)};
  floors_panel.series = {{.data = "compression.csv",
                          .columns = "(1+$1):2:3",
                          .style = "yerrorbars pt 7",
                          .title = title("measured"),
                          .color = "method_color('dcsgd')"},
                         {.data = "compression.csv",
                          .columns = "(1+$1):4",
                          .style = "lines dt 2",
                          .title = title("predicted (1+ω)σ² closed form"),
                          .color = "method_color('dcsgd')"}};
  return floors_panel;
}

Panel compression_rules_panel(const SampleStatistics& base_floor) {
  Panel rules_panel{.title = "Scaling rules: DCSGD rand-k 1/8 (ω = 7) brought back to DSGD",
                    .ylabel = "stationary loss (tail average, ± s.e.)",
                    .log_y = true,
                    .key = "top right"};
  rules_panel.settings = {"set xrange [0.5:5.5]", "set xtics rotate by -20 font ',9'",
                          "set bmargin 6",
                          "set arrow from 0.5, " + significant(base_floor.mean, 6) + " to 5.5, " +
                              significant(base_floor.mean, 6) + " nohead dt 2 lc 'black'"};
  rules_panel.series = {{.data = "compression_rules.csv",
                         .columns = "0:2:3:xticlabels(1)",
                         .style = "yerrorbars pt 7 ps 1.2",
                         .title = title("measured"),
                         .color = "method_color('dcsgd')"},
                        {.data = "compression_rules.csv",
                         .columns = "0:4",
                         .style = "points pt 4 ps 1.5",
                         .title = title("predicted"),
                         .color = "'#000000'"},
                        {.function = "1/0",
                         .style = "lines dt 2 lc 'black'",
                         .title = title("DSGD measured")}};
  return rules_panel;
}

}  // namespace

/// Experiment 3: DCSGD's floor against ω (slope 1 in 1 + ω), and the scaling rules of
/// `dsignsgd scale` bringing a compressed run back to DSGD's floor.
Section compression_and_scaling(const ReproduceOptions& options) {
  Section section;
  section.name = "compression";
  section.paper = "[A]";
  section.claim = "DCSGD's stationary loss grows like (1 + ω); the scaling rules B → (1+ω)B, "
                 "N → (1+ω)N or η → η/(1+ω) bring it back to DSGD's ([A]; docs/THEORY.md §3).";
  const OmegaSweep sweep = sweep_omega(options);
  const SlopeFit fit = fit_log_log_slope(sweep.one_plus_omega, sweep.floors);
  const bool slope_holds = slope_claim_holds(fit, 1.0, 0.1);
  const RulesMeasurement measured = measure_scaling_rules(options);
  const SampleStatistics& base_floor = measured.base_floor;
  const SampleStatistics& changed_floor = measured.changed_floor;

  section.headline = "slope of the floor in 1 + ω " + significant(fit.slope, 3) + " ± " +
                     significant(fit.stderr_, 2) + " (claim 1); ω = 7 unchanged " +
                     significant(changed_floor.mean / base_floor.mean, 3) + "× DSGD's floor (± " +
                     significant(ratio_stderr(changed_floor, base_floor), 1) + ")";
  std::ostringstream slope;
  slope << "slope of log floor against log(1 + ω) " << significant(fit.slope, 3) << " ± "
        << significant(fit.stderr_, 2) << " within 0.1 + 2 s.e. of the claimed 1";
  section.checks = {
      {slope.str(), slope_holds},
      {"every floor within 3 s.e. + 5 % of its prediction", sweep.agree},
      {"every scaling rule brings the floor back to DSGD's or below (within 3 s.e. + 5 %)",
       measured.rules_hold}};
  section.body = {
      sweep.table,
      Paragraph{"Scaling rules (`dsignsgd scale`, keep = floor) for DSGD → DCSGD rand-k 1/8, each "
                "run measured (a smaller η runs proportionally more steps). The rules solve for "
                "the smallest B or N, or the η, that reaches DSGD's floor:"},
      measured.rules};
  section.data = {{"compression.csv", sweep.table}, {"compression_rules.csv", measured.rules}};
  section.figures = {{"compression", {compression_floors_panel(fit, sweep.floors.back())}},
                     {"compression_rules", {compression_rules_panel(base_floor)}}};
  return section;
}

namespace {

/// One cell of the tails experiment: Hill's index of the pooled logged losses, the runs' tail
/// averages and the closed-form floor.
struct TailMeasurement {
  TailIndex index;
  SampleStatistics tail;
  double predicted = 0.0;
};

TailMeasurement measure_tail(const ReproduceOptions& options, const char* method,
                             const char* compressor, const std::string& nu, std::uint64_t salt) {
  TrainOptions o = quadratic_base(options);
  o.problem.dim = 10;
  o.method = method;
  o.compressor = compressor;
  o.noise = nu == "inf" ? "gaussian:1" : "student:" + nu + ":1";
  // η = 0.05 and samples one relaxation time of the slowest coordinate apart, 1/(ηλ_min) =
  // 40 steps: a large jump decays over that time, and closer samples would count it many
  // times over (Hill's standard error assumes independent samples).
  o.lr = 0.05;
  o.steps = options.quick ? 40000 : 160000;
  o.log_every = 40;
  o.runs = options.quick ? 16 : 32;
  o.divergence_factor = 1e300;  // a loss without a mean is the point, not an error
  o.seed = options.seed + 1000 * salt;
  note(options, std::string("tails: ") + method + ", ν = " + nu);
  const TrainResult result = train(o);
  std::vector<double> samples;
  std::vector<double> tails;
  for (const RunTrace& run : result.runs) {
    for (std::size_t row = 1; row < run.loss.size(); ++row) {
      if (std::isfinite(run.loss[row])) samples.push_back(run.loss[row]);
    }
    tails.push_back(run.tail_loss);
  }
  return {hill_tail_index(samples, 0.02), sample_statistics(tails), predict(o).floor.value_or_nan()};
}

/// The three checks of the tails experiment, each over its cells.
struct TailChecks {
  bool sign_floors = true, heavy_unbounded = true, light_finite = true;
};

/// The cell's verdict (and whether E f is finite), folded into `checks`.
std::pair<std::string, std::string> judge_tail(const TailMeasurement& m, bool sign,
                                               double nu_value, TailChecks& checks) {
  const bool infinite_mean = m.index.alpha + 2.0 * m.index.stderr_ < 1.0;
  const bool finite_mean = m.index.alpha - 2.0 * m.index.stderr_ > 1.0;
  std::string verdict;
  if (sign) {
    const bool ok = finite_mean &&
                    verdict::matches_prediction(m.tail.mean, m.tail.stderr_, m.predicted, 0.1);
    verdict = ok ? "floor, at its prediction" : "**no floor / off the prediction**";
    checks.sign_floors = checks.sign_floors && ok;
  } else if (nu_value < 2.0) {
    verdict = infinite_mean ? "no finite floor, as claimed" : "**not resolved as infinite**";
    checks.heavy_unbounded = checks.heavy_unbounded && infinite_mean;
  } else if (nu_value == 2.0) {
    verdict = "borderline (index 1): not judged";
  } else {
    verdict = finite_mean ? "finite floor, as expected" : "**not resolved as finite**";
    checks.light_finite = checks.light_finite && finite_mean;
  }
  const std::string finite = !sign && nu_value == 2.0 ? "borderline"
                             : finite_mean            ? "yes"
                             : infinite_mean          ? "**no**"
                                                      : "unresolved";
  return {verdict, finite};
}

Table tails_table() {
  return Table({{"method", ""},
               {"", "method"},
               {"ν", ""},
               {"", "nu"},
               {"tail index of f (Hill)", ""},
               {"", "tail_index"},
               {"", "stderr"},
               {"asymptotic index", ""},
               {"", "expected_index"},
               {"E f finite?", ""},
               {"tail average", ""},
               {"", "tail_mean"},
               {"", "tail_stderr"},
               {"predicted floor", ""},
               {"", "predicted"},
               {"verdict", ""}});
}

Panel tails_panel() {
  Panel panel{.title = "Heavy tails, quadratic d = 10, N = 4, η = 0.05, σ = 1: E f < ∞ iff index > 1",
              .xlabel = "Student-t degrees of freedom ν (6 = Gaussian)",
              .ylabel = "tail index of the stationary loss (Hill, ± 2 s.e.)",
              .log_y = true};
  panel.settings = {"set xtics ('1' 1, '1.5' 1.5, '2' 2, '3' 3, '∞' 6)", "set xrange [0.8:6.5]",
                    "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 3 lw 2",
                    "nu(s) = (s eq 'inf') ? 6 : real(s)"};
  panel.series = {{.data = "tails.csv",
                   .for_each = "m in 'dsgd dcsgd dsignsgd'",
                   .columns = "(strcol(1) eq m ? nu(strcol(2)) : 1/0):3:($3-2*$4):($3+2*$4)",
                   .style = "yerrorlines pt 7",
                   .title = "m",
                   .color = "method_color(m)"},
                  {.function = "(x < 5 ? x/2 : 1/0)",
                   .style = "lines dt 2 lc 'black'",
                   .title = title("ν/2 (linear filter of t_ν)")}};
  return panel;
}

}  // namespace

/// Experiment 4: Student-t noise with ν ∈ {1, 1.5, 2, 3, ∞} at scale σ = 1. Whether a method has
/// a finite floor E f is a question about the tail of the stationary loss distribution: E f < ∞
/// iff the tail index of f exceeds 1. DSGD/DCSGD are linear filters of the noise, so f = Σ λ x²/2
/// inherits tail index ν/2 (< 1 for ν < 2); DSignSGD's steps are bounded, so its f is light-tailed.
/// The experiment estimates the index with Hill's estimator on the pooled logged losses.
Section heavy_tails(const ReproduceOptions& options) {
  Section section;
  section.name = "tails";
  section.paper = "[A]";
  section.claim = "Under Student-t noise with ν ≤ 2 DSGD and DCSGD have no finite stationary loss, "
                 "while DSignSGD keeps one set by σ and ℓ_ν ([A]; docs/THEORY.md §3).";
  struct Method {
    const char* label;
    const char* method;
    const char* compressor;
  };
  const Method methods[] = {{"DSGD", "dsgd", "identity"},
                            {"DCSGD rand-k (ω = 3)", "dcsgd", "randk:0.25"},
                            {"DSignSGD", "dsignsgd", "sign"}};
  const std::vector<std::string> nus = {"1", "1.5", "2", "3", "inf"};
  Table table = tails_table();
  TailChecks checks;
  std::uint64_t salt = 0;
  for (const Method& m : methods) {
    for (const std::string& nu : nus) {
      const TailMeasurement cell = measure_tail(options, m.method, m.compressor, nu, salt++);
      const TailIndex& index = cell.index;
      const SampleStatistics& tail = cell.tail;
      const double predicted = cell.predicted;
      const double nu_value = nu == "inf" ? INFINITY : std::stod(nu);
      const bool sign = std::string(m.method) == "dsignsgd";
      const double expected = sign ? INFINITY : nu_value / 2.0;
      const auto [verdict, finite] = judge_tail(cell, sign, nu_value, checks);
      if (nu == "1") {  // the key numbers: at Cauchy noise
        section.headline +=
            (section.headline.empty() ? "Cauchy noise (ν = 1): " : ", ") + std::string(m.method) +
            (sign ? " floor " + significant(tail.mean, 4) + " ± " + significant(tail.stderr_, 2) +
                        " (predicted " + significant(predicted, 4) + ")"
                  : " tail index " + significant(index.alpha, 3) + " ± " + significant(index.stderr_, 2) +
                        " (< 1: no finite floor)");
      }
      // The ν column: markdown and CSV differ only for the Gaussian row.
      table.add({m.label, m.method, nu == "inf" ? "∞ (Gaussian)" : nu, nu,
                 significant(index.alpha, 3) + " ± " + significant(index.stderr_, 2), index.alpha,
                 index.stderr_, std::isinf(expected) ? "∞ (light)" : significant(expected, 3),
                 expected, finite, significant(tail.mean, 4) + " ± " + significant(tail.stderr_, 2),
                 tail.mean, tail.stderr_, std::isnan(predicted) ? "none" : significant(predicted, 4),
                 predicted, verdict});
    }
  }
  section.body = {
      Paragraph{"E f is finite iff the stationary loss has a tail index above 1. DSGD and DCSGD "
                "are linear filters of the noise, so their f inherits index ν/2; DSignSGD's "
                "bounded steps give a light tail. Hill's estimator on the top 2 % of the pooled "
                "logged losses (every 200th step, one relaxation time of the slowest coordinate, "
                "of R runs; runs are never stopped for divergence here):"},
      table,
      Paragraph{"\"No finite floor\" = index + 2 s.e. < 1; \"finite\" = index − 2 s.e. > 1; "
                "DSignSGD's tail average must also lie within 3 s.e. + 10 % of its closed form "
                "Σ ησ/(2ℓ_νN(2 − ηℓ_νλ/σ)). ν = 2 (index exactly 1) is shown, not judged. At "
                "ν = 3 the estimate sits above the asymptotic 1.5: the top 2 % of a filtered t₃ "
                "sum is still in its Gaussian-like body — the conclusion (finite) is the same. "
                "The tail averages of DSGD/DCSGD at ν < 2 are finite numbers only because every "
                "run is finite; they grow with the horizon."}};
  section.checks = {
      {"DSGD and DCSGD at ν < 2: no finite floor (index + 2 s.e. < 1)", checks.heavy_unbounded},
      {"DSGD and DCSGD at ν ≥ 3 and Gaussian: a finite floor (index − 2 s.e. > 1)",
       checks.light_finite},
      {"DSignSGD at every ν: a finite floor within 3 s.e. + 10 % of its closed form",
       checks.sign_floors}};
  section.data = {{"tails.csv", table}};
  section.figures = {{"tails", {tails_panel()}}};
  return section;
}

namespace {

/// Part A of the l0l1 experiment: DCSGD with η/√(k+1) against normalized DCSGD over ω.
struct ScheduledDcsgd {
  Table table{{{"method", "method"},
               {"ω", "omega"},
               {"diverged runs", ""},
               {"", "diverged"},
               {"", "runs"},
               {"final f (live runs, ± s.e.)", ""},
               {"", "final_mean"},
               {"", "final_stderr"}}};
  bool normalized_converges = true;
  int dcsgd_diverged_last = 0, dcsgd_diverged_first = 0;
};

ScheduledDcsgd measure_scheduled_dcsgd(const ReproduceOptions& options, std::uint64_t& salt) {
  const std::vector<double> fractions = {1.0, 0.5, 0.25, 0.125};
  ScheduledDcsgd out;
  for (const char* method : {"dcsgd", "normalized-dcsgd"}) {
    for (std::size_t i = 0; i < fractions.size(); ++i) {
      TrainOptions o;
      o.problem.problem = "quartic";
      o.problem.dim = 8;
      o.problem.x0 = 2.0;
      o.method = method;
      o.compressor = fractions[i] == 1.0 ? "identity" : "randk:" + format_double(fractions[i]);
      o.workers = 8;
      o.noise = "relative:1";
      o.lr = 0.1;
      o.schedule = "invsqrt";
      o.steps = options.quick ? 20000 : 40000;
      o.runs = options.quick ? 16 : 32;
      o.seed = options.seed + 100 * salt++;
      note(options, std::string("l0l1: ") + method + ", " + o.compressor);
      const TrainResult result = train(o);
      const LossSummary s = summarize_loss(result);
      const double omega = 1.0 / fractions[i] - 1.0;
      const int runs = result.plan.runs;
      out.table.add(
          {method, omega, std::to_string(s.diverged_runs) + " / " + std::to_string(runs),
           std::int64_t{s.diverged_runs}, std::int64_t{runs},
           s.final_loss.count
               ? significant(s.final_loss.mean, 3) + " ± " + significant(s.final_loss.stderr_, 1)
               : std::string("—"),
           s.final_loss.mean, s.final_loss.stderr_});
      if (std::string(method) == "dcsgd") {
        if (i == 0) out.dcsgd_diverged_first = s.diverged_runs;
        if (i + 1 == fractions.size()) out.dcsgd_diverged_last = s.diverged_runs;
      } else {
        // Converges: no run lost and the loss far below f(x0) = 32.
        out.normalized_converges =
            out.normalized_converges && s.diverged_runs == 0 && s.final_loss.mean < 1e-3;
      }
    }
  }
  return out;
}

/// Part B: DSignSGD, Cauchy noise, constant step against η/√(k+1).
struct SignSchedules {
  Table curves{{{"", "schedule"}, {"", "step"}, {"", "loss_mean"}, {"", "loss_stderr"}}};
  Table sign_table{{{"schedule", ""},
                    {"mean f over steps K/4–K/2", "", 4},
                    {"over 3K/4–K", "", 4},
                    {"ratio", "", 3},
                    {"verdict", ""}}};
  bool constant_stalls = false, decaying_converges = false;
  double sign_ratios[2] = {0.0, 0.0};  // constant, 1/√(k+1)
};

SignSchedules measure_sign_schedules(const ReproduceOptions& options, std::uint64_t& salt) {
  SignSchedules out;
  double const_floor = 0.0;
  for (const char* schedule : {"const", "invsqrt"}) {
    TrainOptions o;
    o.problem.problem = "quartic";
    o.problem.dim = 8;
    o.problem.x0 = 2.0;
    o.method = "dsignsgd";
    o.workers = 8;
    o.noise = "cauchy:1";
    o.lr = 0.1;
    o.schedule = schedule;
    const std::int64_t steps = options.quick ? 8000 : 40000;
    o.steps = steps;
    o.log_every = steps / 40;
    o.runs = options.quick ? 16 : 32;
    o.seed = options.seed + 5000 + 100 * salt++;
    note(options, std::string("l0l1: dsignsgd, ") + schedule);
    const TrainResult result = train(o);
    double q2 = 0.0, q4 = 0.0;
    int n2 = 0, n4 = 0;
    for (std::size_t row = 0; row < result.logged_steps.size(); ++row) {
      const SampleStatistics s = loss_statistics(result, row);
      const double k = static_cast<double>(result.logged_steps[row]);
      out.curves.add({schedule, result.logged_steps[row], s.mean, s.stderr_});
      if (k > 0.25 * steps && k <= 0.5 * steps) q2 += s.mean, ++n2;
      if (k > 0.75 * steps) q4 += s.mean, ++n4;
    }
    q2 /= n2;
    q4 /= n4;
    const double ratio = q4 / q2;
    out.sign_ratios[std::string(schedule) == "const" ? 0 : 1] = ratio;
    bool ok = false;
    if (std::string(schedule) == "const") {
      const_floor = q4;
      ok = out.constant_stalls = verdict::stalled(q2, q4);
    } else {
      ok = out.decaying_converges = verdict::converging(q2, q4, const_floor);
    }
    const bool constant = std::string(schedule) == "const";
    out.sign_table.add({constant ? "constant η = 0.1" : "0.1/√(k+1)", q2, q4, ratio,
                    constant ? (ok ? "stalls at a floor" : "**does not stall**")
                             : (ok ? "keeps converging" : "**stalls**")});
  }
  return out;
}

Panel l0l1_runs_panel() {
  Panel runs{.title = "quartic, N = 8, relative noise, η/√(k+1)",
             .xlabel = "ω (rand-k)",
             .ylabel = "diverged runs (+1, log)",
             .log_y = true,
             .key = "top left font ',9'"};
  runs.series = {{.data = "l0l1_dcsgd.csv",
                  .for_each = "m in 'dcsgd normalized-dcsgd'",
                  .columns = "(strcol(1) eq m ? $2 : 1/0):($3+1)",
                  .style = "linespoints pt 7",
                  .title = "m",
                  .color = "method_color(m)"}};
  return runs;
}

Panel l0l1_sign_panel() {
  Panel sign{.title = "DSignSGD, Cauchy noise, N = 8",
             .xlabel = "step k (thousands)",
             .ylabel = "mean f (± s.e.)",
             .log_y = true,
             .key = "top right"};
  sign.series = {{.data = "l0l1_dsignsgd.csv",
                  .for_each = "s in 'const invsqrt'",
                  .columns = "(strcol(1) eq s ? $2/1000 : 1/0):3:4",
                  .style = "yerrorlines pt 7 ps 0.4",
                  .title = "s",
                  .color = "(s eq 'const' ? '#777777' : method_color('dsignsgd'))"}};
  return sign;
}

}  // namespace

/// Experiment 6: [B]'s (L0,L1)-smoothness findings on the quartic Σ x⁴/4 (‖∇²f‖ ≤ L0 + L1‖∇f‖
/// with no global L): DCSGD with a decaying schedule loses more runs as ω grows while normalized
/// DCSGD converges at every ω (N = 8, relative noise); DSignSGD under Cauchy noise stalls at a
/// floor with a constant step and keeps converging with η/√(k+1).
Section l0l1_smoothness(const ReproduceOptions& options) {
  Section section;
  section.name = "l0l1";
  section.paper = "[B]";
  section.claim = "Under (L0,L1)-smoothness a pre-scheduled decaying step is not enough for DCSGD "
                 "as ω grows, normalized DCSGD converges; DSignSGD with Cauchy noise stalls at a "
                 "floor at constant η and converges with 1/√(k+1) ([B]; docs/THEORY.md §3).";
  std::uint64_t salt = 0;
  const ScheduledDcsgd a = measure_scheduled_dcsgd(options, salt);
  const bool scheduled_fails =
      a.dcsgd_diverged_last >= std::max(1, a.dcsgd_diverged_first + 1) &&
      4 * a.dcsgd_diverged_last >= 16;  // at the largest ω a quarter of the runs or more

  const SignSchedules b = measure_sign_schedules(options, salt);
  section.body = {
      Paragraph{"Quartic f = Σ x_j⁴/4, d = 8, x0 = 2 (f = 32), N = 8 agents, relative noise σ1 = 1 "
                "(N(0, ‖∇f‖²)), η = 0.1 with η_k = 1/√(k+1):"},
      a.table,
      Paragraph{"DSignSGD under Cauchy noise (σ = 1), same problem; the ratio is the mean loss "
                "over the last quarter of the steps to that over the second:"},
      b.sign_table};
  section.headline = "DCSGD with η/√(k+1) at the largest ω: " +
                     std::to_string(a.dcsgd_diverged_last) + " runs diverged (" +
                     std::to_string(a.dcsgd_diverged_first) +
                     " at ω = 0); normalized DCSGD: none. DSignSGD, Cauchy: late/early loss " +
                     significant(b.sign_ratios[0], 3) + " at constant η, " +
                     significant(b.sign_ratios[1], 3) + " with 1/√(k+1)";
  section.checks = {
      {"normalized DCSGD loses no run and ends below 10⁻³ at every ω", a.normalized_converges},
      {"DCSGD with η/√(k+1) loses more runs at the largest ω than at ω = 0, and at least a "
       "quarter of them",
       scheduled_fails},
      {"DSignSGD, constant η: ratio within [0.75, 1.33] (stalls at a floor)", b.constant_stalls},
      {"DSignSGD, 1/√(k+1): ratio below 0.75 and late loss below a third of the constant-step "
       "floor",
       b.decaying_converges}};
  section.data = {{"l0l1_dcsgd.csv", a.table}, {"l0l1_dsignsgd.csv", b.curves}};
  section.figures = {{"l0l1", {l0l1_runs_panel(), l0l1_sign_panel()}}};
  return section;
}

}  // namespace dsignsgd::reproduce_detail

