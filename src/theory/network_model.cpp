#include "dsignsgd/theory/network_model.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "dsignsgd/comm/communicator.hpp"
#include "dsignsgd/core/atomic_file.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/core/join.hpp"
#include "dsignsgd/core/timing.hpp"
#include "dsignsgd/optim/exchange.hpp"
#include "dsignsgd/optim/method.hpp"
#include "dsignsgd/optim/run_plan.hpp"
#include "dsignsgd/optim/trainer.hpp"

namespace dsignsgd {
namespace {

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
                                             plan.method->majority_vote());
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

/// The reductions timed directly: 1, 2, 8 and every host count up to 16 (linear beyond).
void measure_reductions(const TrainOptions& one, const NetworkConfig& config,
                        const std::vector<int>& hosts, ComputeProfile& profile) {
  TrainOptions many = one;
  many.reduction = config.reduction;
  many.workers = 2;
  const RunPlan plan = make_run_plan(many);
  const MethodParts parts = make_method(plan, profile.dim);
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
}

/// Splits a CSV line at commas.
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
  return fields;
}

}  // namespace

const std::vector<NetworkConfig>& network_configs() {
  static const std::vector<NetworkConfig> configs = {
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
  return configs;
}

const NetworkConfig& network_config(const std::string& name) {
  std::vector<std::string> names;
  for (const NetworkConfig& c : network_configs()) {
    if (name == c.name) return c;
    names.emplace_back(c.name);
  }
  throw ConfigError("configs", name, "must be one of " + join(names, ", "));
}

double parse_link_rate(const std::string& text, const std::string& option) {
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

double ComputeProfile::reduce(int hosts) const {
  const auto at = reduce_seconds.find(hosts);
  if (at != reduce_seconds.end()) return at->second;
  return reduce_seconds.at(largest_timed) + reduce_slope * (hosts - largest_timed);
}

double ComputeProfile::compute(int hosts) const {
  const auto shared = step_shared.find(hosts);
  const double step = shared != step_shared.end() ? shared->second : step_one_agent;
  return step - reduce(1) + reduce(hosts);
}

ComputeProfile measure_compute_profile(const TrainOptions& base, const NetworkConfig& config,
                                       int steps, const std::vector<int>& hosts,
                                       bool shared_machine) {
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
  measure_reductions(one, config, hosts, profile);
  return profile;
}

StepTime predict_step_time(const TrainOptions& base, const NetworkConfig& config,
                           const ComputeProfile& profile, int hosts, double rate_bits,
                           double latency_us) {
  TrainOptions o = base;
  o.method = config.method;
  o.compressor = config.compressor;
  o.reduction = config.reduction;
  o.backend = "mpi";
  o.workers = hosts;
  o.agents_per_rank = 1;
  o.checkpoint_dir.clear();
  const RunPlan plan = make_run_plan(o);
  StepTime time;
  time.compute = profile.compute(hosts);
  const double bandwidth = rate_bits / 8.0;
  for (const ExchangePhase& phase : exchange_phases(plan, profile.dim, profile.message_bytes,
                                                    static_cast<std::uint32_t>(hosts))) {
    time.communication += static_cast<double>(phase.rounds) *
                          (latency_us * 1e-6 + static_cast<double>(phase.bytes) / bandwidth);
  }
  return time;
}

std::vector<MeasuredStepTime> read_measured_step_times(const std::string& path) {
  require_regular_file("check", path, 16u << 20,
                       "bench/cluster_bench.py's time_per_step.csv is a few rows");
  std::ifstream in(path);
  if (!in) throw ConfigError("check", path, "cannot be read");
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = csv_fields(line);
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
  std::vector<MeasuredStepTime> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> f = csv_fields(line);
    if (f.size() < header.size()) continue;
    rows.push_back({std::stoi(f[hosts]), f[rate], f[config], std::stod(f[median]) / 1e3});
  }
  return rows;
}

void SpeedupOptions::validate() const {
  for (int h : hosts) {
    if (h < 2 || h > 65535) {
      throw ConfigError("hosts", std::to_string(h), "must be in [2, 65535]");
    }
  }
  if (!(latency_us >= 0.0 && latency_us <= 1e6)) {
    throw ConfigError("latency-us", format_double(latency_us), "must be in [0, 1e6]");
  }
  if (shared_machine && *std::max_element(hosts.begin(), hosts.end()) > 64) {
    throw ConfigError("hosts", std::to_string(*std::max_element(hosts.begin(), hosts.end())),
                      "must be <= 64 with --shared-machine (one run per host at once)");
  }
  if (steps < 2) throw ConfigError("measure-steps", std::to_string(steps), "must be >= 2");
  for (const std::string& r : rates) parse_link_rate(r);
  for (const std::string& pair : effective) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos) {
      throw ConfigError("effective", pair, "must be LABEL=RATE, e.g. 10gbit=3.2gbit");
    }
    parse_link_rate(pair.substr(eq + 1), "effective");
  }
  for (const std::string& name : configs) network_config(name);
}

