// The dsignsgd program as a user runs it: exit codes, messages, files on disk.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <regex>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;

struct Outcome {
  int exit_code;
  std::string output;  // stdout and stderr
};

Outcome run_command(const std::string& shell_command) {
  const std::string command = "(" + shell_command + ") 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

Outcome run(const std::string& args) { return run_command(std::string(DSIGNSGD_CLI) + " " + args); }

/// Runs the program with `dir` as its working directory.
Outcome run_in(const fs::path& dir, const std::string& args) {
  return run_command("cd '" + dir.string() + "' && " + std::string(DSIGNSGD_CLI) + " " + args);
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("dsignsgd_cli_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

struct BadInput {
  std::string args;
  std::string must_mention;  // the option and value the message names
};

class BadInputExitsTwo : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputExitsTwo, WithAMessageNamingTheOptionAndNothingOnDisk) {
  const fs::path out = fresh_dir("bad");
  const Outcome outcome =
      run("train --steps 10 --runs 1 " + GetParam().args + " --out " + out.string());
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_NE(outcome.output.find(GetParam().must_mention), std::string::npos) << outcome.output;
  // One message, not a cascade.
  EXPECT_LE(std::count(outcome.output.begin(), outcome.output.end(), '\n'), 2) << outcome.output;
  EXPECT_FALSE(fs::exists(out)) << "bad input must leave nothing in --out";
}

TEST(Cli, TrainWithoutOutWritesNothingToTheWorkingDirectory) {
  const fs::path sandbox = fresh_dir("cwd");
  fs::create_directories(sandbox);
  const Outcome outcome = run_in(sandbox, "train --steps 50 --runs 2 --dim 5");
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_TRUE(fs::is_empty(sandbox)) << "train without --out left files in the working directory";
  const fs::path out = sandbox / "out";
  const Outcome with_out = run_in(
      sandbox, "train --steps 50 --runs 2 --dim 5 --checkpoint-every 10 --out " + out.string());
  EXPECT_EQ(with_out.exit_code, 0) << with_out.output;
  EXPECT_TRUE(fs::exists(out / "metrics.csv"));
  EXPECT_FALSE(fs::exists(out / "checkpoint")) << "a finished job must not leave checkpoints";
  const Outcome nowhere = run_in(sandbox, "train --steps 50 --runs 2 --checkpoint-every 10");
  EXPECT_EQ(nowhere.exit_code, 2) << nowhere.output;
  EXPECT_NE(nowhere.output.find("--checkpoint-every '10'"), std::string::npos) << nowhere.output;
  fs::remove_all(sandbox);
}

TEST(Cli, DataIsFoundFromAnyWorkingDirectoryAndMissingDataStopsReproduceBeforeItStarts) {
  // The default --data-dir is the directory the build recorded (or $DSIGNSGD_DATA_DIR), never
  // one relative to the working directory.
  const fs::path sandbox = fresh_dir("datadir");
  fs::create_directories(sandbox);
  const std::string cli = "env -u DSIGNSGD_DATA_DIR " + std::string(DSIGNSGD_CLI);
  const Outcome found = run_command("cd '" + sandbox.string() + "' && " + cli +
                                    " train --problem digits-logreg --steps 20 --runs 1 --out " +
                                    (sandbox / "out").string());
  EXPECT_EQ(found.exit_code, 0) << found.output;
  EXPECT_TRUE(fs::exists(sandbox / "out" / "metrics.csv"));

  const fs::path nodata = sandbox / "nodata";
  const std::string without = "cd '" + sandbox.string() + "' && DSIGNSGD_DATA_DIR='" +
                              nodata.string() + "' " + std::string(DSIGNSGD_CLI);
  const Outcome train = run_command(without + " train --problem digits-mlp --steps 20");
  EXPECT_EQ(train.exit_code, 2) << train.output;
  EXPECT_NE(train.output.find("--data-dir '" + nodata.string()), std::string::npos) << train.output;
  // `reproduce all` reaches the real-data experiment seventh: it must refuse at once.
  const auto started = std::chrono::steady_clock::now();
  const Outcome all =
      run_command(without + " reproduce all --quick --out " + (sandbox / "report").string());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(all.exit_code, 2) << all.output;
  EXPECT_NE(all.output.find("--data-dir '" + nodata.string() + "'"), std::string::npos)
      << all.output;
  EXPECT_EQ(all.output.find("[1/"), std::string::npos) << "an experiment started: " << all.output;
  EXPECT_LT(seconds, 10.0) << "refused only after " << seconds << " s";
  EXPECT_FALSE(fs::exists(sandbox / "report")) << "a refused reproduce left its --out behind";
  fs::remove_all(sandbox);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadInputExitsTwo,
    ::testing::Values(BadInput{"--method sgdx", "--method 'sgdx'"},
                      BadInput{"--method dcsgd --compressor gzip", "--compressor 'gzip'"},
                      BadInput{"--method dcsgd --compressor randk:1.5", "(0, 1]"},
                      BadInput{"--method dcsgd --compressor randk:0", "--compressor 'randk:0'"},
                      BadInput{"--method dcsgd --compressor qsgd:0", "--compressor 'qsgd:0'"},
                      BadInput{"--noise student:0:1", "ν must be > 0"},
                      BadInput{"--noise student:-2:1", "--noise 'student:-2:1'"},
                      BadInput{"--workers 0", "--workers '0'"}, BadInput{"--lr 0", "--lr '0'"},
                      BadInput{"--lr -0.5", "--lr"}, BadInput{"--lr abc", "--lr"},
                      BadInput{"--dim 3000000000", "memory"},
                      BadInput{"--dim 100000000000", "--dim '100000000000'"},
                      BadInput{"--tail-fraction 1.5", "--tail-fraction '1.5'"},
                      BadInput{"--schedule step", "--schedule 'step'"},
                      BadInput{"--hessian diag:1,2 --dim 3", "--hessian 'diag:1,2'"},
                      BadInput{"--method dsignsgd --compressor randk:0.1", "--compressor"},
                      BadInput{"--no-such-flag 3", "no-such-flag"},
                      BadInput{"--config /nonexistent/x.toml", "--config"},
                      BadInput{"--problem digits-mlp --context 1", "--context '1'"}),
    [](const ::testing::TestParamInfo<BadInput>& info) {
      return "case" + std::to_string(info.index);
    });

TEST(Cli, ConfigFileUnknownKeyAndMalformedLinesExitTwo) {
  const fs::path dir = fresh_dir("config");
  fs::create_directories(dir);
  {
    std::ofstream(dir / "unknown.toml") << "method = \"dsgd\"\nlearning_rate = 0.1\n";
    std::ofstream(dir / "malformed.toml") << "method = \"dsgd\nsteps = 10\n";
    std::ofstream(dir / "novalue.toml") << "steps\n";
  }
  {
    std::ofstream(dir / "converted.toml") << "method = \"dsgd\"\n  lr = \"fast\"\n";
    std::ofstream(dir / "repeated.toml") << "lr = 0.1\nsteps = 5\nlr = 0.2\n";
    std::ofstream(dir / "bom.toml") << "\xEF\xBB\xBFsteps = 5\ndim = 3\n";
  }
  // Every error names the file, line and column (PATH:LINE:COLUMN).
  const auto expect_refusal = [&](const std::string& file, const std::string& where) {
    const Outcome outcome = run("train --config " + (dir / file).string());
    EXPECT_EQ(outcome.exit_code, 2) << file;
    EXPECT_NE(outcome.output.find(where), std::string::npos) << outcome.output;
    EXPECT_EQ(std::count(outcome.output.begin(), outcome.output.end(), '\n'), 1) << outcome.output;
  };
  expect_refusal("unknown.toml", "unknown.toml:2:1: unknown key 'learning-rate'");
  expect_refusal("malformed.toml", "malformed.toml:1:10: unterminated string");
  expect_refusal("novalue.toml", "novalue.toml:1:1: expected key = value");
  expect_refusal("converted.toml", "converted.toml:2:8: Could not convert: --lr = fast");
  expect_refusal("repeated.toml", "repeated.toml:3:1: key 'lr' repeats line 1");
  // A byte order mark is not part of the first key.
  const Outcome bom = run("train --config " + (dir / "bom.toml").string());
  EXPECT_EQ(bom.exit_code, 0) << bom.output;
  // Not a regular file: a directory, a device (was read as an empty or endless config).
  for (const std::string& path : {dir.string(), std::string("/dev/zero")}) {
    const Outcome outcome = run("train --config " + path);
    EXPECT_EQ(outcome.exit_code, 2) << path;
    EXPECT_NE(outcome.output.find("--config '" + path + "'"), std::string::npos) << outcome.output;
  }
  // scale --from names its own option.
  const Outcome from =
      run("scale --from " + (dir / "converted.toml").string() + " --change workers=8");
  EXPECT_EQ(from.exit_code, 2);
  EXPECT_NE(from.output.find("invalid --from '"), std::string::npos) << from.output;
  EXPECT_NE(from.output.find("converted.toml:2:8"), std::string::npos) << from.output;
  fs::remove_all(dir);
}

TEST(Cli, ConfigFileSetsKeysAndTheCommandLineWins) {
  const fs::path dir = fresh_dir("config_ok");
  fs::create_directories(dir);
  std::ofstream(dir / "run.toml") << "# a run\n[train]\nmethod = \"dcsgd\"\ncompressor = "
                                     "'randk:0.5'\nsteps = 50\nruns = 2\nlr = 0.2\nrotate = true\n"
                                     "dim = 4 # inline comment\n";
  const Outcome outcome = run("train --config " + (dir / "run.toml").string() +
                              " --lr 0.05 --out " + (dir / "out").string());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  const nlohmann::json summary = read_json(dir / "out" / "summary.json");
  EXPECT_EQ(summary["config"]["method"], "dcsgd");
  EXPECT_EQ(summary["config"]["compressor"], "randk:0.5");
  EXPECT_EQ(summary["config"]["steps"], 50);
  EXPECT_EQ(summary["config"]["rotate"], true);
  EXPECT_EQ(summary["config"]["dim"], 4);
  EXPECT_DOUBLE_EQ(summary["config"]["lr"].get<double>(), 0.05);  // flag beats file
  fs::remove_all(dir);
}

/// Starts a long train job in the background with `args`; returns its pid once `ready` exists.
std::string start_long_job(const std::string& args, const fs::path& ready) {
  const Outcome started =
      run_command(std::string(DSIGNSGD_CLI) + " train --dim 2000 --steps 100000000 --runs 1 " +
                  args + " > /dev/null 2>&1 & echo $!");
  for (int i = 0; i < 100 && !fs::exists(ready); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return started.output.substr(0, started.output.find('\n'));
}

TEST(Cli, TwoJobsCannotShareAnOutOrACheckpointDirectory) {
  // Issue 30, item 4: both used to exit 0, one silently replacing (or deleting) the other's files.
  const fs::path out = fresh_dir("shared_out"), checkpoints = fresh_dir("shared_ckpt");
  std::string pid = start_long_job("--out " + out.string(), out / "checkpoint");
  Outcome second = run("train --steps 10 --runs 1 --force --out " + out.string());
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find("invalid --out"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("in use by another running job"), std::string::npos);
  run_command("kill -9 " + pid + "; while kill -0 " + pid + " 2> /dev/null; do sleep 0.1; done");
  pid = start_long_job("--checkpoint-dir " + checkpoints.string(), checkpoints);
  second = run("train --steps 10 --runs 1 --checkpoint-dir " + checkpoints.string());
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find("invalid --checkpoint-dir"), std::string::npos) << second.output;
  run_command("kill -9 " + pid + "; while kill -0 " + pid + " 2> /dev/null; do sleep 0.1; done");
  // The kernel released the locks with the processes: nothing stale refuses the next job.
  EXPECT_EQ(run("train --steps 10 --runs 1 --force --out " + out.string()).exit_code, 0);
  EXPECT_EQ(run("train --steps 10 --runs 1 --checkpoint-dir " + checkpoints.string()).exit_code, 0);
  fs::remove_all(out);
  fs::remove_all(checkpoints);
}

TEST(Cli, ResultsArePublishedAsOneUnitWhereverTheJobIsKilled) {
  // A job killed at each step of publication leaves either no summary.json or one that names the
  // metrics.csv beside it — never an old summary.json with new metrics.
  const fs::path out = fresh_dir("publish");
  ASSERT_EQ(run("train --dim 20 --steps 50 --runs 1 --seed 1 --out " + out.string()).exit_code, 0);
  for (const char* point : {"summary-removed", "metrics-written"}) {
    const Outcome killed = run_command(std::string("DSIGNSGD_FAULT_PUBLISH=") + point + " " +
                                       DSIGNSGD_CLI + " train --dim 20 --steps 80 --runs 1 " +
                                       "--seed 2 --force --out " + out.string());
    EXPECT_NE(killed.exit_code, 0) << point;
    if (!fs::exists(out / "summary.json")) continue;  // visibly incomplete: fine
    const nlohmann::json summary = read_json(out / "summary.json");
    std::ifstream in(out / "metrics.csv", std::ios::binary);
    const std::string metrics((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(summary["files"]["metrics.csv"]["bytes"].get<std::size_t>(), metrics.size())
        << point << ": summary.json does not describe the metrics.csv beside it";
  }
  for (const auto& entry : fs::directory_iterator(out)) {  // the rename's temporaries
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
  fs::remove_all(out);
}

TEST(Cli, CheckpointDirectoriesTheUserMadeStayAndAResumeOfNothingIsRefused) {
  const fs::path mine = fresh_dir("my_checkpoints"), other = fresh_dir("other_runs");
  fs::create_directories(mine);
  ASSERT_EQ(run("train --dim 20 --steps 20 --runs 2 --checkpoint-every 5 --checkpoint-dir " +
                mine.string())
                .exit_code,
            0);
  EXPECT_TRUE(fs::is_directory(mine)) << "the job deleted a directory it did not make";
  // A directory with checkpoints of other runs only: resuming would silently start over.
  fs::create_directories(other);
  std::ofstream(other / "run-000005.rank-0000.ckpt") << "x";
  const Outcome refused = run("train --dim 20 --steps 20 --runs 2 --resume " + other.string());
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("holds no checkpoint of this job's runs"), std::string::npos)
      << refused.output;
  fs::remove_all(mine);
  fs::remove_all(other);
}

TEST(Cli, CommandsWithoutACooperativeStopExit130OnASignalAndLeaveNoEmptyOut) {
  // D21: sde, validate, compare and reproduce died by the signal (-2, 143), leaving --out.
  for (const char* signal : {"INT", "TERM"}) {
    const fs::path out = fresh_dir(std::string("signalled_") + signal);
    // The signal goes once --out exists (the handler is in place by then: a background job of
    // sh starts with SIGINT ignored); a watchdog ends a process that ignored it (exit 137).
    const Outcome outcome = run_command(
        std::string(DSIGNSGD_CLI) + " sde --dim 2000 --steps 100000000 --runs 2 --out " +
        out.string() + " & pid=$!; for i in $(seq 600); do [ -d '" + out.string() +
        "' ] && break; sleep 0.1; done; sleep 0.2; kill -" + signal +
        " $pid; (sleep 60; kill -9 $pid) > /dev/null 2>&1 & watchdog=$!; wait $pid; code=$?; "
        "kill $watchdog 2> /dev/null; exit $code");
    EXPECT_EQ(outcome.exit_code, 130) << signal << ": " << outcome.output;
    EXPECT_NE(outcome.output.find("stopped on request"), std::string::npos) << outcome.output;
    EXPECT_FALSE(fs::exists(out)) << signal << ": the empty --out it made is left";
  }
}

TEST(Cli, NoiseProbeLocalModelPredictsEveryMethodAndWritesItsJson) {
  // A quadratic with known Hessian (linspace:0.5:2) and Gaussian noise: λ_max from below, DSGD's
  // excess over a long horizon near THEORY.md §3's floor Σ η σ² / (2N (2 − ηλ)) = 0.1613.
  const fs::path out = fresh_dir("noise_probe_model");
  const Outcome outcome =
      run("noise-probe --problem quadratic --dim 200 --hessian linspace:0.5:2 --noise gaussian:0.5 "
          "--workers 4 --lr 0.05 --steps 100000 --at 300 --draws 256 --local-model --json --out " +
          out.string());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  const nlohmann::json report = read_json(out / "noise_probe.json");
  const nlohmann::json& model = report.at("local_model");
  EXPECT_NEAR(model.at("lambda_max").get<double>(), 2.0, 0.06);
  EXPECT_NEAR(model.at("curvature_mean").get<double>(), 1.25, 1e-3);
  ASSERT_EQ(model.at("predictions").size(), 7u);  // dsgd, 4 compressors, dsignsgd, majority
  const nlohmann::json& dsgd = model.at("predictions")[0];
  EXPECT_EQ(dsgd.at("method"), "dsgd");
  EXPECT_NEAR(dsgd.at("excess_loss").get<double>(), 0.1613, 0.1613 * 0.03);
  EXPECT_NEAR(model.at("effective_omega").at("randk:0.125").get<double>(), 7.0, 0.3);
  const Outcome bad = run("noise-probe --local-model --local-compressors sign");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("--local-compressors 'sign'"), std::string::npos) << bad.output;
  fs::remove_all(out);
}

TEST(Cli, TrainWritesMetricsAndSummaryWithTheDocumentedKeys) {
  const fs::path out = fresh_dir("train");
  const Outcome outcome =
      run("train --method dsignsgd --problem quadratic --dim 20 --hessian linspace:1:2 --noise "
          "gaussian:1 --workers 4 --batch 2 --lr 0.01 --schedule const --steps 400 --runs 3 "
          "--seed 5 --x0 1 --tail-fraction 0.25 --log-every 100 --out " +
          out.string());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  const nlohmann::json summary = read_json(out / "summary.json");
  for (const char* key :
       {"final_loss_mean", "tail_loss_mean", "tail_loss_stderr", "diverged_runs",
        "uplink_bits_per_coordinate", "version", "git_commit", "cpu_level", "config",
        "wall_seconds"}) {
    EXPECT_TRUE(summary.contains(key)) << key;
  }
  EXPECT_DOUBLE_EQ(summary["tail_fraction"].get<double>(), 0.25);
  std::ifstream metrics(out / "metrics.csv");
  std::string header;
  std::getline(metrics, header);
  EXPECT_EQ(header,
            "step,loss_mean,loss_std,loss_median,loss_p10,loss_p90,live_runs,grad_norm_mean,"
            "uplink_bits_per_agent,downlink_bits_per_agent");
  int rows = 0;
  for (std::string line; std::getline(metrics, line);) ++rows;
  EXPECT_EQ(rows, 5);  // steps 0, 100, 200, 300, 400
  for (const auto& entry : fs::directory_iterator(out)) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
  fs::remove_all(out);
}

// Issue 30 D18: one run has no standard error — not "± 0" in the text, null in the JSON, nan in
// compare.csv.
TEST(Cli, OneRunReportsNoStandardErrorRatherThanZero) {
  const fs::path out = fresh_dir("one_run");
  const Outcome train = run("train --dim 10 --steps 50 --runs 1 --lr 0.05 --out " + out.string());
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_NE(train.output.find("(1 value, no s.e.)"), std::string::npos) << train.output;
  EXPECT_EQ(train.output.find("± 0\n"), std::string::npos) << train.output;
  const nlohmann::json summary = read_json(out / "summary.json");
  EXPECT_TRUE(summary.at("tail_loss_stderr").is_null());
  EXPECT_TRUE(summary.at("tail_loss").at("std").is_null());
  EXPECT_EQ(summary.at("tail_loss").at("count"), 1);
  fs::remove_all(out);
  const Outcome compare = run("compare --runs 1 --steps 10 --dim 2 --out " + out.string());
  ASSERT_EQ(compare.exit_code, 0) << compare.output;
  EXPECT_EQ(compare.output.find(" ± 0 "), std::string::npos) << compare.output;
  EXPECT_NE(compare.output.find("no s.e."), std::string::npos) << compare.output;
  std::ifstream csv(out / "compare.csv");
  std::string header, row;
  std::getline(csv, header);
  std::getline(csv, row);
  EXPECT_NE(row.find(",nan,"), std::string::npos) << header << '\n' << row;
  fs::remove_all(out);
  const Outcome two = run("train --dim 10 --steps 50 --runs 2 --lr 0.05 --out " + out.string());
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_GT(read_json(out / "summary.json").at("tail_loss_stderr").get<double>(), 0.0);
  fs::remove_all(out);
}

TEST(Cli, CompressorCommandReportsDeclaredAndEmpiricalOmega) {
  std::cout << "[ seed     ] CompressorCommandReportsDeclaredAndEmpiricalOmega seed=3\n";
  const Outcome outcome =
      run("compressor --compressor randk:0.25 --dim 200 --trials 3000 --seed 3");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  const nlohmann::json report = nlohmann::json::parse(outcome.output);
  EXPECT_DOUBLE_EQ(report["omega_declared"].get<double>(), 3.0);
  EXPECT_NEAR(report["omega_empirical"].get<double>(), 3.0,
              4.5 * report["omega_empirical_stderr"].get<double>());
  EXPECT_LT(report["bias_norm"].get<double>(), 5.0 * report["bias_noise_floor"].get<double>());
  EXPECT_DOUBLE_EQ(report["bits_per_coordinate"].get<double>(), (64.0 + 32.0 * 50) / 200.0);
  EXPECT_EQ(run("compressor --compressor qsgd:0").exit_code, 2);
}

TEST(Cli, BenchReportsThroughputBesideReadBandwidth) {
  const Outcome outcome = run("bench --dim 65536 --repeats 2 --compressors sign,identity --json");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  const nlohmann::json report = nlohmann::json::parse(outcome.output);
  EXPECT_GT(report["read_bandwidth_gbs"].get<double>(), 0.0);
  for (const char* name : {"sign", "identity"}) {
    EXPECT_GT(report["compressors"][name]["encode_gbs"].get<double>(), 0.0);
    EXPECT_GT(report["compressors"][name]["decode_gbs"].get<double>(), 0.0);
  }
}

TEST(Cli, NegativeValuesForUnsignedFlagsAndUnknownCommandsAreRefused) {
  // CLI11 alone reads "-5" into an unsigned flag as 2^64 − 5 (issue 13).
  for (const char* args : {"train --dim -5", "train --seed -1", "sde --seed -2", "bench --dim -3",
                           "compressor --dim -1", "train --dim 1e3"}) {
    const Outcome outcome = run(args);
    EXPECT_EQ(outcome.exit_code, 2) << args;
    EXPECT_NE(outcome.output.find("must be a whole number >= 0"), std::string::npos)
        << args << ": " << outcome.output;
  }
  const Outcome unknown = run("nosuch --dim 3");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("unknown command 'nosuch': must be one of train,"),
            std::string::npos)
      << unknown.output;
}

// Integers are decimal everywhere (issue 30 item 6): CLI11 alone read "010" as octal 8 and
// "--seed 09" as an error of its own parser.
TEST(Cli, IntegersWithLeadingZerosAreDecimal) {
  const Outcome outcome = run("train --workers 010 --dim 010 --seed 09 --steps 3 --runs 1");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("d = 10, N = 10,"), std::string::npos) << outcome.output;
}

// Issue 30 (D23): a synthetic run reads no data, so where the data would be ($DSIGNSGD_DATA_DIR)
// is no reason to refuse its checkpoint (it was: "different configuration (data-dir: …)").
TEST(Cli, ASyntheticRunResumesWhateverItsDataDirectory) {
  const fs::path first = fresh_dir("data_dir_first"), second = fresh_dir("data_dir_second");
  const std::string flags = " train --dim 2000 --steps 100000000 --runs 2 --seed 3 --out ";
  const Outcome stopped =
      run_command("DSIGNSGD_DATA_DIR=/nonexistent-a timeout --preserve-status -s INT 3 " +
                  std::string(DSIGNSGD_CLI) + flags + first.string());
  ASSERT_EQ(stopped.exit_code, 130) << stopped.output;
  const Outcome resumed =
      run_command("DSIGNSGD_DATA_DIR=/nonexistent-b timeout --preserve-status -s INT 3 " +
                  std::string(DSIGNSGD_CLI) + flags + second.string() + " --resume " +
                  (first / "checkpoint").string());
  EXPECT_EQ(resumed.exit_code, 130) << resumed.output;
  EXPECT_NE(resumed.output.find("stopped on request"), std::string::npos) << resumed.output;
  fs::remove_all(first);
  fs::remove_all(second);
}

TEST(Cli, ARefusedRunLeavesNoOutDirectoryBehind) {
  const fs::path empty = fresh_dir("no_checkpoints");
  fs::create_directories(empty);
  const fs::path out = fresh_dir("refused_out");
  const Outcome outcome =
      run("train --dim 5 --steps 3 --resume " + empty.string() + " --out " + out.string());
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("holds no checkpoint files"), std::string::npos);
  EXPECT_FALSE(fs::exists(out)) << "exit 2 left " << out;
  // A directory the user made stays, with what was in it.
  fs::create_directories(out);
  { std::ofstream(out / "notes.txt") << "mine"; }
  EXPECT_EQ(run("train --dim 5 --steps 3 --resume " + empty.string() + " --out " + out.string() +
                " --force")
                .exit_code,
            2);
  EXPECT_TRUE(fs::exists(out / "notes.txt"));
}

