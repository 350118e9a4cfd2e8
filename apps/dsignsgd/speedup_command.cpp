// `dsignsgd speedup`: when does compression pay off? An α-β model of one step per method, exchange,
// host count and link rate, built from what this machine measures (docs/BENCHMARKS.md):
//
//   time per step = compute(P) + Σ_phases rounds × (α + bytes / B)
//   compute(P)    = t₁ − t_reduce(1) + t_reduce(P)
//
// t₁ is the measured time of one in-process step with one agent (gradient, noise, encode,
// reduce, update) — with --shared-machine, measured while P such runs share this machine, as the
// hosts of the emulated cluster do (memory bandwidth, and the cores when P exceeds them); t_reduce(P) is the measured cost of reducing P agents' messages on one rank
// (decode and add for the allgather, linear in P beyond what is timed; decode of one's own
// message for the ring allreduce; counting and unpacking for the reduce-scatter). The phases are
// the exchange's own (optim/exchange.hpp: the bytes summary.json declares). `--check FILE` reads
// bench/cluster_bench.py's time_per_step.csv and prints the model's error on every measured row.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "commands.hpp"
#include "timing.hpp"
#include "dsignsgd/comm/communicator.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/optim/exchange.hpp"
#include "dsignsgd/optim/method.hpp"
#include "dsignsgd/optim/run_plan.hpp"
#include "dsignsgd/optim/trainer.hpp"

namespace dsignsgd::cli {
namespace {

/// The configurations of bench/cluster_bench.py, by name.
struct NamedConfig {
  const char* name;
  const char* method;
  const char* compressor;  // "" = the method's default
  const char* reduction;
};
constexpr NamedConfig kConfigs[] = {
    {"dsgd-allreduce", "dsgd", "", "allreduce"},
    {"dsgd-allgather", "dsgd", "", "fixed"},
    {"fp16", "dcsgd", "fp16", "fixed"},
    {"bf16", "dcsgd", "bf16", "fixed"},
    {"dsignsgd", "dsignsgd", "", "fixed"},
    {"dsignsgd-rs", "dsignsgd", "", "reduce-scatter"},
    {"majority", "majority", "", "fixed"},
    {"majority-rs", "majority", "", "reduce-scatter"},
    {"ef-signsgd", "ef-signsgd", "", "fixed"},
    {"randk", "dcsgd", "randk:0.01", "fixed"},
    {"qsgd", "dcsgd", "qsgd:15", "fixed"},
};

const NamedConfig& named_config(const std::string& name) {
  for (const NamedConfig& c : kConfigs) {
    if (name == c.name) return c;
  }
  std::string list;
  for (const NamedConfig& c : kConfigs) list += (list.empty() ? "" : ", ") + std::string(c.name);
  throw ConfigError("configs", name, "must be one of " + list);
}

/// "10gbit", "1gbit", "100mbit", "500kbit" → bits per second.
double parse_rate(const std::string& text, const char* option = "rates") {
  std::size_t used = 0;
  double value = 0.0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  const double scale = unit == "gbit" ? 1e9 : unit == "mbit" ? 1e6 : unit == "kbit" ? 1e3 : 0.0;
  if (used == 0 || scale == 0.0 || !(value > 0.0)) {
    throw ConfigError(option, text, "must be a positive rate like 10gbit, 1gbit or 100mbit");
  }
  return value * scale;
}


struct SpeedupCommand {
  TrainOptions options;
  std::vector<std::string> configs;
  std::vector<int> hosts = {2, 4, 16, 64, 256, 1024};
  std::vector<std::string> rates = {"100gbit", "10gbit", "1gbit", "100mbit"};
  double latency_us = 25.0;
  bool shared_machine = false;  // the hosts share this machine (the emulated cluster)
  int steps = 20;
  std::string check;
  std::vector<std::string> effective;  // LABEL=RATE: what a measured rate label really carried
  bool json = false;
};

/// What one configuration costs on one rank, measured here.
struct ComputeProfile {
  std::size_t dim = 0;
  std::size_t message_bytes = 0;
  double step_one_agent = 0.0;           ///< t₁, alone on the machine
  std::map<int, double> step_shared;     ///< t₁ while P copies run at once (--shared-machine)
  std::map<int, double> reduce_seconds;  ///< t_reduce(P) where timed
  double reduce_slope = 0.0;             ///< per extra agent, beyond what was timed
  int largest_timed = 1;

