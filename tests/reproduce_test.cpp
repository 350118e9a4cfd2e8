// The reproduction suite: verdict computations on inputs with known answers, and a reduced run
// whose report must hold every figure and table it promises.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dsignsgd/random/stream.hpp"
#include "dsignsgd/plot/gnuplot.hpp"
#include "dsignsgd/reproduce/experiments.hpp"
#include "dsignsgd/reproduce/printers.hpp"
#include "dsignsgd/reproduce/table.hpp"
#include "reproduce_support.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

using testing::quick_experiment;

TEST(SlopeVerdict, RecoversKnownSlopesAndCanFail) {
  const std::vector<double> x = {0.25, 0.5, 1, 2, 4};
  std::vector<double> quadratic, linear, in_between;
  for (double v : x) {
    quadratic.push_back(3.0 * v * v);
    linear.push_back(0.1 * v);
    in_between.push_back(std::pow(v, 1.5));
  }
  const SlopeFit q = fit_log_log_slope(x, quadratic);
  EXPECT_NEAR(q.slope, 2.0, 1e-12);
  EXPECT_NEAR(q.stderr_, 0.0, 1e-9);
  EXPECT_TRUE(slope_claim_holds(q, 2.0, 0.15));
  EXPECT_FALSE(slope_claim_holds(q, 1.0, 0.15));
  EXPECT_TRUE(slope_claim_holds(fit_log_log_slope(x, linear), 1.0, 0.15));
  // A slope of 1.5 is neither of the claimed ones: both verdicts fail.
  const SlopeFit mid = fit_log_log_slope(x, in_between);
  EXPECT_FALSE(slope_claim_holds(mid, 2.0, 0.15));
  EXPECT_FALSE(slope_claim_holds(mid, 1.0, 0.15));
  // Scatter widens the acceptance only through its standard error.
  std::vector<double> noisy = quadratic;
  noisy[1] *= 1.3;
  noisy[3] /= 1.3;
  const SlopeFit n = fit_log_log_slope(x, noisy);
  EXPECT_GT(n.stderr_, 0.01);
  EXPECT_TRUE(slope_claim_holds(n, 2.0, 0.15));
}

TEST(TailIndexVerdict, HillRecoversParetoIndicesAndSeparatesFiniteFromInfiniteMeans) {
  // Pareto samples X = U^(−1/α): P(X > x) = x^−α exactly, so Hill's estimate must find α.
  const std::uint64_t seed = testing::test_seed(114);
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kSetup});
  for (double alpha : {0.5, 0.75, 1.5, 3.0}) {
    std::vector<double> samples(20000);
    for (double& x : samples) x = std::pow(1.0 - rng.uniform(), -1.0 / alpha);
    const TailIndex index = hill_tail_index(samples, 0.02);
    EXPECT_EQ(index.used, 400u);
    EXPECT_NEAR(index.alpha, alpha, 4.0 * index.stderr_) << "α = " << alpha;
    EXPECT_NEAR(index.stderr_, alpha / 20.0, 0.2 * alpha / 20.0);
    // The experiment's verdicts: infinite mean iff α + 2 s.e. < 1, finite iff α − 2 s.e. > 1.
    EXPECT_EQ(index.alpha + 2.0 * index.stderr_ < 1.0, alpha < 1.0) << "α = " << alpha;
    EXPECT_EQ(index.alpha - 2.0 * index.stderr_ > 1.0, alpha > 1.0) << "α = " << alpha;
  }
  // Light tails (exponential) give a large index; too few samples give NaN.
  std::vector<double> light(20000);
  for (double& x : light) x = 1.0 - std::log(1.0 - rng.uniform());
  EXPECT_GT(hill_tail_index(light, 0.02).alpha, 3.0);
  EXPECT_TRUE(std::isnan(hill_tail_index({1.0, 2.0, 3.0}, 0.02).alpha));
}