TEST(Cli, AnExistingResultDirectoryIsOnlyWrittenIntoWithForce) {
  const fs::path out = fresh_dir("existing_results");
  const std::string args = "train --dim 5 --steps 30 --runs 1 --out " + out.string();
  ASSERT_EQ(run(args).exit_code, 0);
  std::ofstream(out / "metrics.csv", std::ios::app) << "# the user's note\n";
  const Outcome again = run(args + " --lr 0.02");
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("--out '" + out.string() + "': already holds results"),
            std::string::npos)
      << again.output;
  EXPECT_NE(again.output.find("--force"), std::string::npos) << again.output;
  std::ifstream kept(out / "metrics.csv");
  const std::string metrics((std::istreambuf_iterator<char>(kept)), {});
  EXPECT_NE(metrics.find("# the user's note"), std::string::npos) << "the results were replaced";
  const Outcome forced = run(args + " --lr 0.02 --force");
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_EQ(read_json(out / "summary.json")["config"]["lr"].get<double>(), 0.02);
  // A directory holding only checkpoint/ (an interrupted run's) is where its resume writes.
  fs::remove_all(out);
  fs::create_directories(out / "checkpoint");
  EXPECT_EQ(run(args).exit_code, 0);
  fs::remove_all(out);
}

TEST(Cli, SpeedupChargesEachPhaseAlphaPlusBytesOverBandwidth) {
  // The communication part is the α-β formula over the exchange's phases, with the bytes the
  // runs declare: an allgather of P − 1 messages, a ring allreduce of 2(P − 1) blocks of 4⌈d/P⌉.
  const fs::path dir = fresh_dir("speedup");
  fs::create_directories(dir);
  const fs::path measured = dir / "time_per_step.csv";
  {
    std::ofstream csv(measured);
    csv << "workload,hosts,rate,config,ms_per_step_median\n"
        << "quadratic,4,1gbit,dsignsgd,1.0\nquadratic,2,100mbit,dsgd-allreduce,2.0\n";
  }
  const Outcome outcome =
      run("speedup --dim 10000 --configs dsgd-allreduce,dsgd-allgather,dsignsgd,majority-rs "
          "--hosts 4,64 --rates 1gbit --latency-us 10 --measure-steps 5 --json --check " +
          measured.string());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  const nlohmann::json report = nlohmann::json::parse(outcome.output);
  const double bandwidth = 1e9 / 8, alpha = 10e-6;
  for (const auto& row : report["predictions"]) {
    const int p = row["hosts"].get<int>();
    const std::string config = row["config"].get<std::string>();
    const double comm = row["communication_ms"].get<double>() / 1e3;
    if (config == "dsgd-allgather") {
      EXPECT_NEAR(comm, (p - 1) * (alpha + (8 + 4 * 10000) / bandwidth), 1e-12) << p;
    } else if (config == "dsgd-allreduce") {
      EXPECT_NEAR(comm, 2 * (p - 1) * (alpha + 4 * ((10000 + p - 1) / p) / bandwidth), 1e-12);
    } else if (config == "dsignsgd") {
      EXPECT_NEAR(comm, (p - 1) * (alpha + (8 + 10000 / 8) / bandwidth), 1e-12) << p;
    }
    EXPECT_GT(row["compute_ms"].get<double>(), 0.0);
  }
  ASSERT_EQ(report["check"].size(), 2u);  // both measured rows are compared
  for (const auto& row : report["check"]) {
    EXPECT_NEAR(row["relative_error"].get<double>(),
                row["predicted_ms"].get<double>() / row["measured_ms"].get<double>() - 1, 1e-12);
  }
  EXPECT_EQ(run("speedup --rates 10gbps --dim 100").exit_code, 2);
  EXPECT_EQ(run("speedup --hosts 1 --dim 100").exit_code, 2);
  EXPECT_EQ(run("speedup --configs nosuch --dim 100").exit_code, 2);
  // Issue 30 D34: the ratio's reference is there even when not listed (was "( nan×)").
  const Outcome alone = run("speedup --configs dsignsgd --dim 1000 --hosts 2 --rates 1gbit "
                            "--measure-steps 3 --json");
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  const nlohmann::json rows = nlohmann::json::parse(alone.output)["predictions"];
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_GT(rows[0]["ratio_to_dsgd_allreduce"].get<double>(), 0.0);
}

