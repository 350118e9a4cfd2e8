// The typed run plan: every spec parsed once into enums and numbers, defaults resolved by the
// problem's kind, unset never confused with zero; and the ensemble's callbacks.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/callbacks.hpp"
#include "dsignsgd/optim/run_plan.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/sde/simulate.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

std::string refused_option(const TrainOptions& o) {
  try {
    make_run_plan(o);
  } catch (const ConfigError& e) {
    return e.option();
  }
  return "(accepted)";
}

template <class Enum, class FromString>
void expect_round_trips(std::initializer_list<Enum> values, FromString from_string) {
  for (Enum value : values) EXPECT_EQ(from_string(to_string(value)), value) << to_string(value);
}

TEST(RunPlan, EveryEnumRoundTripsThroughItsName) {
  expect_round_trips({Backend::kLocal, Backend::kMpi}, backend_from_string);
  expect_round_trips({Reduction::kAllgather, Reduction::kAllreduce}, reduction_from_string);
  expect_round_trips({Normalization::kPlain, Normalization::kAdaptive},
                     normalization_from_string);
  expect_round_trips({ScheduleKind::kConst, ScheduleKind::kInvSqrt, ScheduleKind::kInv,
                      ScheduleKind::kCosine},
                     schedule_kind_from_string);
  expect_round_trips({DataSplit::kIid, DataSplit::kLabelSkew}, data_split_from_string);
  expect_round_trips({IntegratorKind::kEuler, IntegratorKind::kPlaten2}, integrator_from_string);
  expect_round_trips({DriftCorrection::kNone, DriftCorrection::kClassic,
                      DriftCorrection::kStability},
                     drift_correction_from_string);
  for (const std::string& name : method_names()) EXPECT_EQ(method_from_string(name).name, name);
  EXPECT_THROW(backend_from_string("tcp"), ConfigError);
  EXPECT_THROW(schedule_kind_from_string("step"), ConfigError);
}

TEST(RunPlan, ParsesEverySpecIntoTypedFields) {
  TrainOptions o;
  o.method = "normalized-dcsgd";
  o.compressor = "qsgd:4:16";
  o.normalization = "adaptive";
  o.noise = "affine:0.2:0.3";
  o.problem.hessian = "linspace:1:3";
  o.problem.dim = 5;
  o.schedule = "cosine";
  o.warmup = 7;
  o.agent_scales = "1,2,3,4";
  const RunPlan plan = make_run_plan(o);
  EXPECT_EQ(plan.method, &method_from_string("normalized-dcsgd"));
  EXPECT_EQ(plan.compressor->name(), "qsgd:4:16");
  EXPECT_EQ(plan.settings.normalization, Normalization::kAdaptive);
  EXPECT_EQ(plan.noise.kind, NoiseKind::kAffine);
  EXPECT_DOUBLE_EQ(plan.settings.sigma0, 0.2);  // unset --sigma0: from the affine spec
  EXPECT_DOUBLE_EQ(plan.settings.sigma1, 0.3);
  EXPECT_EQ(plan.problem.spectrum.kind, Spectrum::Kind::kLinspace);
  EXPECT_EQ(plan.problem.spectrum.eigenvalues(plan.problem.dim),
            (std::vector<double>{1, 1.5, 2, 2.5, 3}));
  EXPECT_EQ(plan.schedule.kind, ScheduleKind::kCosine);
  EXPECT_EQ(plan.schedule.warmup, 7u);
  EXPECT_EQ(plan.agent_scales, (std::vector<double>{1, 2, 3, 4}));
  o.sigma0 = 0.5;
  EXPECT_DOUBLE_EQ(make_run_plan(o).settings.sigma0, 0.5);  // given: it wins
}