TEST(Verdicts, EachRuleAcceptsItsClaimAndRejectsTheOpposite) {
  // Floors against predictions: 3 s.e. plus a relative allowance, no more.
  EXPECT_TRUE(verdict::matches_prediction(1.04, 0.01, 1.0, 0.05));
  EXPECT_TRUE(verdict::matches_prediction(1.07, 0.01, 1.0, 0.05));   // 0.07 ≤ 0.03 + 0.05
  EXPECT_FALSE(verdict::matches_prediction(1.09, 0.01, 1.0, 0.05));  // 0.09 > 0.08
  EXPECT_FALSE(verdict::matches_prediction(8.0, 0.1, 1.0, 0.05));    // DCSGD ω = 7 unscaled
  // Scaling rules: one-sided — far below is fine (a rule may overshoot), above is not.
  EXPECT_TRUE(verdict::at_or_below(0.009, 0.0002, 0.010, 0.0002));
  EXPECT_TRUE(verdict::at_or_below(0.0105, 0.0001, 0.010, 0.0001));
  EXPECT_FALSE(verdict::at_or_below(0.08, 0.001, 0.010, 0.0002));
  EXPECT_FALSE(verdict::at_or_below(0.0115, 0.0001, 0.010, 0.0001));
  // Curves: 4.5 s.e. + 5 %.
  EXPECT_TRUE(verdict::curves_agree(1.0, 0.01, 1.08, 0.01));
  EXPECT_FALSE(verdict::curves_agree(1.0, 0.01, 1.2, 0.01));
  // Schedules: a flat late/early ratio is a stall, a falling one with a low end is convergence.
  EXPECT_TRUE(verdict::stalled(0.020, 0.021));
  EXPECT_FALSE(verdict::stalled(0.020, 0.005));
  EXPECT_TRUE(verdict::converging(0.012, 0.005, 0.02));
  EXPECT_FALSE(verdict::converging(0.012, 0.011, 0.02));  // not falling
  EXPECT_FALSE(verdict::converging(0.030, 0.015, 0.02));  // falling but above the stalled floor
  // Heavy tails on real data.
  EXPECT_TRUE(verdict::breaks(2, 2, 0, 0.0, 0.75));     // every run diverged
  EXPECT_TRUE(verdict::breaks(1, 2, 1, 0.88, 0.75));    // half the runs
  EXPECT_TRUE(verdict::breaks(0, 4, 4, 0.70, 0.75));    // all alive but below the robust method
  EXPECT_FALSE(verdict::breaks(0, 4, 4, 0.90, 0.75));   // alive and better: does not break
}

TEST(Reproduce, ASecondRunWithTheSameSeedWritesTheSameNumbers) {
  const std::filesystem::path out =
      testing::scratch_path("reproduce_repeat_test");
  std::string first;
  for (int round = 0; round < 2; ++round) {
    std::filesystem::remove_all(out);
    ReproduceOptions options;
    options.quick = true;
    options.seed = 5;
    options.out = out;
    run_experiment("compression", options);
    std::ifstream in(out / "compression_rules.csv");
    std::stringstream text;
    text << in.rdbuf();
    if (round == 0) first = text.str();
    else EXPECT_EQ(text.str(), first);
  }
  EXPECT_GT(first.size(), 100u);
  std::filesystem::remove_all(out);
}

TEST(Reproduce, QuickCompressionExperimentRestoresDsgdsFloorWithEveryRule) {
  const ExperimentReport report = quick_experiment(
      "compression", 115, {"compression.csv", "compression_rules.csv", "compression.png", "compression.svg", "compression_rules.png"});
  EXPECT_TRUE(report.holds) << report.markdown;
  for (const char* rule : {"rule: lr", "rule: batch", "rule: workers"}) {
    EXPECT_NE(report.markdown.find(rule), std::string::npos) << rule;
  }
}

TEST(Reproduce, QuickL0L1ExperimentSeparatesNormalizedFromScheduledSteps) {
  const ExperimentReport report =
      quick_experiment("l0l1", 117, {"l0l1_dcsgd.csv", "l0l1_dsignsgd.csv", "l0l1.png", "l0l1.svg"});
  EXPECT_TRUE(report.holds) << report.markdown;
}

TEST(Reproduce, QuickAgentsExperimentShowsTheLinearSpeedUp) {
  const ExperimentReport report =
      quick_experiment("agents", 112, {"agents.csv", "agents.png", "agents.svg"});
  EXPECT_TRUE(report.holds) << report.markdown;
  EXPECT_NE(report.markdown.find("| κ | N | η | steps |"), std::string::npos);
}