TEST(Cli, SpeedupOfTheHooksFromParameterShapes) {
  // Issue 27 item 6: the hooks' model from a parameter list (no model, no Python): every hook
  // at every host count and rate, its bytes those of the hook's collectives, ratio to allreduce.
  const Outcome outcome = run(
      "speedup --shapes 2048x784,2048,2048x2048,2048,10x2048,10 --step-seconds 0.07 "
      "--hooks allreduce,powersgd-r2,signum-majority --hosts 2,4 --rates 1gbit --no-codec --json");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  const nlohmann::json report = nlohmann::json::parse(outcome.output);
  EXPECT_EQ(report["parameters"].get<std::size_t>(), 5824522u);
  EXPECT_EQ(report["buckets"].size(), 2u);
  ASSERT_EQ(report["predictions"].size(), 6u);
  for (const auto& row : report["predictions"]) {
    const int p = row["hosts"].get<int>();
    EXPECT_DOUBLE_EQ(row["total"].get<double>(),
                     0.07 + row["communication"].get<double>());  // --no-codec
    if (row["hook"] == "allreduce") {
      EXPECT_DOUBLE_EQ(row["bytes_sent"].get<double>(), 2.0 * (p - 1) / p * 4 * 5824522);
      EXPECT_DOUBLE_EQ(row["ratio"].get<double>(), 1.0);
    } else {
      EXPECT_LT(row["ratio"].get<double>(), 1.0) << row.dump();
    }
  }
  const Outcome table = run("speedup --shapes 1000x1000 --step-seconds 0.01 --hosts 4 --rates "
                            "100mbit --hooks allreduce,dsignsgd");
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("dsignsgd"), std::string::npos) << table.output;
  // Refusals name the option: a hook flag without --shapes, --shapes with a methods' flag, a
  // missing compute step, an unknown hook.
  for (const auto& [args, option] :
       std::vector<std::pair<std::string, std::string>>{
           {"speedup --hooks dsignsgd --dim 10", "--hooks"},
           {"speedup --step-seconds 0.1 --dim 10", "--step-seconds"},
           {"speedup --shapes 10x10 --step-seconds 0.1 --configs dsignsgd", "--shapes"},
           {"speedup --shapes 10x10", "--step-seconds"},
           {"speedup --shapes 10x0 --step-seconds 0.1", "--shapes"},
           {"speedup --shapes 10x10 --step-seconds 0.1 --hooks powersgd-r3", "--hooks"}}) {
    const Outcome refused = run(args);
    EXPECT_EQ(refused.exit_code, 2) << args << "\n" << refused.output;
    EXPECT_NE(refused.output.find("invalid " + option), std::string::npos) << refused.output;
  }
}

