// `dsignsgd speedup`: when does compression pay off? The α-β model of theory/network_model.hpp
// (its measurements, predictions and --check against bench/cluster_bench.py's
// time_per_step.csv), printed as a table per link rate or as JSON; with --shapes, the DDP hooks'
// model of theory/hook_model.hpp for a model of those parameter shapes.
#include <fmt/core.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "dsignsgd/core/join.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/theory/hook_model.hpp"
#include "dsignsgd/theory/network_model.hpp"

namespace dsignsgd::cli {
namespace {

struct SpeedupCommand {
  SpeedupOptions options;
  std::string shapes;               ///< --shapes: the hooks' model instead of the methods'
  std::vector<std::string> hooks;   ///< --hooks
  double step_seconds = -1.0;       ///< --step-seconds
  bool step_seconds_given = false;
  bool no_codec = false;            ///< --no-codec
  bool json = false;
  bool list_configs = false;
};

/// The rows' names under `key` (config or hook), one table per link rate, a column per host
/// count: ms per step and its ratio to the reference, as `cell(row)` gives them.
struct RowNames {
  const char* key;
  const std::vector<std::string>& names;
};
template <typename Cell>
void print_rate_tables(const nlohmann::json& rows, const std::vector<std::string>& rates,
                       const std::vector<int>& hosts, const RowNames& names, Cell cell) {
  for (const std::string& rate : rates) {
    std::cout << fmt::format("\n{} links\n{:<16}", rate, names.key);
    for (int h : hosts) std::cout << fmt::format(" {:>17}", fmt::format("P = {}", h));
    std::cout << '\n';
    for (const std::string& name : names.names) {
      std::cout << fmt::format("{:<16}", name);
      for (const auto& row : rows) {
        if (row[names.key] != name || row["rate"] != rate) continue;
        const auto [ms, ratio] = cell(row);
        std::cout << fmt::format(" {:>9.1f} ({:>5.2f}×)", ms, ratio);
      }
      std::cout << '\n';
    }
  }
}

/// `speedup --shapes …`: every hook's time per step, a table per link rate or JSON.
int run_hook_speedup(const SpeedupCommand& command) {
  const SpeedupOptions& s = command.options;
  HookModelOptions h;
  h.shapes = parse_parameter_shapes(command.shapes);
  for (const auto& [given, flag] : {std::pair{!s.configs.empty(), "--configs"},
                                    {!s.check.empty(), "--check"},
                                    {s.shared_machine, "--shared-machine"},
                                    {!s.effective.empty(), "--effective"}}) {
    if (given) {
      throw ConfigError("shapes", command.shapes,
                        std::string("cannot be combined with ") + flag +
                            " (the methods' model; the hooks are chosen with --hooks)");
    }
  }
  h.hooks = command.hooks;
  h.hosts = s.hosts;
  h.rates = s.rates;
  h.latency_us = s.latency_us;
  h.step_seconds = command.step_seconds;
  h.measure_codec = !command.no_codec;
  const nlohmann::json report = hook_speedup_report(h);
  if (command.json) {
    std::cout << report.dump(2) << '\n';
    return 0;
  }
  std::cout << fmt::format(
      "α-β model of the DDP hooks, {} parameters in {} buckets, compute {} ms, α = {} µs "
      "(ms per step; × = ratio to allreduce)\n",
      report["parameters"].get<std::size_t>(), report["buckets"].size(), 1e3 * h.step_seconds,
      h.latency_us);
  const auto hooks = report["hooks"].get<std::vector<std::string>>();
  print_rate_tables(report["predictions"], h.rates, h.hosts, {"hook", hooks}, [](const auto& row) {
    return std::pair{1e3 * row["total"].template get<double>(), row["ratio"].template get<double>()};
  });
  return 0;
}

int run_speedup(const SpeedupCommand& command) {
  if (command.list_configs) {  // the table bench/cluster_bench.py runs
    nlohmann::json list = nlohmann::json::array();
    for (const NetworkConfig& c : network_configs()) {
      list.push_back({{"name", c.name},
                      {"method", c.method},
                      {"compressor", c.compressor},
                      {"reduction", c.reduction}});
    }
    std::cout << list.dump(2) << '\n';
    return 0;
  }
  if (!command.shapes.empty()) return run_hook_speedup(command);
  const std::string hooks_only =
      "applies to the hooks' model: give the parameter shapes with --shapes";
  if (!command.hooks.empty()) throw ConfigError("hooks", join(command.hooks, ","), hooks_only);
  if (command.no_codec) throw ConfigError("no-codec", "true", hooks_only);
  if (command.step_seconds_given) {
    throw ConfigError("step-seconds", format_double(command.step_seconds), hooks_only);
  }
  const SpeedupOptions& s = command.options;
  const nlohmann::json report = speedup_report(s);
  if (command.json) {
    std::cout << report.dump(2) << '\n';
    return 0;
  }
  std::cout << fmt::format(
      "α-β model, d = {}, α = {} µs, {} (ms per step; × = ratio to dsgd-allreduce)\n",
      report["dim"].get<std::size_t>(), s.latency_us,
      s.shared_machine ? std::string("the hosts share this machine")
                       : std::string("every host its own machine like this one"));
  std::vector<std::string> configs = s.configs;
  if (configs.empty()) {
    for (const NetworkConfig& config : network_configs()) configs.emplace_back(config.name);
  }
  print_rate_tables(report["predictions"], s.rates, s.hosts, {"config", configs},
                    [](const auto& row) {
                      return std::pair{row["ms_per_step"].template get<double>(),
                                       row["ratio_to_dsgd_allreduce"].template get<double>()};
                    });
  if (report.contains("check_summary")) {
    const nlohmann::json& summary = report["check_summary"];
    std::cout << fmt::format("\nagainst {}: {} rows, |error| mean {:.1f} %, max {:.1f} %\n",
                             s.check, summary["rows"].get<int>(),
                             100 * summary["mean_abs_relative_error"].get<double>(),
                             100 * summary["max_abs_relative_error"].get<double>());
    std::cout << fmt::format("{:<16} {:>5} {:>8} {:>12} {:>12} {:>8}\n", "config", "hosts", "rate",
                             "measured ms", "predicted ms", "error");
    for (const auto& row : report["check"]) {
      std::cout << fmt::format("{:<16} {:>5} {:>8} {:>12.2f} {:>12.2f} {:>+7.1f}%\n",
                               row["config"].get<std::string>(), row["hosts"].get<int>(),
                               row["rate"].get<std::string>(), row["measured_ms"].get<double>(),
                               row["predicted_ms"].get<double>(),
                               100 * row["relative_error"].get<double>());
    }
  }
  return 0;
}

}  // namespace

Runner add_speedup_command(CLI::App& app) {
  auto command = std::make_shared<SpeedupCommand>();
  SpeedupOptions* state = &command->options;
  std::vector<std::string> config_names;
  for (const NetworkConfig& config : network_configs()) config_names.emplace_back(config.name);
  CLI::App* c = app.add_subcommand(
      "speedup", "α-β model of the time per step per method, exchange, host count and link rate");
  add_train_options(*c, state->options);
  c->add_option("--configs", state->configs,
                "configurations (default: all): " + join(config_names, ", "))
      ->delimiter(',');
  c->add_option("--hosts", state->hosts, "host counts P (one agent per host)")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--rates", state->rates, "link rates per host, e.g. 100gbit,10gbit,1gbit,100mbit")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--latency-us", state->latency_us, "α: latency per message in microseconds")
      ->capture_default_str();
  c->add_flag("--shared-machine", state->shared_machine,
              "the hosts share this machine (the emulated cluster): compute measured with P runs "
              "at once");
  c->add_option("--measure-steps", state->steps, "in-process steps timed per configuration")
      ->capture_default_str();
  c->add_option("--check", state->check,
                "bench/cluster_bench.py's time_per_step.csv: print the model's error on each row");
  c->add_option("--effective", state->effective,
                "LABEL=RATE,…: the rate a measured link really carried (e.g. 10gbit=3.5gbit)")
      ->delimiter(',');
  std::vector<std::string> hook_names;
  for (const HookKind& kind : hook_kinds()) hook_names.emplace_back(kind.name);
  c->add_option("--shapes", command->shapes,
                "DDP hooks' model instead: the model's parameter shapes in model order, e.g. "
                "2048x784,2048,10x2048,10 (DDP's buckets: reverse order, 1 MB, then 25 MB)");
  c->add_option("--hooks", command->hooks,
                "with --shapes (default: all): " + join(hook_names, ", "))
      ->delimiter(',');
  CLI::Option* step = c->add_option(
      "--step-seconds", command->step_seconds,
      "with --shapes: the step without communication (DDP's no_sync), seconds");
  c->add_flag("--no-codec", command->no_codec,
              "with --shapes: leave out the hooks' own arithmetic (bytes and latency only)");
  c->add_flag("--json", command->json, "print JSON");
  c->add_flag("--list-configs", command->list_configs,
              "print the configurations (name, method, compressor, reduction) as JSON and exit");
  return [command, step]() {
    command->step_seconds_given = step->count() > 0;
    return run_speedup(*command);
  };
}

}  // namespace dsignsgd::cli
