// dsignsgd._core's run API: train, simulate_sde, predict, validate and scale with the CLI's own
// flags (parsed by the CLI's option definitions, apps/dsignsgd/options.hpp), so a key means the
// same in Python as on the command line and a bad value raises the CLI's message as ValueError.
// Results come back as the CLI's JSON (a dict, converted in Python) and NumPy arrays.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "dsignsgd/io/report.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "dsignsgd/sde/simulate.hpp"
#include "dsignsgd/sde/validate.hpp"
#include "dsignsgd/stats/noise_probe.hpp"
#include "dsignsgd/theory/hook_model.hpp"
#include "dsignsgd/theory/predict.hpp"
#include "dsignsgd/theory/network_model.hpp"
#include "dsignsgd/theory/scaling.hpp"
#include "kernels.hpp"
#include "options.hpp"

namespace py = pybind11;

namespace dsignsgd::python {
namespace {

using Args = std::vector<std::string>;

/// Ctrl-C in Python stops a long call within about 0.1 s, as it stops the CLI: the ensemble's
/// progress loop (the calling thread, every 100 ms) takes the GIL and runs Python's pending
/// signal handlers; when one raises (KeyboardInterrupt), the job is asked to stop (checkpoints
/// written as on SIGINT) and the handler's exception is raised in place of the result.
class PythonSignals final : public EnsembleCallback {
 public:
  bool stop_requested(const RunState&) override { return raised_.load(); }
  void progress(std::uint64_t, std::uint64_t) override {
    if (raised_.load()) return;
    const py::gil_scoped_acquire acquire;
    if (PyErr_CheckSignals() != 0) {
      error_.emplace();  // takes the pending exception
      raised_.store(true);
    }
  }
  /// Runs `call` without the GIL; raises the signal handler's exception if one was raised.
  template <typename Call>
  auto run(Call&& call) {
    try {
      const py::gil_scoped_release release;
      return call(Callbacks{this});
    } catch (const Interrupted&) {
      if (error_) throw *error_;
      throw;
    }
  }