TEST(Reproduce, StabilityExperimentFindsGdsStepSizeLimitOnlyInTheCorrectedModel) {
  const ExperimentReport report = quick_experiment("stability", 1, {"stability.png"});
  EXPECT_TRUE(report.holds) << report.markdown;
  // Above η = 2/λ only the stability model agrees with GD.
  EXPECT_NE(report.markdown.find("| 2.1 |"), std::string::npos);
  EXPECT_NE(report.markdown.find("| stability |"), std::string::npos);
}

TEST(Reproduce, QuickEdgeExperimentKeepsTheFloorWithTheDefaultSdeUpToTheStabilityLimit) {
  const ExperimentReport report = quick_experiment(
      "edge", 118,
      {"edge_models.csv", "edge_floors.csv", "edge_linear.png", "edge_sign.svg",
       "edge_quantizer.png"});
  EXPECT_TRUE(report.holds) << report.markdown;
  // Issue 26: QSGD and natural compression have rows, and the default SDE keeps their floor
  // (one of the checks above).
  EXPECT_NE(report.markdown.find("| DCSGD QSGD s = 2 | DCSGD natural |"), std::string::npos);
  // The default (no correction, one Euler substep) at z = 1.9, and the classic drift's Euler
  // blow-up there.
  EXPECT_NE(report.markdown.find("| none euler/1 (default) |"), std::string::npos);
  EXPECT_NE(report.markdown.find("diverges"), std::string::npos);
}