  double reduce(int hosts) const {
    const auto at = reduce_seconds.find(hosts);
    if (at != reduce_seconds.end()) return at->second;
    return reduce_seconds.at(largest_timed) + reduce_slope * (hosts - largest_timed);
  }
  double compute(int hosts) const {
    const auto shared = step_shared.find(hosts);
    const double step = shared != step_shared.end() ? shared->second : step_one_agent;
    return step - reduce(1) + reduce(hosts);
  }
};

/// Reduce `agents` messages of this configuration on one rank, as its exchange does.
double time_reduce(const RunPlan& plan, const MethodParts& parts, std::size_t dim, int agents) {
  const Compressor& compressor = *parts.compressor;
  std::vector<WireMessage> messages(static_cast<std::size_t>(agents));
  std::vector<float> v(dim), direction(dim);
  for (int i = 0; i < agents; ++i) {
    RandomStream rng(StreamAddress{7, 0, static_cast<std::uint32_t>(i), 0, StreamPurpose::kTest});
    for (float& x : v) x = static_cast<float>(rng.normal());
    compressor.encode(v, StreamAddress{7, 0, static_cast<std::uint32_t>(i), 0,
                                       StreamPurpose::kGradientNoise},
                      messages[static_cast<std::size_t>(i)]);
  }
  const StreamAddress server{7, 0, 0, 0, StreamPurpose::kServer};
  if (plan.reduction == Reduction::kAllreduce) {  // one's own message, then the ring's sums
    return best_seconds(3, [&] {
      std::fill(direction.begin(), direction.end(), 0.0f);
      compressor.decode_accumulate(messages[0], server, 1.0f, direction);
    });
  }
  // One agent is the in-process step t₁ was timed with (the aggregator's path), so reduce(1)
  // cancels from compute(P); the count exchange is timed from two agents on.
  if (plan.reduction == Reduction::kReduceScatter && agents >= 2) {
    LocalCommunicator one_rank;
    auto exchange = make_sign_count_exchange(one_rank, 1, static_cast<std::uint32_t>(agents), dim,
                                             plan.method == Method::kMajority);
    return best_seconds(3, [&] {
      exchange->reduce(messages, *parts.aggregator, compressor, server, direction);
    });
  }
  return best_seconds(3, [&] {
    parts.aggregator->aggregate(messages, compressor, server, direction);
  });
}

/// Seconds per step of `copies` single-agent runs at once (threads of this process, one each).
double shared_step_seconds(const TrainOptions& one, int copies) {
  std::vector<double> seconds(static_cast<std::size_t>(copies));
  std::vector<std::thread> threads;
  for (int i = 0; i < copies; ++i) {
    threads.emplace_back([&, i] {
      const TrainResult r = train(one);
      seconds[static_cast<std::size_t>(i)] = r.wall_seconds / static_cast<double>(*one.steps);
    });
  }
  for (std::thread& t : threads) t.join();
  double sum = 0.0;
  for (double s : seconds) sum += s;
  return sum / copies;
}

ComputeProfile measure(const TrainOptions& base, const NamedConfig& config, int steps,
                       const std::vector<int>& hosts, bool shared_machine) {
  TrainOptions one = base;
  one.method = config.method;
  one.compressor = config.compressor;
  one.reduction = "fixed";
  one.backend = "local";
  one.workers = 1;
  one.runs = 1;
  one.threads = 1;
  one.steps = steps;
  one.log_every = steps;
  one.checkpoint_dir.clear();
  ComputeProfile profile;
  const TrainResult result = train(one);
  profile.dim = result.dim;
  profile.message_bytes = result.uplink_bits_per_step / 8;
  profile.step_one_agent = result.wall_seconds / steps;
  if (shared_machine) {
    for (int h : hosts) profile.step_shared[h] = shared_step_seconds(one, h);
  }

  TrainOptions many = one;
  many.reduction = config.reduction;
  many.workers = 2;
  const RunPlan plan = make_run_plan(many);
  const MethodParts parts = make_method(plan, profile.dim);
  // Timed directly up to 16 agents; the aggregation is linear in the agents beyond.
  std::vector<int> timed = {1, 2, 8};
  for (int h : hosts) {
    if (h <= 16 && std::find(timed.begin(), timed.end(), h) == timed.end()) timed.push_back(h);
  }
  std::sort(timed.begin(), timed.end());
  for (int agents : timed) {
    RunPlan sized = plan;
    sized.workers = agents;
    profile.reduce_seconds[agents] = time_reduce(sized, parts, profile.dim, agents);
  }
  profile.largest_timed = timed.back();
  const int low = timed[timed.size() / 2];
  profile.reduce_slope = std::max(0.0, (profile.reduce_seconds[profile.largest_timed] -
                                        profile.reduce_seconds[low]) /
                                           std::max(1, profile.largest_timed - low));
  return profile;
}

struct Prediction {
  double compute = 0.0, communication = 0.0;
  double total() const { return compute + communication; }
};

Prediction predict(const SpeedupCommand& s, const NamedConfig& config, const ComputeProfile& p,
                   int hosts, double rate_bits) {
  TrainOptions o = s.options;
  o.method = config.method;
  o.compressor = config.compressor;
  o.reduction = config.reduction;
  o.backend = "mpi";
  o.workers = hosts;
  o.agents_per_rank = 1;
  o.checkpoint_dir.clear();
  const RunPlan plan = make_run_plan(o);
  Prediction prediction;
  prediction.compute = p.compute(hosts);
  const double bandwidth = rate_bits / 8.0;
  for (const ExchangePhase& phase :
       exchange_phases(plan, p.dim, p.message_bytes, static_cast<std::uint32_t>(hosts))) {
    prediction.communication +=
        static_cast<double>(phase.rounds) *
        (s.latency_us * 1e-6 + static_cast<double>(phase.bytes) / bandwidth);
  }
  return prediction;
}

/// Rows of bench/cluster_bench.py's time_per_step.csv: (hosts, rate, config) → median ms.
std::vector<std::tuple<int, std::string, std::string, double>> read_measured(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("check", path, "cannot be read");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::stringstream fields(line);
    for (std::string f; std::getline(fields, f, ',');) header.push_back(f);
  }
  const auto column = [&](const std::string& name) {
    const auto at = std::find(header.begin(), header.end(), name);
    if (at == header.end()) {
      throw ConfigError("check", path, "has no column '" + name + "' (bench/cluster_bench.py's "
                                       "time_per_step.csv)");
    }
    return static_cast<std::size_t>(at - header.begin());
  };
  const std::size_t hosts = column("hosts"), rate = column("rate"), config = column("config"),
                    median = column("ms_per_step_median");
  std::vector<std::tuple<int, std::string, std::string, double>> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    if (f.size() < header.size()) continue;
    rows.emplace_back(std::stoi(f[hosts]), f[rate], f[config], std::stod(f[median]) / 1e3);
  }
  return rows;
}

