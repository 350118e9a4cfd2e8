// `dsignsgd speedup`: when does compression pay off? The α-β model of theory/network_model.hpp
// (its measurements, predictions and --check against bench/cluster_bench.py's
// time_per_step.csv), printed as a table per link rate or as JSON.
#include <fmt/core.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "dsignsgd/core/join.hpp"
#include "dsignsgd/theory/network_model.hpp"

namespace dsignsgd::cli {
namespace {

struct SpeedupCommand {
  SpeedupOptions options;
  bool json = false;
  bool list_configs = false;
};

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
  for (const std::string& rate : s.rates) {
    std::cout << fmt::format("\n{} links\n{:<16}", rate, "config");
    for (int h : s.hosts) std::cout << fmt::format(" {:>17}", fmt::format("P = {}", h));
    std::cout << '\n';
    for (const std::string& name : configs) {
      std::cout << fmt::format("{:<16}", name);
      for (const auto& row : report["predictions"]) {
        if (row["config"] != name || row["rate"] != rate) continue;
        std::cout << fmt::format(" {:>9.1f} ({:>5.2f}×)", row["ms_per_step"].get<double>(),
                                 row["ratio_to_dsgd_allreduce"].get<double>());
      }
      std::cout << '\n';
    }
  }
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
  c->add_flag("--json", command->json, "print JSON");
  c->add_flag("--list-configs", command->list_configs,
              "print the configurations (name, method, compressor, reduction) as JSON and exit");
  return [command]() { return run_speedup(*command); };
}

}  // namespace dsignsgd::cli