TEST(Reproduce, QuickNoiseExperimentWritesItsFigureTableAndVerdict) {
  const std::filesystem::path out =
      testing::scratch_path("reproduce_test");
  std::filesystem::remove_all(out);
  ReproduceOptions options;
  options.quick = true;
  options.seed = testing::test_seed(111);
  options.out = out;
  options.command_line = "dsignsgd reproduce noise --quick";
  options.render_figure = render_gnuplot;
  const ExperimentReport report = run_experiment("noise", options);
  write_report({report}, options);
  EXPECT_TRUE(report.holds) << report.markdown;
  for (const char* file : {"noise.csv", "noise.png", "noise.svg", "report.md", "report.html"}) {
    EXPECT_TRUE(std::filesystem::exists(out / file)) << file;
  }
  std::ifstream in(out / "report.md");
  std::stringstream text;
  text << in.rdbuf();
  for (const char* piece : {"![noise](noise.png)", "| method | σ | measured floor", "Verdict:",
                            "DSignSGD: slope of log floor against log σ", "dsignsgd reproduce noise --quick"}) {
    EXPECT_NE(text.str().find(piece), std::string::npos) << piece;
  }
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace dsignsgd

namespace dsignsgd {
namespace {


TEST(ReproduceTable, PrintsOneTableAsMarkdownAndCsv) {
  Table t({{"method", ""}, {"", "method"}, {"σ", "sigma"}, {"floor", "floor", 3}, {"runs", "runs"}});
  t.add({"DSGD", "dsgd", 0.25, 0.0123456, std::int64_t{16}});
  t.add({"DSignSGD", "dsignsgd", 4.0, 1234567.0, std::int64_t{8}});
  EXPECT_EQ(t.markdown(),
            "| method | σ | floor | runs |\n|---|---|---|---|\n"
            "| DSGD | 0.25 | 0.0123 | 16 |\n| DSignSGD | 4 | 1.23e+06 | 8 |\n");
  EXPECT_EQ(t.csv(),
            "method,sigma,floor,runs\ndsgd,0.25,0.0123456,16\ndsignsgd,4,1.23457e+06,8\n");
}

/// A small declared section, as an experiment would return it.
Section example_section() {
  Table table({{"method", "method"}, {"floor", "floor", 3}});
  table.add({"dsgd", 0.0123456});
  table.add({"a<b & c", 2.0});
  Section section;
  section.name = "example";
  section.claim = "An example claim ([A]).";
  section.paper = "[A]";
  section.headline = "slope 1.98 ± 0.04 (claim 2), |x| | y";
  section.body = {Paragraph{"Text with **bold** and `code`."}, table,
                  BulletList{{"first", "second"}}};
  section.checks = {{"first criterion", true}, {"second criterion", true}};
  section.data = {{"example.csv", table}, {"raw.csv", std::string("x,y\n1,2\n")}};
  Panel left{.title = "left's title", .xlabel = "x", .ylabel = "y", .log_y = true};
  left.settings = {"set xrange [0:1]"};
  left.series = {{.data = "example.csv",
                  .for_each = "m in 'dsgd'",
                  .columns = "1:2",
                  .smooth = "unique",
                  .style = "lines",
                  .title = "m"},
                 {.function = "x/2", .style = "lines dt 2", .title = "'half'"},
                 {.function = "x/3",
                  .style = "lines",
                  .title = "'third'",
                  .color = "method_color('dcsgd')"}};
  Panel right{.title = "right", .xlabel = "u", .ylabel = "v", .key = "top right"};
  right.series = {{.data = "raw.csv", .columns = "1:2", .style = "points"}};
  section.figures = {{"single", {left}}, {"double", {left, right}}};
  return section;
}

TEST(ReproduceSection, VerdictHoldsOnlyWhenThereAreChecksAndEveryOneHolds) {
  Section section = example_section();
  EXPECT_TRUE(section.holds());
  section.checks[1].holds = false;
  EXPECT_FALSE(section.holds());
  section.checks.clear();
  EXPECT_FALSE(section.holds()) << "a section without checks cannot hold";
}

TEST(ReproducePrinters, MarkdownPrintsBodyChecksVerdictAndFiles) {
  Section section = example_section();
  const std::string md = markdown_body(section, "dsignsgd reproduce example");
  EXPECT_EQ(md,
            "Text with **bold** and `code`.\n\n"
            "| method | floor |\n|---|---|\n| dsgd | 0.0123 |\n| a<b & c | 2 |\n\n"
            "- first\n- second\n\n"
            "Checks (the verdict holds when every one does):\n\n"
            "- first criterion: **holds**\n- second criterion: **holds**\n\n"
            "Verdict: holds.\n\n"
            "Data: `example.csv`, `raw.csv`; figures `single.png`, `double.png` (also as SVG, "
            "gnuplot scripts `.gp`). Regenerate with `dsignsgd reproduce example`.\n");
  section.checks[0].holds = false;
  const std::string failed = markdown_body(section, "cmd");
  EXPECT_NE(failed.find("- first criterion: **does not hold**"), std::string::npos);
  EXPECT_NE(failed.find("Verdict: does not hold."), std::string::npos);
}

TEST(ReproducePrinters, HtmlEscapesTextAndPrintsRealTables) {
  const std::string html = html_body(example_section(), "dsignsgd reproduce example");
  EXPECT_NE(html.find("<p>Text with <strong>bold</strong> and <code>code</code>.</p>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr><th>method</th><th>floor</th></tr>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>a&lt;b &amp; c</td><td>2</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<li>first criterion: <strong>holds</strong></li>"), std::string::npos);
  EXPECT_EQ(html.find("**"), std::string::npos);
  EXPECT_EQ(html.find('`'), std::string::npos);
}

TEST(ReproducePrinters, CsvPrintsTablesAndPassesTextThrough) {
  const Section section = example_section();
  EXPECT_EQ(csv_text(section.data[0]), "method,floor\ndsgd,0.0123456\na<b & c,2\n");
  EXPECT_EQ(csv_text(section.data[1]), "x,y\n1,2\n");
}

TEST(ReproducePrinters, GnuplotScriptDrawsEveryPanelAndSeriesForBothFormats) {
  const Section section = example_section();
  const std::string single = gnuplot_script(section.figures[0], "/out");
  EXPECT_NE(single.find("set output '/out/single.png'"), std::string::npos);
  EXPECT_NE(single.find("set output '/out/single.svg'"), std::string::npos);
  EXPECT_NE(single.find("set title 'left''s title'"), std::string::npos) << "quote doubled";
  EXPECT_NE(single.find("set logscale y\n"), std::string::npos);
  EXPECT_NE(single.find("set xrange [0:1]\n"), std::string::npos);
  EXPECT_NE(single.find("plot for [m in 'dsgd'] '/out/example.csv' using 1:2 smooth unique with "
                        "lines title m, \\\n     x/2 with lines dt 2 title 'half', \\\n     x/3 "
                        "with lines lc rgb method_color('dcsgd') title 'third'\n"),
            std::string::npos)
      << single;
  EXPECT_EQ(single.find("multiplot"), std::string::npos);
  const std::string two = gnuplot_script(section.figures[1], "/out");
  EXPECT_NE(two.find("set multiplot layout 1,2"), std::string::npos);
  EXPECT_NE(two.find("plot '/out/raw.csv' using 1:2 with points\n"), std::string::npos);
  // The second panel starts from a clean slate: no log scale inherited from the first.
  const std::size_t second = two.find("set title 'right'");
  ASSERT_NE(second, std::string::npos);
  const std::size_t reset = two.rfind("unset logscale", second);
  EXPECT_NE(reset, std::string::npos);
  const std::string second_panel = two.substr(reset, two.find("plot", second) - reset);
  EXPECT_EQ(second_panel.find("\nset logscale"), std::string::npos) << second_panel;
}

TEST(ReproducePrinters, EveryFigureUsesTheColourBlindSafePaletteWithOneColourPerMethod) {
  const std::string script = gnuplot_script(example_section().figures[0], "/out");
  // Okabe–Ito, without its yellow (#F0E442, unreadable on white), for both formats.
  for (const char* colour : {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00"}) {
    EXPECT_NE(script.find(colour), std::string::npos) << colour;
  }
  EXPECT_EQ(script.find("F0E442"), std::string::npos);
  std::size_t palettes = 0;
  for (std::size_t at = 0; (at = script.find("method_color(m) = ", at)) != std::string::npos; ++at) {
    ++palettes;
  }
  EXPECT_EQ(palettes, 2u) << "one palette per output format";
}

TEST(ReproduceReport, OpensWithASummaryLinkedToSectionsWhoseVerdictsItRepeats) {
  const std::filesystem::path out = testing::scratch_path("report_writer");
  std::filesystem::remove_all(out);
  std::filesystem::create_directories(out);
  std::vector<ExperimentReport> reports(2);
  reports[0].section = example_section();
  reports[0].holds = true;
  reports[1].section = example_section();
  reports[1].section.name = "second";
  reports[1].section.checks[1].holds = false;
  reports[1].holds = false;
  for (ExperimentReport& r : reports) r.markdown = markdown_body(r.section, "cmd");
  // One rendered figure (as gnuplot writes it), the others missing.
  std::ofstream(out / "single.svg")
      << "<?xml version=\"1.0\"?>\n<svg \n width=\"800\" height=\"560\"\n viewBox=\"0 0 800 560\">"
         "<title>Gnuplot</title><defs><path id='gpPt0' d='M0,0'/></defs>"
         "<g id=\"gnuplot_canvas\"><use xlink:href='#gpPt0'/></g></svg>\n";
  ReproduceOptions options;
  options.quick = true;
  options.out = out;
  options.command_line = "cmd";
  write_report(reports, options);
  const std::string html = testing::read_text(out / "report.html");
  const std::string md = testing::read_text(out / "report.md");
  // The summary comes first and links every section; its verdicts are the sections'.
  const std::size_t summary = html.find("<h2 id='summary'>Summary</h2>");
  ASSERT_NE(summary, std::string::npos);
  EXPECT_LT(summary, html.find("<section id='example'>"));
  EXPECT_NE(html.find("1 of 2 claims hold"), std::string::npos);
  EXPECT_NE(html.find("<tr data-section='example'><td><a href='#example'>example</a></td><td>An "
                      "example claim ([A]).</td><td>[A]</td><td class='verdict holds'>holds</td>"
                      "<td>slope 1.98 ± 0.04 (claim 2), |x| | y</td></tr>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<td class='verdict fails'>does not hold</td>"), std::string::npos);
  EXPECT_NE(html.find("<section id='second'>"), std::string::npos);
  // The rendered figure is inline, its ids prefixed; the missing one falls back to a file link.
  EXPECT_EQ(html.find("<?xml"), std::string::npos);
  EXPECT_NE(html.find("<path id='single-gpPt0'"), std::string::npos);
  EXPECT_NE(html.find("xlink:href='#single-gpPt0'"), std::string::npos);
  EXPECT_NE(html.find("id=\"single-gnuplot_canvas\""), std::string::npos);
  EXPECT_NE(html.find("<title>example: single</title>"), std::string::npos);
  EXPECT_NE(html.find("<img src='double.svg'"), std::string::npos);
  // report.md: the same summary, '|' escaped inside cells.
  EXPECT_NE(md.find("| [example](#example) | An example claim ([A]). | [A] | **holds** | slope "
                    "1.98 ± 0.04 (claim 2), \\|x\\| \\| y |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| [second](#second) |"), std::string::npos);
  EXPECT_LT(md.find("## Summary"), md.find("## example"));
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace dsignsgd