int run_speedup(SpeedupCommand& s) {
  if (s.configs.empty()) {
    for (const NamedConfig& c : kConfigs) s.configs.emplace_back(c.name);
  }
  for (int h : s.hosts) {
    if (h < 2 || h > 65535) {
      throw ConfigError("hosts", std::to_string(h), "must be in [2, 65535]");
    }
  }
  if (!(s.latency_us >= 0.0 && s.latency_us <= 1e6)) {
    throw ConfigError("latency-us", std::to_string(s.latency_us), "must be in [0, 1e6]");
  }
  if (s.shared_machine && *std::max_element(s.hosts.begin(), s.hosts.end()) > 64) {
    throw ConfigError("hosts", std::to_string(*std::max_element(s.hosts.begin(), s.hosts.end())),
                      "must be <= 64 with --shared-machine (one run per host at once)");
  }
  if (s.steps < 2) throw ConfigError("measure-steps", std::to_string(s.steps), "must be >= 2");
  std::vector<double> rates;
  for (const std::string& r : s.rates) rates.push_back(parse_rate(r));
  // A measured row's rate label is the configured link rate, unless --effective says what the
  // link really carried (the emulated 10 Gbit/s is limited by the machine's CPU).
  std::map<std::string, double> effective;
  for (const std::string& pair : s.effective) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos) {
      throw ConfigError("effective", pair, "must be LABEL=RATE, e.g. 10gbit=3.2gbit");
    }
    effective[pair.substr(0, eq)] = parse_rate(pair.substr(eq + 1), "effective");
  }
  for (const std::string& name : s.configs) named_config(name);  // all refused before any work
  std::vector<std::tuple<int, std::string, std::string, double>> measured;
  if (!s.check.empty()) measured = read_measured(s.check);
  for (const auto& [h, rate, config, t] : measured) {
    if (!effective.count(rate)) parse_rate(rate, "check");  // a bad label, before any work
  }

  std::vector<int> all_hosts = s.hosts;
  for (const auto& [h, rate, config, t] : measured) all_hosts.push_back(h);
  std::sort(all_hosts.begin(), all_hosts.end());
  all_hosts.erase(std::unique(all_hosts.begin(), all_hosts.end()), all_hosts.end());

  std::map<std::string, ComputeProfile> profiles;
  for (const std::string& name : s.configs) {
    profiles[name] = measure(s.options, named_config(name), s.steps, all_hosts, s.shared_machine);
  }
  nlohmann::json report = {
      {"command", "speedup"},
      {"model", "time per step = compute(P) + Σ rounds · (α + bytes/B)"},
      {"assumptions",
       {{"latency_us", s.latency_us},
        {"hosts_share_this_machine", s.shared_machine},
        {"agents_per_host", 1},
        {"links", "every host has its own full-duplex link of the given rate to a switch that "
                  "is never the bottleneck"},
        {"compute", "measured on this machine: one agent's step in process, and the reduction "
                    "of P messages (timed up to 16, linear beyond)"}}},
      {"dim", profiles.begin()->second.dim}};
  for (const auto& [name, p] : profiles) {
    report["measured"][name] = {{"message_bytes", p.message_bytes},
                                {"step_one_agent_ms", 1e3 * p.step_one_agent},
                                {"reduce_ms_per_extra_agent", 1e3 * p.reduce_slope}};
  }
  // Predictions, with the ratio to DSGD's ring allreduce at the same hosts and rate.
  for (std::size_t r = 0; r < rates.size(); ++r) {
    for (int h : s.hosts) {
      std::map<std::string, Prediction> at;
      for (const std::string& name : s.configs) {
        at[name] = predict(s, named_config(name), profiles[name], h, rates[r]);
      }
      const double reference =
          at.count("dsgd-allreduce") ? at["dsgd-allreduce"].total() : std::nan("");
      for (const std::string& name : s.configs) {
        const Prediction& p = at[name];
        report["predictions"].push_back({{"config", name},
                                         {"hosts", h},
                                         {"rate", s.rates[r]},
                                         {"compute_ms", 1e3 * p.compute},
                                         {"communication_ms", 1e3 * p.communication},
                                         {"ms_per_step", 1e3 * p.total()},
                                         {"ratio_to_dsgd_allreduce", p.total() / reference}});
      }
    }
  }
  if (!effective.empty()) report["assumptions"]["effective_rates_of_measured_links"] = s.effective;
  double worst = 0.0, sum_abs = 0.0;
  int checked = 0;
  for (const auto& [h, rate, config, seconds] : measured) {
    if (!profiles.count(config)) continue;
    const double bits = effective.count(rate) ? effective[rate] : parse_rate(rate, "check");
    const Prediction p = predict(s, named_config(config), profiles[config], h, bits);
    const double error = p.total() / seconds - 1.0;
    worst = std::max(worst, std::abs(error));
    sum_abs += std::abs(error);
    ++checked;
    report["check"].push_back({{"config", config},
                               {"hosts", h},
                               {"rate", rate},
                               {"measured_ms", 1e3 * seconds},
                               {"predicted_ms", 1e3 * p.total()},
                               {"relative_error", error}});
  }
  if (checked > 0) {
    report["check_summary"] = {{"rows", checked},
                               {"max_abs_relative_error", worst},
                               {"mean_abs_relative_error", sum_abs / checked}};
  }
  if (s.json) {
    std::cout << report.dump(2) << '\n';
    return 0;
  }
  std::cout << fmt::format(
      "α-β model, d = {}, α = {} µs, {} (ms per step; × = ratio to dsgd-allreduce)\n",
      profiles.begin()->second.dim, s.latency_us,
      s.shared_machine ? std::string("the hosts share this machine")
                       : std::string("every host its own machine like this one"));
  for (std::size_t r = 0; r < rates.size(); ++r) {
    std::cout << fmt::format("\n{} links\n{:<16}", s.rates[r], "config");
    for (int h : s.hosts) std::cout << fmt::format(" {:>17}", fmt::format("P = {}", h));
    std::cout << '\n';
    for (const std::string& name : s.configs) {
      std::cout << fmt::format("{:<16}", name);
      for (const auto& row : report["predictions"]) {
        if (row["config"] != name || row["rate"] != s.rates[r]) continue;
        std::cout << fmt::format(" {:>9.1f} ({:>5.2f}×)", row["ms_per_step"].get<double>(),
                                 row["ratio_to_dsgd_allreduce"].get<double>());
      }
      std::cout << '\n';
    }
  }
  if (checked > 0) {
    std::cout << fmt::format("\nagainst {}: {} rows, |error| mean {:.1f} %, max {:.1f} %\n",
                             s.check, checked, 100 * sum_abs / checked, 100 * worst);
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
  auto state = std::make_shared<SpeedupCommand>();
  CLI::App* c = app.add_subcommand(
      "speedup", "α-β model of the time per step per method, exchange, host count and link rate");
  add_train_options(*c, state->options);
  c->add_option("--configs", state->configs,
                "configurations (default: all): dsgd-allreduce, dsgd-allgather, fp16, bf16, "
                "dsignsgd, dsignsgd-rs, majority, majority-rs, ef-signsgd, randk, qsgd")
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
  c->add_flag("--json", state->json, "print JSON");
  return [state]() { return run_speedup(*state); };
}

}  // namespace dsignsgd::cli
