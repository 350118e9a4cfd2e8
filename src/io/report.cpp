#include "dsignsgd/io/report.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "dsignsgd/core/build_info.hpp"
#include "dsignsgd/core/fnv1a.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/version.hpp"

namespace dsignsgd {
namespace {

nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

nlohmann::json statistics_json(const SampleStatistics& s) {
  return {{"count", s.count},
          {"mean", number_or_null(s.mean)},
          {"std", number_or_null(s.count > 1 ? s.std : NAN)},
          {"stderr", number_or_null(standard_error(s))},
          {"median", number_or_null(s.median)},
          {"p10", number_or_null(s.p10)},
          {"p90", number_or_null(s.p90)}};
}

std::string csv_number(double value) {
  if (std::isnan(value)) return "nan";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.9g", value);
  return buffer;
}

nlohmann::json communication_json(const TrainResult::Communication& c) {
  if (c.backend == "local") return {{"backend", "local"}};
  return {{"backend", c.backend},
          {"ranks", c.ranks},
          {"agents_per_rank", c.agents_per_rank},
          {"bytes_sent_per_rank", c.bytes_sent},
          {"bytes_received_per_rank", c.bytes_received},
          {"declared_bytes_sent_per_rank", c.declared_bytes_sent},
          {"declared_bytes_received_per_rank", c.declared_bytes_received},
          {"measured_equals_declared",
           c.bytes_sent == c.declared_bytes_sent && c.bytes_received == c.declared_bytes_received},
          {"collective", c.collective}};
}

/// Mean and standard error across runs of each extra metric at the last logged step.
nlohmann::json final_metrics_json(const TrainResult& result) {
  nlohmann::json out = nlohmann::json::object();
  const std::size_t extras = result.extra_metric_names.size();
  if (extras == 0 || result.logged_steps.empty()) return out;
  for (std::size_t m = 0; m < extras; ++m) {
    const SampleStatistics s = final_metric_statistics(result, m);
    out[result.extra_metric_names[m]] = {{"mean", number_or_null(s.mean)},
                                         {"stderr", number_or_null(standard_error(s))}};
  }
  return out;
}

}  // namespace

std::string metrics_csv(const TrainResult& result) {
  std::ostringstream out;
  out << "step,loss_mean,loss_std,loss_median,loss_p10,loss_p90,live_runs,grad_norm_mean,"
         "uplink_bits_per_agent,downlink_bits_per_agent";
  for (const std::string& name : result.extra_metric_names) out << ',' << name << "_mean";
  out << '\n';
  const std::size_t extras = result.extra_metric_names.size();
  std::vector<double> extra(result.runs.size());
  std::vector<double> losses(result.runs.size());
  std::vector<double> norms(result.runs.size());
  for (std::size_t row = 0; row < result.logged_steps.size(); ++row) {
    for (std::size_t r = 0; r < result.runs.size(); ++r) {
      losses[r] = result.runs[r].loss[row];
      norms[r] = result.runs[r].grad_norm[row];
    }
    const SampleStatistics loss = sample_statistics(losses);
    const SampleStatistics norm = sample_statistics(norms);
    const auto step = static_cast<std::uint64_t>(result.logged_steps[row]);
    out << step << ',' << csv_number(loss.mean) << ',' << csv_number(loss.std) << ','
        << csv_number(loss.median) << ',' << csv_number(loss.p10) << ',' << csv_number(loss.p90)
        << ',' << loss.count << ',' << csv_number(norm.mean) << ','
        << step * result.uplink_bits_per_step << ',' << step * result.downlink_bits_per_step;
    for (std::size_t m = 0; m < extras; ++m) {
      for (std::size_t r = 0; r < result.runs.size(); ++r) {
        extra[r] = result.runs[r].extra[row * extras + m];
      }
      out << ',' << csv_number(sample_statistics(extra).mean);
    }
    out << '\n';
  }
  return out.str();
}

nlohmann::json summary_json(const TrainResult& result) {
  const LossSummary loss = summarize_loss(result);
  const auto d = static_cast<double>(result.dim);
  const auto steps = static_cast<std::uint64_t>(result.plan.steps);
  const int runs = result.plan.runs;
  return {
      {"command", "train"},
      {"version", kVersion},
      {"git_commit", kGitCommit},
      {"cpu_level", cpu_level_name()},
      {"config", plan_json(result.plan)},
      {"problem_description", result.problem_description},
      {"dim", result.dim},
      {"omega_declared", number_or_null(result.omega)},
      {"initial_loss", result.initial_loss},
      {"final_loss_mean", number_or_null(loss.final_loss.mean)},
      {"final_loss_stderr", number_or_null(standard_error(loss.final_loss))},
      {"final_loss", statistics_json(loss.final_loss)},
      {"tail_fraction", result.plan.tail_fraction},
      {"tail_loss_mean", number_or_null(loss.tail_loss.mean)},
      {"tail_loss_stderr", number_or_null(standard_error(loss.tail_loss))},
      {"tail_loss", statistics_json(loss.tail_loss)},
      {"runs", runs},
      {"diverged_runs", loss.diverged_runs},
      {"status", to_string(result.termination())},
      {"uplink_bits_per_step_per_agent", result.uplink_bits_per_step},
      {"uplink_bits_per_coordinate", static_cast<double>(result.uplink_bits_per_step) / d},
      {"downlink_bits_per_step", result.downlink_bits_per_step},
      {"downlink_bits_per_coordinate", static_cast<double>(result.downlink_bits_per_step) / d},
      {"total_uplink_bits_per_agent", steps * result.uplink_bits_per_step},
      {"total_downlink_bits", steps * result.downlink_bits_per_step},
      {"threads", result.threads},
      {"wall_seconds", result.wall_seconds},
      {"epochs", result.epochs()},
      {"seconds_per_epoch", result.seconds_per_epoch()},
      {"communication", communication_json(result.communication)},
      {"final_metrics", final_metrics_json(result)},
  };
}

namespace {

/// Test hook of tests/cli_test.cpp's kill-at-every-step test: DSIGNSGD_FAULT_PUBLISH=NAME kills
/// the process at the publication step NAME.
void publication_fault_point(const char* name) {
  const char* wanted = std::getenv("DSIGNSGD_FAULT_PUBLISH");
  if (wanted != nullptr && std::strcmp(wanted, name) == 0) std::raise(SIGKILL);
}

}  // namespace

void write_train_outputs(const TrainResult& result, const std::filesystem::path& out_dir,
                         const nlohmann::json* summary) {
  namespace fs = std::filesystem;
  fs::create_directories(out_dir);
  // Published as one unit: the old summary.json goes first (a job killed from here on leaves
  // metrics.csv without a summary — visibly incomplete, never an old summary beside new
  // metrics), metrics.csv next, and summary.json last, naming the metrics.csv it belongs to.
  const std::string metrics = metrics_csv(result);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(metrics)));
  nlohmann::json json = summary != nullptr ? *summary : summary_json(result);
  json["files"] = {{"metrics.csv", {{"bytes", metrics.size()}, {"fnv1a64", hex}}}};
  const fs::path summary_path = out_dir / "summary.json";
  std::error_code error;
  if (fs::is_regular_file(fs::symlink_status(summary_path, error))) fs::remove(summary_path);
  publication_fault_point("summary-removed");
  write_file_atomic(out_dir / "metrics.csv", metrics);
  publication_fault_point("metrics-written");
  write_file_atomic(summary_path, json.dump(2) + "\n");
}

nlohmann::json sde_json(const SdeResult& sde, const SdePlan& plan) {
  nlohmann::json json = summary_json(sde.result);
  json["command"] = "sde";
  json["sde"] = {{"model", sde.model},
                 {"covariance", sde.covariance},
                 {"integrator", sde.integrator},
                 {"weak_order", sde.weak_order},
                 {"drift_correction", to_string(plan.drift_correction)},
                 {"substeps", plan.substeps}};
  return json;
}

}  // namespace dsignsgd
