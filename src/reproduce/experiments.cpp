#include "dsignsgd/reproduce/experiments.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/sde/simulate.hpp"
#include "dsignsgd/sde/validate.hpp"
#include "dsignsgd/theory/predict.hpp"
#include "experiment_support.hpp"
#include "dsignsgd/reproduce/table.hpp"

namespace dsignsgd::reproduce_detail {

/// Experiment 2 of issue 6: stationary floor against σ, measured and predicted; slopes 2 for
/// DSGD and DCSGD, 1 for DSignSGD (SPEC §3).
ExperimentReport noise_resilience(const ReproduceOptions& options) {
  ExperimentReport report;
  report.name = "noise";
  report.claim =
      "Unbiased compression makes DSGD's stationary loss grow like (1+ω)σ², while DSignSGD's grows "
      "only linearly in σ ([A], SPEC §3).";
  const std::vector<double> sigmas = options.quick ? std::vector<double>{0.25, 1.0, 4.0}
                                                   : std::vector<double>{0.25, 0.5, 1.0, 2.0, 4.0};
  struct Method {
    const char* label;
    const char* method;
    const char* compressor;
    double slope;
  };
  const Method methods[] = {{"DSGD", "dsgd", "identity", 2.0},
                            {"DCSGD rand-k (ω = 4)", "dcsgd", "randk:0.2", 2.0},
                            {"DSignSGD", "dsignsgd", "sign", 1.0}};
  Table floors({{"method", "", 0},
                {"", "method", 0},
                {"σ", "sigma", 0},
                {"measured floor", "measured", 5},
                {"s.e.", "stderr", 2},
                {"predicted", "predicted", 5}});
  std::ostringstream verdicts;
  std::ostringstream labels;  // the fitted slopes, written on the figure
  bool all = true;
  for (const Method& m : methods) {
    std::vector<double> measured;
    for (std::size_t i = 0; i < sigmas.size(); ++i) {
      const double sigma = sigmas[i];
      TrainOptions o;
      o.method = m.method;
      o.compressor = m.compressor;
      o.problem.dim = 10;
      o.problem.hessian = "linspace:0.5:2";
      o.problem.x0 = 0.0;
      o.noise = "gaussian:" + format_double(sigma);
      o.workers = 4;
      o.lr = 0.01;
      o.steps = options.quick ? 10000 : 40000;
      o.runs = options.quick ? 8 : 16;
      // Independent streams per σ: with shared ones a linear recursion from x* scales exactly
      // with σ and the fitted slope would carry no Monte Carlo error at all.
      o.seed = options.seed + 1000 * i;
      const SampleStatistics tail = summarize_loss(train(o)).tail_loss;
      const double predicted = predict(o).floor.stationary_loss.value();
      measured.push_back(tail.mean);
      floors.add({m.label, m.method, sigma, tail.mean, tail.stderr_, predicted});
    }
    const SlopeFit fit = fit_log_log_slope(sigmas, measured);
    const bool holds = slope_claim_holds(fit, m.slope, 0.15);
    labels << "set label '" << m.method << ": slope " << fixed(fit.slope, 3) << " (claim "
           << m.slope << ")' at " << sigmas.back() * 1.15 << "," << measured.back()
           << " left font ',10'\n";
    all = all && holds;
    verdicts << "- " << m.label << ": measured slope " << fixed(fit.slope, 3) << " ± "
             << fixed(fit.stderr_, 2) << " (claimed " << m.slope << "): "
             << (holds ? "**holds**" : "**does not hold**") << "\n";
  }
  write_file_atomic(options.out / "noise.csv", floors.csv());
  std::ostringstream body;
  body << "set logscale xy\nset key top left\n"
          "set xlabel 'noise scale σ (Gaussian, per coordinate)'\n"
          "set ylabel 'stationary loss E f − f* (tail average)'\n"
          "set title 'Quadratic d = 10, N = 4, η = 0.01: floors against σ'\n"
          "set xrange [*:"
       << sigmas.back() * 6 << "]\n"
       << labels.str() << "plot for [m in 'dsgd dcsgd dsignsgd'] '"
       << (options.out / "noise.csv").string()
       << "' using (strcol(1) eq m ? $2 : 1/0):3:4 with yerrorbars pt 7 title m.' measured', \\\n"
          "     for [m in 'dsgd dcsgd dsignsgd'] '"
       << (options.out / "noise.csv").string()
       << "' using (strcol(1) eq m ? $2 : 1/0):5 smooth unique with lines dt 2 title m.' "
          "predicted'";
  plot(options, "noise", body.str());
  report.figures = {"noise.png"};
  report.holds = all;
  std::ostringstream md;
  md << floors.markdown() << "\nSlopes of log floor against log σ (least squares over σ):\n\n"
     << verdicts.str() << "\nVerdict: " << (all ? "holds" : "does not hold")
     << ".\n\n" << data_and_command("`noise.csv`; figure `noise.png` / `noise.svg`", options);
  report.markdown = md.str();
  return report;
}

/// Experiment 5: DSignSGD under (η, N) → (κη, κN) follows the same curve in time t = kη, i.e.
/// in κ× fewer steps ([A]: the SDE depends on η/N only).
ExperimentReport linear_speedup(const ReproduceOptions& options) {
  ExperimentReport report;
  report.name = "agents";
  report.claim = "DSignSGD's SDE depends on η and N only through η/N: κ× more agents with a "
                 "κ× larger step give the same loss curve in κ× fewer iterations ([A]).";
  const std::vector<int> kappas = options.quick ? std::vector<int>{1, 2, 4}
                                                : std::vector<int>{1, 2, 4, 8};
  const std::int64_t base_steps = 4000;
  Table curve_table({{"", "kappa"}, {"", "workers"}, {"", "lr"}, {"", "time"}, {"", "loss_mean"},
                     {"", "loss_stderr"}});
  std::vector<std::vector<SampleStatistics>> curves;
  for (std::size_t i = 0; i < kappas.size(); ++i) {
    const int kappa = kappas[i];
    TrainOptions o;
    o.method = "dsignsgd";
    o.problem.dim = 10;
    o.problem.hessian = "linspace:0.5:2";
    o.problem.x0 = 1.0;
    o.noise = "gaussian:1";
    o.workers = 2 * kappa;
    o.lr = 0.005 * kappa;
    o.steps = base_steps / kappa;
    o.log_every = 200 / kappa;
    o.runs = options.quick ? 64 : 256;
    o.seed = options.seed + 1000 * i;
    const TrainResult result = train(o);
    std::vector<SampleStatistics> curve;
    for (std::size_t row = 0; row < result.logged_steps.size(); ++row) {
      curve.push_back(loss_statistics(result, row));
      const double t = result.plan.lr * static_cast<double>(result.logged_steps[row]);
      curve_table.add({std::int64_t{kappa}, std::int64_t{result.plan.workers}, result.plan.lr, t,
                       curve.back().mean, curve.back().stderr_});
    }
    curves.push_back(curve);
  }
  write_file_atomic(options.out / "agents.csv", curve_table.csv());
  Table table({{"κ", ""},
               {"N", ""},
               {"η", ""},
               {"steps", ""},
               {"largest relative difference of mean f", "", 3},
               {"largest z", "", 3}});
  bool all = true;
  for (std::size_t i = 1; i < kappas.size(); ++i) {
    double worst_relative = 0.0, worst_z = 0.0;
    bool ok = true;
    for (std::size_t row = 1; row < curves[0].size(); ++row) {
      const SampleStatistics& a = curves[0][row];
      const SampleStatistics& b = curves[i][row];
      const double difference = std::abs(a.mean - b.mean);
      const double se = std::hypot(a.stderr_, b.stderr_);
      worst_relative = std::max(worst_relative, difference / a.mean);
      worst_z = std::max(worst_z, difference / se);
      // Monte Carlo error (4.5 s.e.) plus the O(η) gap between the method and its SDE (5 %).
      ok = ok && verdict::curves_agree(a.mean, a.stderr_, b.mean, b.stderr_);
    }
    all = all && ok;
    table.add({std::int64_t{kappas[i]}, std::int64_t{2 * kappas[i]}, 0.005 * kappas[i],
               std::int64_t{base_steps / kappas[i]}, worst_relative, worst_z});
  }
  plot(options, "agents",
       "set logscale y\nset key top right\nset xlabel 'time t = k η'\n"
       "set ylabel 'mean loss f − f* (± s.e.)'\n"
       "set title 'DSignSGD, quadratic d = 10, Gaussian σ = 1: (η, N) → (κη, κN)'\n"
       "plot for [k in '" + [&] {
         std::string list;
         for (int kappa : kappas) list += (list.empty() ? "" : " ") + std::to_string(kappa);
         return list;
       }() + "'] '" + (options.out / "agents.csv").string() +
           "' using (column(1) == k+0 ? $4 : 1/0):5:6 with yerrorlines title 'κ = '.k.' (N = '.(2*k).', η = '.sprintf('%g', 0.005*k).')'");
  report.figures = {"agents.png"};
  report.holds = all;
  std::ostringstream md;
  md << "Reference: κ = 1 (N = 2, η = 0.005, 4000 steps); each row compares the mean loss curve "
        "at equal times t = kη.\n\n"
     << table.markdown() << "\nCriterion at every logged time: |Δ mean| ≤ 4.5 s.e. + 5 % (the O(η) gap "
        "between the method and its SDE).\n\nVerdict: "
     << (all ? "holds" : "does not hold") << ".\n\n" << data_and_command("`agents.csv`", options);
  report.markdown = md.str();
  return report;
}

/// Experiment 8: which SDE model of GD sees GD's step-size limit on the parabola λx²/2 (λ = 1)
/// — [B]'s stability-corrected drift, not the uncorrected or the classic second-order one.
ExperimentReport stability_models(const ReproduceOptions& options) {
  ExperimentReport report;
  report.name = "stability";
  report.claim = "Only the stability-corrected SDE of [B] predicts, like GD, that the loss grows "
                 "for η > 2/λ; the first-order and classic second-order SDEs predict convergence "
                 "at every η (SPEC §2).";
  const std::vector<double> lrs = {0.25, 0.5, 1.0, 1.5, 1.9, 2.1, 2.5};
  const double horizon = 10.0;
  Table table({{"η", "lr"},
               {"GD f(x_K)/f(x_0)", "gd", 3},
               {"none", "none", 3},
               {"classic", "classic", 3},
               {"stability", "stability", 3},
               {"who agrees with GD on growth", ""}});
  bool all = true;
  for (double lr : lrs) {
    TrainOptions o;
    o.method = "dsgd";
    o.problem.dim = 1;
    o.problem.hessian = "diag:1";
    o.problem.x0 = 1.0;
    o.noise = "none";
    o.lr = lr;
    o.steps = std::max<std::int64_t>(1, std::llround(horizon / lr));
    o.runs = 1;
    o.divergence_factor = 1e300;
    const double f0 = 0.5;
    const double gd = train(o).runs[0].final_loss / f0;
    std::vector<Table::Cell> row{lr, gd};
    std::string agree;
    bool stability_agrees = false;
    bool others_converge = true;
    for (const char* model : {"none", "classic", "stability"}) {
      SdeOptions sde;
      sde.drift_correction = model;
      sde.integrator = "platen2";
      sde.substeps = 64;
      const double ratio = simulate_sde(o, sde).result.runs[0].final_loss / f0;
      row.emplace_back(ratio);
      const bool same = (ratio > 1.0) == (gd > 1.0);
      if (same) agree += std::string(agree.empty() ? "" : ", ") + model;
      if (std::string(model) == "stability") stability_agrees = same;
      if (std::string(model) != "stability" && ratio > 1.0) others_converge = false;
    }
    row.emplace_back(agree.empty() ? "none" : agree);
    table.add(std::move(row));
    all = all && stability_agrees && others_converge;
  }
  write_file_atomic(options.out / "stability.csv", table.csv());
  const std::string data = (options.out / "stability.csv").string();
  plot(options, "stability",
       "set logscale y\nset key top left\nset xlabel 'step size η (λ = 1; GD diverges for η > 2)'\n"
       "set ylabel 'f(x_K) / f(x_0) at time T = K η = 10'\nset format y '10^{%T}'\n"
       "set title 'Parabola x²/2: GD against its three SDE models'\n"
       "set arrow from 2, graph 0 to 2, graph 1 nohead dt 3\n"
       "plot '" + data + "' using 1:2 every ::1 with linespoints lw 2 pt 7 title 'GD', "
       "'' using 1:3 every ::1 with linespoints title 'SDE, no correction', "
       "'' using 1:4 every ::1 with linespoints title 'SDE, classic (−η/2 ∇²f∇f)', "
       "'' using 1:5 every ::1 with linespoints title 'SDE, stability (+η/2 ∇²f∇f, [B])'");
  report.figures = {"stability.png"};
  report.holds = all;
  std::ostringstream md;
  md << table.markdown() << "\nVerdict: " << (all ? "holds" : "does not hold")
     << " (the stability model grows exactly where GD does, the other two never grow). The same "
        "model is far less accurate at small η than the classic one (docs/SDE.md).\n\n"
     << data_and_command("`stability.csv`", options);
  report.markdown = md.str();
  return report;
}

/// Experiment 1: the SDE against the algorithm — mean loss curves with bands, and the weak error
/// shrinking about linearly as η halves (SPEC §4).
ExperimentReport sde_versus_algorithm(const ReproduceOptions& options) {
  ExperimentReport report;
  report.name = "sde";
  report.claim = "Each method's SDE is a first-order weak approximation: its mean loss follows "
                 "the algorithm's and the weak error shrinks like η (SPEC §2, §4).";
  struct Case {
    const char* label;
    const char* method;
    const char* compressor;
    const char* noise;
  };
  const Case cases[] = {{"DSGD, Gaussian", "dsgd", "identity", "gaussian:0.1"},
                        {"DCSGD rand-k, Gaussian", "dcsgd", "randk:0.2", "gaussian:0.1"},
                        {"DSignSGD, Gaussian", "dsignsgd", "sign", "gaussian:1"},
                        {"DSignSGD, Student-t ν = 3", "dsignsgd", "sign", "student:3:1"}};
  Table errors({{"", "case"}, {"", "eta"}, {"", "weak_error"}, {"", "stderr"}});
  Table table({{"case", ""},
               {"weak error at η = 0.1 / 0.05 / 0.025 (± s.e.)", ""},
               {"fitted order", ""}});
  bool all = true;
  std::string curve_files;
  for (std::size_t c = 0; c < std::size(cases); ++c) {
    TrainOptions o;
    o.method = cases[c].method;
    o.compressor = cases[c].compressor;
    o.noise = cases[c].noise;
    o.problem.dim = 10;
    o.problem.hessian = "linspace:0.5:2";
    o.problem.x0 = 1.0;
    o.lr = 0.1;
    o.steps = 20;
    o.runs = options.quick ? 1000 : 4000;
    o.seed = options.seed + 1000 * c;
    SdeOptions sde;
    sde.drift_correction = "none";  // the first-order model of SPEC §2
    sde.substeps = 8;
    const ValidateResult result = validate_sde(o, sde, {});
    const std::string curves = "sde_curves_" + std::to_string(c) + ".csv";
    write_file_atomic(options.out / curves, validate_csv(result));
    curve_files += (curve_files.empty() ? "" : " ") + curves;
    std::string weak_errors;
    for (std::size_t l = 0; l < result.levels.size(); ++l) {
      const ValidateLevel& level = result.levels[l];
      errors.add({static_cast<std::int64_t>(c), level.lr, level.weak_error,
                  level.weak_error_stderr});
      weak_errors += (l ? " / " : "") + fixed(level.weak_error, 3) + " ± " +
                     fixed(level.weak_error_stderr, 1);
    }
    const bool holds = result.resolved && std::abs(result.order - 1.0) <= 0.35;
    all = all && holds;
    table.add({cases[c].label, weak_errors,
               fixed(result.order, 3) + (holds ? "" : " (not first order)")});
  }
  write_file_atomic(options.out / "sde_weak_error.csv", errors.csv());
  plot(options, "sde_weak_error",
       "set logscale xy\nset key top left\nset xlabel 'step size η'\n"
       "set ylabel 'weak error max_k |E f(x_k) − E f(X_{kη})|'\n"
       "set title 'Algorithm against its SDE (8 substeps): weak error against η'\n"
       "set xrange [0.02:0.12]\n"
       "f(x) = x\n"
       "plot for [c=0:3] '" + (options.out / "sde_weak_error.csv").string() +
           "' using (column(1) == c ? $2 : 1/0):3:4 with yerrorlines title word('DSGD DCSGD-rand-k "
           "DSignSGD DSignSGD-t3', c+1), 0.6*x with lines dt 2 lc 'black' title 'slope 1'");
  plot(options, "sde_curves",
       "set key top right\nset logscale y\nset xlabel 'time t'\nset ylabel 'mean loss (95 % band)'\n"
       "set title 'DSignSGD, Gaussian σ = 1, η = 0.1: algorithm (points) and SDE (band)'\n"
       "plot '" + (options.out / "sde_curves_2.csv").string() +
           "' using (column(2) == 0.1 ? $1 : 1/0):8:9 with filledcurves fs transparent solid 0.3 "
           "title 'SDE', '' using (column(2) == 0.1 ? $1 : 1/0):4:5:6 with yerrorbars pt 7 ps 0.5 "
           "title 'algorithm'");
  report.figures = {"sde_weak_error.png", "sde_curves.png"};
  report.holds = all;
  std::ostringstream md;
  md << table.markdown() << "\nEach weak error is the largest difference of the mean loss over logged "
        "times, algorithm against SDE (no drift correction, 8 substeps, same horizon T = 2); the "
        "order is the least-squares slope over the three η. Criterion: resolved (every error "
        "above 2 s.e.) and order within 1 ± 0.35.\n\nVerdict: "
     << (all ? "holds" : "does not hold") << ".\n\n"
     << data_and_command("`sde_weak_error.csv`, " + curve_files, options);
  report.markdown = md.str();
  return report;
}

}  // namespace dsignsgd::reproduce_detail