TEST(Cli, SdeWritesTheSameFilesAsTrain) {
  const fs::path out = fresh_dir("sde");
  const Outcome outcome =
      run("sde --method dsignsgd --dim 5 --steps 100 --runs 4 --log-every 50 "
          "--integrator platen2 --substeps 2 --out " +
          out.string());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  const nlohmann::json summary = read_json(out / "summary.json");
  EXPECT_EQ(summary["command"], "sde");
  EXPECT_EQ(summary["sde"]["integrator"], "platen2");
  EXPECT_EQ(summary["sde"]["drift_correction"], "none");  // the default (docs/SDE.md)
  EXPECT_TRUE(summary.contains("tail_loss_mean"));
  std::ifstream metrics(out / "metrics.csv");
  std::string header;
  std::getline(metrics, header);
  EXPECT_EQ(header.rfind("step,loss_mean,", 0), 0u);
  fs::remove_all(out);
}

TEST(Cli, SdeRefusesModelsThatDoNotExist) {
  Outcome outcome = run("sde --method dsgd --noise cauchy:1 --steps 10");
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.output.find("--noise 'cauchy:1'"), std::string::npos) << outcome.output;
  outcome = run("sde --method dsgd --noise affine:1:1 --rotate --integrator platen2 --steps 10");
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.output.find("--integrator"), std::string::npos) << outcome.output;
  outcome = run("sde --substeps 3 --steps 10");
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.output.find("--substeps '3'"), std::string::npos) << outcome.output;
  outcome = run("sde --drift-correction second --steps 10");
  EXPECT_EQ(outcome.exit_code, 2);
}

