// One step of each method with N agents at dimension d (Google Benchmark). The reference is
// DSGD's step measured in the same run: compare the rows' times as ratios.
//   build/bench/dsignsgd_bench --benchmark_filter=Step
#include <benchmark/benchmark.h>

#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/optim/trainer.hpp"

namespace {

using namespace dsignsgd;

void step_benchmark(benchmark::State& state, const char* method) {
  TrainOptions o;
  o.method = method;
  o.problem.dim = static_cast<std::size_t>(state.range(0));
  o.workers = static_cast<int>(state.range(1));
  o.noise = "gaussian:1";
  const RunPlan plan = make_run_plan(o);
  const auto problem = make_problem(plan.problem);
  const MethodParts parts = make_method(plan, plan.dim());
  const NoiseModel noise(plan.noise, {}, 1);
  const auto schedule = make_schedule(plan.schedule, 1);
  StepLoop loop(std::make_unique<SyntheticOracle>(*problem, noise, plan.problem.x0), parts,
                *schedule, plan, 0, make_exchange(plan, nullptr, 0));
  std::uint32_t k = 0;
  for (auto _ : state) {
    loop.evaluate(false);
    loop.step(k++);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * state.range(1));
  state.counters["uplink_bits_per_agent"] =
      static_cast<double>(parts.compressor->wire_bits(plan.dim()));
}

void agents_and_dims(benchmark::internal::Benchmark* b) {
  b->Args({1'000'000, 8})->Unit(benchmark::kMillisecond)->MinTime(2.0);
}

BENCHMARK_CAPTURE(step_benchmark, Step_dsgd, "dsgd")->Apply(agents_and_dims);
BENCHMARK_CAPTURE(step_benchmark, Step_dsignsgd, "dsignsgd")->Apply(agents_and_dims);
BENCHMARK_CAPTURE(step_benchmark, Step_majority, "majority")->Apply(agents_and_dims);
BENCHMARK_CAPTURE(step_benchmark, Step_dcsgd_randk, "dcsgd")->Apply(agents_and_dims);

}  // namespace

BENCHMARK_MAIN();