 private:
  std::atomic<bool> raised_{false};
  std::optional<py::error_already_set> error_;
};

/// The CLI's JSON as a Python object.
py::object to_python(const nlohmann::json& json) {
  return py::module_::import("json").attr("loads")(json.dump());
}

/// Per-run curves as NumPy arrays: steps (logged), loss and grad_norm (runs × logged) and one
/// (runs × logged) array per extra metric (test accuracy, …).
py::dict curves(const TrainResult& result) {
  const auto runs = static_cast<py::ssize_t>(result.runs.size());
  const auto rows = static_cast<py::ssize_t>(result.logged_steps.size());
  py::array_t<std::int64_t> steps(rows);
  for (py::ssize_t i = 0; i < rows; ++i) steps.mutable_at(i) = result.logged_steps[i];
  py::array_t<double> loss({runs, rows}), grad_norm({runs, rows});
  const std::size_t extras = result.extra_metric_names.size();
  std::vector<py::array_t<double>> extra;
  for (std::size_t e = 0; e < extras; ++e) extra.emplace_back(std::vector<py::ssize_t>{runs, rows});
  for (py::ssize_t r = 0; r < runs; ++r) {
    const RunTrace& run = result.runs[r];
    for (py::ssize_t i = 0; i < rows; ++i) {
      loss.mutable_at(r, i) = run.loss[i];
      grad_norm.mutable_at(r, i) = run.grad_norm[i];
      for (std::size_t e = 0; e < extras; ++e) extra[e].mutable_at(r, i) = run.extra[i * extras + e];
    }
  }
  py::dict out;
  out["steps"] = steps;
  out["loss"] = loss;
  out["grad_norm"] = grad_norm;
  py::dict extra_dict;
  for (std::size_t e = 0; e < extras; ++e) extra_dict[py::str(result.extra_metric_names[e])] = extra[e];
  out["extra"] = extra_dict;
  return out;
}

py::dict run_dict(const TrainResult& result, const nlohmann::json& summary) {
  py::dict out = curves(result);
  out["summary"] = to_python(summary);
  return out;
}

TrainOptions train_options(const Args& args) {
  TrainOptions options;
  cli::parse_train_arguments(options, args, "");
  return options;
}

py::dict train(const Args& args) {
  const RunPlan plan = make_run_plan(train_options(args));
  PythonSignals signals;
  const TrainResult result =
      signals.run([&](const Callbacks& callbacks) { return dsignsgd::train(plan, callbacks); });
  return run_dict(result, summary_json(result));
}

py::dict simulate(const Args& args) {
  TrainOptions options;
  SdeOptions sde;
  cli::parse_sde_arguments(options, sde, args, "");
  const RunPlan plan = make_run_plan(options);
  const SdePlan sde_plan = SdePlan::resolve(sde, plan);
  PythonSignals signals;
  const SdeResult result = signals.run(
      [&](const Callbacks& callbacks) { return simulate_sde(plan, sde_plan, callbacks); });
  return run_dict(result.result, sde_json(result, sde_plan));
}

py::object predict(const Args& args, double epsilon) {
  PredictOptions predict_options;
  predict_options.epsilon = epsilon;
  return to_python(prediction_json(dsignsgd::predict(train_options(args), predict_options)));
}

py::dict validate(const Args& args, int levels, bool extrapolate) {
  TrainOptions options;
  SdeOptions sde;
  sde.substeps = kValidateSubsteps;  // as `dsignsgd validate`
  cli::parse_sde_arguments(options, sde, args, "");
  ValidateOptions validate_options;
  validate_options.levels = levels;
  validate_options.extrapolate = extrapolate;
  validate_options.validate();
  const RunPlan plan = make_run_plan(options);
  const SdePlan sde_plan = SdePlan::resolve(sde, plan);
  PythonSignals signals;
  const ValidateResult result = signals.run([&](const Callbacks& callbacks) {
    return validate_sde(plan, sde_plan, validate_options, callbacks);
  });
  py::dict out;
  out["summary"] = to_python(validate_json(result, sde_plan, validate_options));
  py::list levels_out;
  for (const ValidateLevel& level : result.levels) {
    py::dict l;
    l["lr"] = level.lr;
    l["algorithm"] = curves(level.algorithm);
    l["sde"] = curves(level.sde.result);
    levels_out.append(l);
  }
  out["levels"] = levels_out;
  return out;
}

py::object scale(const Args& base_args, const Args& change_args, const std::string& keep) {
  const TrainOptions base = train_options(base_args);
  TrainOptions changed = base;
  cli::parse_train_arguments(changed, change_args, "change");
  std::vector<std::string> changes;  // "--key=value" → "key=value"
  for (const std::string& arg : change_args) changes.push_back(arg.substr(2));
  return to_python(
      scaling_json(plan_scaling(base, changed, changes, scaling_invariant_from_string(keep))));
}

py::object speedup(const Args& args, const std::vector<std::string>& configs,
                   const std::vector<int>& hosts, const std::vector<std::string>& rates,
                   double latency_us, bool shared_machine, int measure_steps) {
  SpeedupOptions s;
  s.options = train_options(args);
  s.configs = configs;
  s.hosts = hosts;
  s.rates = rates;
  s.latency_us = latency_us;
  s.shared_machine = shared_machine;
  s.steps = measure_steps;
  nlohmann::json report;
  {
    const py::gil_scoped_release release;
    report = speedup_report(s);
  }
  return to_python(report);
}

py::object hook_speedup(const std::vector<ParameterShape>& shapes,
                        const std::vector<std::string>& hooks, const std::vector<int>& hosts,
                        const std::vector<std::string>& rates, double latency_us,
                        double step_seconds, bool measure_codec) {
  HookModelOptions h;
  h.shapes = shapes;
  h.hooks = hooks;
  h.hosts = hosts;
  h.rates = rates;
  h.latency_us = latency_us;
  h.step_seconds = step_seconds;
  h.measure_codec = measure_codec;
  h.validate();
  nlohmann::json report;
  {
    const py::gil_scoped_release release;
    report = hook_speedup_report(h);
  }
  return to_python(report);
}

std::vector<std::pair<int, double>> collectives_of(const std::string& hook,
                                                   const GradientBucket& bucket, int world) {
  std::vector<std::pair<int, double>> out;
  for (const HookCollective& c : hook_collectives(hook, bucket, world)) {
    out.emplace_back(c.rounds, c.bytes_sent);
  }
  return out;
}

py::object measure_noise(const Args& args, const std::vector<std::int64_t>& at, int draws,
                         std::size_t coordinates, double top_fraction) {
  NoiseProbeOptions probe;
  probe.at = at;
  probe.draws = draws;
  probe.coordinates = coordinates;
  probe.top_fraction = top_fraction;
  probe.validate();
  const RunPlan plan = make_run_plan(train_options(args));
  std::vector<NoisePoint> points;
  {
    const py::gil_scoped_release release;
    points = probe_noise(plan, probe);
  }
  return to_python(noise_probe_json(plan, probe, points));
}

}  // namespace

void bind_run_api(py::module_& m) {
  m.def("measure_noise", &measure_noise, py::arg("args"), py::arg("at"), py::arg("draws"),
        py::arg("coordinates"), py::arg("top_fraction"), "`dsignsgd noise-probe --json`.");
  m.def("speedup", &speedup, py::arg("args"), py::arg("configs"), py::arg("hosts"),
        py::arg("rates"), py::arg("latency_us"), py::arg("shared_machine"),
        py::arg("measure_steps"), "`dsignsgd speedup --json`.");
  m.def("hook_speedup", &hook_speedup, py::arg("shapes"), py::arg("hooks"), py::arg("hosts"),
        py::arg("rates"), py::arg("latency_us"), py::arg("step_seconds"),
        py::arg("measure_codec"), "`dsignsgd speedup --shapes … --json`.");
  m.def("hook_collectives", &collectives_of, py::arg("hook"), py::arg("bucket"), py::arg("world"),
        "(rounds, bytes sent by one rank) of each collective the hook runs on one bucket.");
  m.def("ddp_buckets", &ddp_buckets, py::arg("shapes"), py::arg("first_mb") = 1.0,
        py::arg("cap_mb") = 25.0, "DDP's default bucketing of parameters of these shapes.");
  m.def("hook_codec_seconds", &hook_codec_seconds, py::arg("hook"), py::arg("bucket"),
        py::arg("world"), py::arg("repeats") = 3,
        "This machine's arithmetic of the hook on one bucket (median of `repeats`).");
  m.def("train", &train, py::arg("args"), "`dsignsgd train` with these --key=value flags.");
  m.def("simulate_sde", &simulate, py::arg("args"), "`dsignsgd sde` with these flags.");
  m.def("predict", &predict, py::arg("args"), py::arg("epsilon"), "`dsignsgd predict`.");
  m.def("validate", &validate, py::arg("args"), py::arg("levels"),
        py::arg("extrapolate") = true, "`dsignsgd validate`.");
  m.def("scale", &scale, py::arg("base"), py::arg("change"), py::arg("keep"), "`dsignsgd scale`.");
}

}  // namespace dsignsgd::python