TEST(Cli, PredictAndValidatePrintTheirDocumentedKeys) {
  Outcome outcome = run("predict --method dcsgd --compressor randk:0.5 --dim 10 --lr 0.05");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  const nlohmann::json prediction = nlohmann::json::parse(outcome.output);
  EXPECT_TRUE(prediction["stationary_loss"].is_number());
  for (const char* key : {"regime", "stability", "methods"}) EXPECT_TRUE(prediction.contains(key));
  const fs::path out = fresh_dir("validate");
  outcome = run("validate --method dsgd --dim 4 --steps 10 --runs 50 --lr 0.1 --json --out " +
                out.string());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  const nlohmann::json report = nlohmann::json::parse(outcome.output);
  EXPECT_EQ(report["weak_error"].size(), 3u);
  EXPECT_TRUE(report["order"].is_number());
  EXPECT_TRUE(fs::exists(out / "validate.csv"));
  EXPECT_TRUE(fs::exists(out / "validate.json"));
  fs::remove_all(out);
}

TEST(Cli, ScaleExplainsItsRulesAndRejectsBadChanges) {
  const fs::path dir = fresh_dir("scale");
  fs::create_directories(dir);
  std::ofstream(dir / "base.toml") << "method = \"dcsgd\"\ncompressor = \"identity\"\ndim = 10\n"
                                      "lr = 0.05\nworkers = 4\n";
  Outcome outcome =
      run("scale --from " + (dir / "base.toml").string() + " --change compressor=randk:0.1 --json");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  const nlohmann::json plan = nlohmann::json::parse(outcome.output);
  ASSERT_EQ(plan["rules"].size(), 3u);
  for (const auto& rule : plan["rules"]) {
    EXPECT_FALSE(rule["derivation"].get<std::string>().empty());
    EXPECT_FALSE(rule["limits"].get<std::string>().empty());
  }
  outcome = run("scale --from " + (dir / "base.toml").string() + " --change colour=blue");
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.output.find("--change 'colour=blue'"), std::string::npos) << outcome.output;
  outcome = run("scale --from " + (dir / "base.toml").string() +
                " --change compressor=randk:0.1 --keep speed");
  EXPECT_EQ(outcome.exit_code, 2);
  fs::remove_all(dir);
}

TEST(Cli, HelpAndVersionExitZero) {
  EXPECT_EQ(run("--help").exit_code, 0);
  EXPECT_EQ(run("train --help").exit_code, 0);
  const Outcome version = run("--version");
  EXPECT_EQ(version.exit_code, 0);
  // Issue 29 item 5: the version, the commit built (12 hex digits, or unknown) and the CPU level.
  EXPECT_TRUE(std::regex_search(
      version.output, std::regex(R"(^\d+\.\d+\.\d+ \(commit ([0-9a-f]{12}|unknown), CPU level )"
                                 R"((baseline|avx2|avx512)\))")))
      << version.output;
  EXPECT_EQ(run("").exit_code, 2);
}

}  // namespace