TEST(RunPlan, UnsetIsNotZero) {
  TrainOptions o;
  EXPECT_EQ(make_run_plan(o).problem.dim, 10u);  // unset: the default
  o.problem.hessian = "diag:1,2,5";
  EXPECT_EQ(make_run_plan(o).problem.dim, 3u);  // unset: from the spectrum
  o.problem.hessian = "identity";
  o.problem.dim = 0;
  EXPECT_EQ(refused_option(o), "dim");  // zero is a value, and an invalid one
  o = TrainOptions{};
  o.log_every = 0;
  EXPECT_EQ(refused_option(o), "log-every");
  o.log_every.reset();
  o.steps = 1000;
  EXPECT_EQ(make_run_plan(o).log_every, 5);  // about 200 rows
  EXPECT_FALSE(make_run_plan(o).log_every_given);
  o.log_every = 7;
  EXPECT_EQ(make_run_plan(o).log_every, 7);
  o.sigma0 = -1.0;
  EXPECT_EQ(refused_option(o), "sigma0");
}

TEST(RunPlan, DefaultsFollowTheProblemKind) {
  TrainOptions o;
  o.steps = 1000;
  EXPECT_EQ(make_run_plan(o).noise.to_string(), "gaussian:1");
  o.problem.problem = "digits-logreg";
  o.data_dir = DSIGNSGD_DATA_DIR;
  const RunPlan data = make_run_plan(o);
  EXPECT_TRUE(data.has_data);
  EXPECT_EQ(data.noise.kind, NoiseKind::kNone);  // minibatch noise only
  EXPECT_EQ(data.log_every, 50);                 // about 20 rows
  o.noise = "cauchy:0.1";
  EXPECT_EQ(make_run_plan(o).noise.kind, NoiseKind::kCauchy);
  o.problem.problem = "no-such-problem";
  EXPECT_EQ(refused_option(o), "problem");
}

TEST(RunPlan, ValidateChecksFieldsAndBuildsNothing) {
  TrainOptions o;
  o.compressor = "gzip";  // a spec: parsed by make_run_plan, not by validate
  EXPECT_NO_THROW(o.validate());
  EXPECT_EQ(refused_option(o), "compressor");
  o = TrainOptions{};
  o.lr = 0.0;
  try {
    o.validate();
    ADD_FAILURE() << "lr = 0 accepted";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "invalid --lr '0': must be > 0 and finite");
  }
}

TEST(RunPlan, LoggedRowCountIsTheLengthOfEveryTrace) {
  // The memory check counts rows with logged_row_count; the ensemble logs logged_steps.
  RunPlan plan;
  for (const std::int64_t steps : {1, 2, 7, 100, 101, 1000}) {
    for (const std::int64_t every : {1, 3, 10, 100, 1000, 5000}) {
      plan.steps = steps;
      plan.log_every = every;
      EXPECT_EQ(logged_row_count(plan),
                static_cast<std::int64_t>(logged_steps(steps, every).size()))
          << "steps " << steps << ", log every " << every;
    }
  }
}

TEST(RunPlan, ConfigJsonCarriesEveryResolvedDefault) {
  TrainOptions o;
  o.method = "dcsgd";
  o.steps = 400;
  const nlohmann::json config = plan_json(make_run_plan(o));
  EXPECT_EQ(config["compressor"], "randk:0.1");
  EXPECT_EQ(config["dim"], 10);
  EXPECT_EQ(config["log-every"], 2);
  EXPECT_EQ(config["noise"], "gaussian:1");
  EXPECT_EQ(config["schedule"], "const");
}

TEST(RunPlan, ChangingTheSeedOfAPlanChangesTheRotationLikeAFreshPlan) {
  TrainOptions o;
  o.problem.rotate = true;
  o.problem.hessian = "linspace:1:4";
  o.problem.dim = 6;
  o.steps = 50;
  o.runs = 2;
  RunPlan plan = make_run_plan(o);
  plan.seed = 99;
  o.seed = 99;
  EXPECT_EQ(metrics_csv(train(plan)), metrics_csv(train(o)));
}