namespace {

/// The JSON's assumptions and measured profiles.
nlohmann::json report_header(const SpeedupOptions& s,
                             const std::map<std::string, ComputeProfile>& profiles) {
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
  return report;
}

/// Predictions, with the ratio to DSGD's ring allreduce at the same hosts and rate.
void add_predictions(const SpeedupOptions& s, const std::vector<std::string>& configs,
                     const std::map<std::string, ComputeProfile>& profiles,
                     nlohmann::json& report) {
  for (const std::string& rate : s.rates) {
    const double bits = parse_link_rate(rate);
    for (int h : s.hosts) {
      std::map<std::string, StepTime> at;
      for (const std::string& name : configs) {
        at[name] = predict_step_time(s.options, network_config(name), profiles.at(name), h, bits,
                                     s.latency_us);
      }
      // The reference is profiled even when not listed (speedup_report).
      const double reference =
          predict_step_time(s.options, network_config("dsgd-allreduce"),
                            profiles.at("dsgd-allreduce"), h, bits, s.latency_us)
              .total();
      for (const std::string& name : configs) {
        const StepTime& p = at[name];
        report["predictions"].push_back({{"config", name},
                                         {"hosts", h},
                                         {"rate", rate},
                                         {"compute_ms", 1e3 * p.compute},
                                         {"communication_ms", 1e3 * p.communication},
                                         {"ms_per_step", 1e3 * p.total()},
                                         {"ratio_to_dsgd_allreduce", p.total() / reference}});
      }
    }
  }
}

/// The model's error on every measured row of the configurations profiled.
void add_check(const SpeedupOptions& s, const std::vector<MeasuredStepTime>& measured,
               const std::map<std::string, double>& effective,
               const std::map<std::string, ComputeProfile>& profiles, nlohmann::json& report) {
  double worst = 0.0, sum_abs = 0.0;
  int checked = 0;
  for (const MeasuredStepTime& row : measured) {
    if (!profiles.count(row.config)) continue;
    const double bits = effective.count(row.rate) ? effective.at(row.rate)
                                                  : parse_link_rate(row.rate, "check");
    const StepTime p = predict_step_time(s.options, network_config(row.config),
                                         profiles.at(row.config), row.hosts, bits, s.latency_us);
    const double error = p.total() / row.seconds - 1.0;
    worst = std::max(worst, std::abs(error));
    sum_abs += std::abs(error);
    ++checked;
    report["check"].push_back({{"config", row.config},
                               {"hosts", row.hosts},
                               {"rate", row.rate},
                               {"measured_ms", 1e3 * row.seconds},
                               {"predicted_ms", 1e3 * p.total()},
                               {"relative_error", error}});
  }
  if (checked > 0) {
    report["check_summary"] = {{"rows", checked},
                               {"max_abs_relative_error", worst},
                               {"mean_abs_relative_error", sum_abs / checked}};
  }
}

}  // namespace

nlohmann::json speedup_report(const SpeedupOptions& s) {
  s.validate();
  std::vector<std::string> configs = s.configs;
  if (configs.empty()) {
    for (const NetworkConfig& c : network_configs()) configs.emplace_back(c.name);
  }
  // A measured row's rate label is the configured link rate, unless --effective says what the
  // link really carried (the emulated 10 Gbit/s is limited by the machine's CPU).
  std::map<std::string, double> effective;
  for (const std::string& pair : s.effective) {
    const auto eq = pair.find('=');
    effective[pair.substr(0, eq)] = parse_link_rate(pair.substr(eq + 1), "effective");
  }
  std::vector<MeasuredStepTime> measured;
  if (!s.check.empty()) measured = read_measured_step_times(s.check);
  for (const MeasuredStepTime& row : measured) {
    if (!effective.count(row.rate)) parse_link_rate(row.rate, "check");  // before any work
  }
  std::vector<int> all_hosts = s.hosts;
  for (const MeasuredStepTime& row : measured) all_hosts.push_back(row.hosts);
  std::sort(all_hosts.begin(), all_hosts.end());
  all_hosts.erase(std::unique(all_hosts.begin(), all_hosts.end()), all_hosts.end());

  std::map<std::string, ComputeProfile> profiles;
  for (const std::string& name : configs) {
    profiles[name] = measure_compute_profile(s.options, network_config(name), s.steps, all_hosts,
                                             s.shared_machine);
  }
  if (!profiles.count("dsgd-allreduce")) {  // every ratio's reference, listed or not
    profiles["dsgd-allreduce"] = measure_compute_profile(
        s.options, network_config("dsgd-allreduce"), s.steps, all_hosts, s.shared_machine);
  }
  nlohmann::json report = report_header(s, profiles);
  add_predictions(s, configs, profiles, report);
  if (!effective.empty()) report["assumptions"]["effective_rates_of_measured_links"] = s.effective;
  add_check(s, measured, effective, profiles, report);
  return report;
}

}  // namespace dsignsgd