TEST(Ensemble, StopBelowLossEndsEachRunAtItsTarget) {
  TrainOptions o;
  o.method = "dsgd";
  o.noise = "none";
  o.lr = 0.1;
  o.steps = 2000;
  o.runs = 3;
  o.log_every = 1;
  const double target = 1e-3;
  StopBelowLoss stop(target);
  const TrainResult result = train(o, {&stop});
  EXPECT_EQ(result.termination(), Termination::kStoppedEarly);
  for (const RunTrace& run : result.runs) {
    ASSERT_GE(run.stopped_at, 0);
    EXPECT_LE(run.final_loss, target);
    // The loss one step earlier was still above the target: the run stopped at the first step.
    const auto row = static_cast<std::size_t>(run.stopped_at);
    EXPECT_DOUBLE_EQ(run.loss[row], run.final_loss);
    EXPECT_GT(run.loss[row - 1], target);
    EXPECT_TRUE(std::isnan(run.loss[row + 1]));
  }
  const TrainResult full = train(o);
  EXPECT_EQ(full.termination(), Termination::kCompleted);
  EXPECT_LT(full.runs[0].final_loss, result.runs[0].final_loss);
}

TEST(Ensemble, CallbacksSeeProgressAndCanStopTheJob) {
  TrainOptions o;
  o.steps = 600;
  o.runs = 3;
  std::uint64_t last_done = 0, last_total = 0;
  OnProgress progress([&](std::uint64_t done, std::uint64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
  });
  train(o, {&progress});
  EXPECT_EQ(last_total, 1800u);
  EXPECT_EQ(last_done, 1800u);
  std::atomic<bool> flag{true};
  CollectiveStop stop(flag, nullptr);  // one process: the flag itself
  EXPECT_THROW(train(o, {&stop}), Interrupted);
}

}  // namespace
}  // namespace dsignsgd

namespace dsignsgd {
namespace {

TEST(Recipes, FillOnlyWhatTheUserLeftUnset) {
  TrainOptions o;
  o.problem.problem = "mnist-mlp";
  o.method = "dsignsgd";
  o.data_dir = DSIGNSGD_DATA_DIR;
  const RunPlan plan = make_run_plan(o);  // resolution loads no data
  EXPECT_EQ(plan.batch, 128);
  EXPECT_DOUBLE_EQ(plan.lr, 1e-3);
  EXPECT_EQ(plan.schedule.kind, ScheduleKind::kCosine);
  EXPECT_EQ(plan.steps, 6000);
  EXPECT_EQ(plan.runs, 1);
  EXPECT_DOUBLE_EQ(plan.data.weight_decay, 1e-4);
  EXPECT_EQ(plan.log_every, 300);  // about 20 rows of the recipe's steps
  EXPECT_NE(recipe_summary(plan).find("lr 0.001"), std::string::npos) << recipe_summary(plan);
  EXPECT_EQ(plan_json(plan)["recipe"]["options"].size(), 6u);
  o.lr = 0.05;  // a given flag wins and is not reported as the recipe's
  const RunPlan given = make_run_plan(o);
  EXPECT_DOUBLE_EQ(given.lr, 0.05);
  EXPECT_EQ(std::count(given.from_recipe.begin(), given.from_recipe.end(), "lr"), 0);
  o.method = "majority";  // no recipe: the general defaults
  const RunPlan general = make_run_plan(o);
  EXPECT_TRUE(general.from_recipe.empty());
  EXPECT_EQ(general.batch, 1);
  EXPECT_TRUE(plan_json(general)["recipe"].is_null());
  TrainOptions synthetic;
  EXPECT_TRUE(make_run_plan(synthetic).from_recipe.empty());
}

TEST(Recipes, DigitsMlpWithNoOtherFlagReachesItsDocumentedAccuracy) {
  for (const char* method : {"dsignsgd", "dsgd"}) {
    TrainOptions o;
    o.problem.problem = "digits-mlp";
    o.method = method;
    o.data_dir = DSIGNSGD_DATA_DIR;
    const TrainResult result = train(o);
    const SampleStatistics accuracy = final_metric_statistics(result, 1);
    // docs/DATA.md: 0.970 (dsignsgd) and 0.971 (dsgd) over 4 runs; the spread across seeds is
    // below 0.01, so 0.95 fails only if the recipe is not applied or broken.
    std::cout << "[ recipe   ] digits-mlp " << method << ": test accuracy " << accuracy.mean
              << " ± " << accuracy.stderr_ << '\n';
    EXPECT_EQ(accuracy.count, 4u);
    EXPECT_GT(accuracy.mean, 0.95) << method;
  }
}

}  // namespace
}  // namespace dsignsgd
