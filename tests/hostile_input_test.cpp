// Hostile input, table-driven (issue 13): every command and flag family given values a careless or
// hostile user would type. Each case must exit with code 2 before any work, print one error that
// names the option (or the file), and leave the disk as it was: no --out created, an existing
// --out untouched, nothing in the working directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;

struct Hostile {
  std::string args;          ///< the command line after `dsignsgd`; {dir} is the sandbox
  std::string must_mention;  ///< the option (and value) or file the message must name
  bool out = true;           ///< the command takes --out (it is given, inside the sandbox)
};

void PrintTo(const Hostile& c, std::ostream* os) { *os << "dsignsgd " << c.args; }

std::string expand(std::string text, const fs::path& dir) {
  for (std::size_t at; (at = text.find("{dir}")) != std::string::npos;) {
    text.replace(at, 5, dir.string());
  }
  for (std::size_t at; (at = text.find("{loops}")) != std::string::npos;) {
    text.replace(at, 7, (dir.parent_path() / "loops").string());
  }
  for (std::size_t at; (at = text.find("{data}")) != std::string::npos;) {
    text.replace(at, 6, DSIGNSGD_DATA_DIR);
  }
  return text;
}

class HostileInput : public ::testing::TestWithParam<Hostile> {
 protected:
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(sandbox_root(), ignored);
  }
  static fs::path sandbox_root() {
    return fs::temp_directory_path() / ("dsignsgd_hostile_" + std::to_string(::getpid()));
  }
};

TEST_P(HostileInput, ExitsTwoNamingTheOptionAndLeavesTheDiskAsItWas) {
  const Hostile& c = GetParam();
  const fs::path dir = sandbox_root() / std::to_string(std::hash<std::string>{}(c.args));
  fs::remove_all(dir);
  fs::create_directories(dir / "inputs");
  // Inputs some cases read: a config with a bad value, a file where a directory is expected, an
  // existing result directory, an empty checkpoint directory, damaged data.
  std::ofstream(dir / "inputs" / "bad_value.toml") << "lr = \"fast\"\n";
  std::ofstream(dir / "inputs" / "unknown_key.toml") << "learning_rate = 0.1\n";
  std::ofstream(dir / "inputs" / "repeated.toml") << "lr = 0.1\nlr = 0.2\n";
  std::ofstream(dir / "inputs" / "wrong_table.toml") << "[sde]\nlr = 0.1\n";
  std::ofstream(dir / "inputs" / "control.toml") << "noise = \"a\x01b\"\n";
  std::ofstream(dir / "inputs" / "a_file") << "not a directory\n";
  std::ofstream(dir / "inputs" / "dsgd.toml") << "method = \"dsgd\"\n";
  std::ofstream(dir / "inputs" / "hex.toml") << "workers = 0x4\n";
  std::ofstream(dir / "inputs" / "help.toml") << "help = true\n";
  std::ofstream(dir / "inputs" / "bom.toml") << "\xef\xbb\xbf\xef\xbb\xbflr = 0.1\n";
  std::ofstream(dir / "inputs" / "inf.toml") << "lr = inf\n";
  // A symlink loop, outside `dir` (the snapshot could not walk it): {loops}/loop1.toml.
  const fs::path loops = sandbox_root() / "loops";
  fs::create_directories(loops);
  std::error_code missing;
  if (!fs::is_symlink(fs::symlink_status(loops / "loop1.toml", missing))) {
    fs::create_symlink(loops / "loop2.toml", loops / "loop1.toml");
    fs::create_symlink(loops / "loop1.toml", loops / "loop2.toml");
  }
  fs::create_directories(dir / "inputs" / "checkpoint_file_out");
  std::ofstream(dir / "inputs" / "checkpoint_file_out" / "checkpoint") << "not a directory\n";
  fs::create_directories(dir / "inputs" / "empty_dir");
  fs::create_directories(dir / "inputs" / "results");
  std::ofstream(dir / "inputs" / "results" / "summary.json") << "{}\n";
  fs::create_directories(dir / "inputs" / "dir_results" / "summary.json");  // D24
  fs::create_directories(dir / "inputs" / "data" / "sklearn");
  std::ofstream(dir / "inputs" / "data" / "sklearn" / "breast_cancer.csv") << "a,b,label\n1,nan,0\n";
  // Files that are not files (issue 30 item 5): a data file that is a FIFO (open() would block
  // for ever), one that is /dev/zero (it never ends), a checkpoint that is a FIFO.
  fs::create_directories(dir / "inputs" / "fifo_data" / "sklearn");
  ::mkfifo((dir / "inputs" / "fifo_data" / "sklearn" / "digits.csv.gz").c_str(), 0600);
  fs::create_directories(dir / "inputs" / "zero_data" / "sklearn");
  fs::create_symlink("/dev/zero", dir / "inputs" / "zero_data" / "sklearn" / "digits.csv.gz");
  fs::create_directories(dir / "inputs" / "fifo_checkpoint");
  ::mkfifo((dir / "inputs" / "fifo_checkpoint" / "run-000000.rank-0000.ckpt").c_str(), 0600);
  const auto before = dsignsgd::testing::disk_snapshot(dir);

  std::string command = "cd '" + dir.string() + "' && " + DSIGNSGD_CLI + " " + expand(c.args, dir) +
                        (c.args.find("--data-dir") == std::string::npos && c.args.rfind("train", 0) == 0
                             ? " --data-dir " DSIGNSGD_DATA_DIR
                             : "");
  if (c.out) command += " --out '" + (dir / "out").string() + "'";
  FILE* pipe = popen(("(" + command + ") 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  const int status = pclose(pipe);
  const int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

  EXPECT_EQ(exit_code, 2) << c.args << "\n" << output;
  EXPECT_NE(output.find(expand(c.must_mention, dir)), std::string::npos)
      << c.args << "\nmust mention: " << c.must_mention << "\n" << output;
  // One error line, printed once (a data problem may first say which recipe defaults it took;
  // CLI11's errors add a hint where to find the options).
  std::size_t errors = 0, lines = 0;
  std::istringstream text(output);
  for (std::string line; std::getline(text, line);) {
    errors += line.rfind("dsignsgd: error: ", 0) == 0 ? 1 : 0;
    lines += line.rfind("defaults: ", 0) == 0 || line.rfind("(run 'dsignsgd", 0) == 0 ? 0 : 1;
  }
  EXPECT_EQ(errors, 1u) << "one error, printed once: " << output;
  EXPECT_EQ(lines, 1u) << "nothing but the error: " << output;
  EXPECT_EQ(output.find('\x01'), std::string::npos) << "unprintable byte in: " << output;
  EXPECT_EQ(output.find("\xe2\x80\xae"), std::string::npos) << "raw U+202E in: " << output;
  EXPECT_EQ(dsignsgd::testing::disk_snapshot(dir), before) << c.args << ": the disk changed";
  fs::remove_all(dir);
}

const Hostile kCases[] = {
    // ---- train: numbers as typed (no wrapping, no clamping) ----
    {"train --dim -5", "--dim: invalid value '-5'"},
    {"train --dim 0", "--dim '0'"},
    {"train --dim 1e3", "--dim: invalid value '1e3'"},
    {"train --dim 99999999999999999999999", "--dim"},
    {"train --dim 3000000000", "memory"},
    {"train --dim abc", "--dim"},
    {"train --seed -1", "--seed: invalid value '-1'"},
    {"train --seed 1.5", "--seed"},
    {"train --seed 18446744073709551616", "--seed"},
    {"train --lr 0", "--lr '0'"},
    {"train --lr -0.1", "--lr"},
    {"train --lr nan", "--lr"},
    {"train --lr inf", "--lr"},
    {"train --lr 1e400", "--lr"},
    {"train --lr ''", "--lr '': is empty"},
    {"train --noise=", "--noise '': is empty"},
    {"train --steps 0", "--steps '0'"},
    {"train --steps -3", "--steps"},
    {"train --steps 4294967296", "--steps '4294967296'"},
    {"train --steps 2.5", "--steps"},
    {"train --runs 0", "--runs '0'"},
    {"train --runs -1", "--runs"},
    {"train --runs 100000000", "--runs '100000000'"},
    {"train --workers 0", "--workers '0'"},
    {"train --workers -4", "--workers"},
    {"train --workers 20000000", "--workers"},
    {"train --batch 0", "--batch '0'"},
    {"train --batch -2", "--batch"},
    {"train --tail-fraction 0", "--tail-fraction '0'"},
    {"train --tail-fraction 1.5", "--tail-fraction '1.5'"},
    {"train --tail-fraction nan", "--tail-fraction"},
    {"train --log-every 0", "--log-every '0'"},
    {"train --log-every -1", "--log-every"},
    {"train --steps 1000000000 --log-every 1 --runs 8", "--log-every '1'"},
    {"train --steps 4000000000 --log-every 1 --runs 1 --problem digits-mlp --data-dir {data}",
     "--log-every '1'"},
    {"train --threads -1", "--threads"},
    {"train --momentum 1", "--momentum"},
    {"train --momentum -0.5", "--momentum"},
    {"train --x0 nan", "--x0"},
    {"train --x0 inf", "--x0"},
    {"train --x-star nan", "--x-star"},
    {"train --warmup -1", "--warmup"},
    {"train --divergence-factor 0", "--divergence-factor"},
    {"train --divergence-factor -1", "--divergence-factor"},
    {"train --norm-floor -1", "--norm-floor"},
    {"train --method normalized-dcsgd --normalization adaptive --l0 0 --l1 0", "--l0"},
    {"train --method normalized-dcsgd --normalization adaptive --l0 -1", "--l0"},
    {"train --sigma0 -1 --method normalized-dcsgd --normalization adaptive", "--sigma0"},
    {"train --comm-timeout 0", "--comm-timeout"},
    {"train --comm-timeout -5", "--comm-timeout"},
    {"train --comm-timeout 1e-9", "must be in [1, 3600] seconds"},
    {"validate --steps 4294967295 --levels 2 --dim 1 --runs 1", "must be < 2^32"},
    {"train --warmup 4294967295 --steps 10", "invalid --warmup '4294967295': must be < --steps"},
    {"train --problem digits-logreg --eval-batch 100000000 --steps 2",
     "invalid --eval-batch '100000000': must be at most"},
    {"train --agents-per-rank 0", "--agents-per-rank"},
    {"train --checkpoint-every -1", "--checkpoint-every"},
    {"train --weight-decay -1 --problem digits-logreg", "--weight-decay"},
    {"train --context 0 --problem digits-mlp", "--context"},
    {"train --eval-batch 0 --problem digits-mlp", "--eval-batch"},
    // ---- train: specifications ----
    {"train --method sgdx", "--method 'sgdx'"},
    {"train --method ''", "--method"},
    {"train --method dcsgd --compressor gzip", "--compressor 'gzip'"},
    {"train --method dcsgd --compressor randk", "--compressor"},
    {"train --method dcsgd --compressor randk:0", "--compressor 'randk:0'"},
    {"train --method dcsgd --compressor randk:1.5", "--compressor"},
    {"train --method dcsgd --compressor randk:nan", "--compressor"},
    {"train --method dcsgd --compressor randk:0.1:3", "--compressor"},
    {"train --method dcsgd --compressor qsgd:0", "--compressor 'qsgd:0'"},
    {"train --method dcsgd --compressor qsgd:-1", "--compressor"},
    {"train --method dcsgd --compressor qsgd:4:0", "--compressor"},
    {"train --method dcsgd --compressor qsgd:99999999999", "--compressor"},
    {"train --method dcsgd --compressor topk:2", "--compressor"},
    {"train --method dcsgd --compressor sign:3", "--compressor"},
    {"train --method dsignsgd --compressor randk:0.1", "--compressor"},
    {"train --noise student:0:1", "--noise"},
    {"train --noise student:-2:1", "--noise 'student:-2:1'"},
    {"train --noise gaussian", "--noise"},
    {"train --noise gaussian:-1", "--noise"},
    {"train --noise gaussian:nan", "--noise"},
    {"train --noise cauchy:1:2", "--noise"},
    {"train --noise affine:1", "--noise"},
    {"train --noise poisson:1", "--noise 'poisson:1'"},
    {"train --noise \"$(printf 'gauss\\033[31m')\"", "--noise 'gauss\\x1b[31m'"},
    {"train --hessian diag:1,2 --dim 3", "--hessian 'diag:1,2'"},
    {"train --hessian diag:1,-2", "--hessian"},
    {"train --hessian diag:", "--hessian"},
    {"train --hessian linspace:2", "--hessian"},
    {"train --hessian linspace:-1:2", "--hessian"},
    {"train --hessian logspace:1:nan", "--hessian"},
    {"train --hessian spiral:1", "--hessian"},
    {"train --schedule step", "--schedule 'step'"},
    {"train --schedule ''", "--schedule"},
    {"train --agent-scales 1,2", "--agent-scales"},
    {"train --agent-scales 1,2,-1,1", "--agent-scales"},
    {"train --agent-scales 1,x,1,1", "--agent-scales"},
    {"train --problem nosuch", "--problem 'nosuch'"},
    {"train --normalization wild --method normalized-dcsgd", "--normalization"},
    {"train --backend tcp", "--backend 'tcp'"},
    {"train --backend mpi --agents-per-rank -1", "--agents-per-rank"},
    {"train --reduction allreduce --method dsignsgd", "--reduction 'allreduce'"},
    {"train --reduction reduce-scatter --method dcsgd --compressor randk:0.1", "--reduction"},
    {"train --reduction tree", "--reduction"},
    {"train --split zigzag --problem digits-mlp", "--split"},
    {"train --hidden 0 --problem digits-mlp", "--hidden"},
    {"train --hidden 12,x --problem digits-mlp", "--hidden"},
    {"train --arch width=1 --problem digits-mlp", "--arch"},
    {"train --no-such-flag 3", "no-such-flag"},
    {"train --lr", "--lr"},
    {"train --rotate=maybe", "--rotate"},
    // ---- train: paths ----
    {"train --config {dir}/missing.toml", "--config '{dir}/missing.toml'"},
    {"train --config {dir}/inputs", "--config '{dir}/inputs'"},
    {"train --config /dev/zero", "--config '/dev/zero'"},
    {"train --config {dir}/inputs/bad_value.toml", "bad_value.toml:1:6"},
    {"train --config {dir}/inputs/unknown_key.toml", "unknown_key.toml:1:1: unknown key"},
    {"train --config {dir}/inputs/repeated.toml", "repeated.toml:2:1"},
    {"train --config {dir}/inputs/wrong_table.toml", "wrong_table.toml:1:1"},
    {"train --config {dir}/inputs/control.toml", "control.toml:1:11"},
    {"train --resume {dir}/missing", "--resume '{dir}/missing'"},
    {"train --resume {dir}/inputs/a_file", "--resume '{dir}/inputs/a_file'"},
    {"train --resume {dir}/inputs/empty_dir", "holds no checkpoint files"},
    {"train --checkpoint-every 10", "--checkpoint-every '10'", false},
    {"train --checkpoint-dir {dir}/inputs/a_file/ck", "--checkpoint-dir"},
    {"train --checkpoint-dir /proc/dsignsgd/ck", "--checkpoint-dir"},
    {"train --out {dir}/inputs/a_file", "--out '{dir}/inputs/a_file'", false},
    {"train --out {dir}/inputs/results", "already holds results", false},
    {"train --force --out {dir}/inputs/dir_results", "summary.json, which is not a regular file",
     false},
    {"sde --force --out {dir}/inputs/dir_results", "summary.json, which is not a regular file",
     false},
    {"train --out /proc/dsignsgd", "--out '/proc/dsignsgd'", false},
    {"train --problem digits-mlp --data-dir {dir}/nodata", "--data-dir '{dir}/nodata"},
    {"train --problem breast-cancer-logreg --data-dir {dir}/inputs/data", "line 2, field 2"},
    {"train --problem mnist-mlp --data-dir {dir}/inputs/data", "--data-dir '{dir}/inputs/data/mnist"},
    // ---- sde ----
    {"sde --drift-correction magic", "--drift-correction"},
    {"sde --integrator rk4", "--integrator"},
    {"sde --substeps 3", "--substeps"},
    {"sde --substeps 0", "--substeps"},
    {"sde --substeps -2", "--substeps"},
    {"sde --compression-covariance guess --method dcsgd --compressor randk:0.1",
     "--compression-covariance"},
    {"sde --resume {dir}/inputs/empty_dir", "--resume"},
    {"sde --checkpoint-every 5", "--checkpoint-every"},
    {"sde --seed -2", "--seed"},
    {"sde --lr 0", "--lr"},
    {"sde --noise student:0:1", "--noise"},
    {"sde --method nosuch", "--method"},
    {"sde --out {dir}/inputs/results", "already holds results", false},
    {"sde --config {dir}/inputs/bad_value.toml", "bad_value.toml:1:6"},
    // ---- predict ----
    {"predict --epsilon 0", "--epsilon", false},
    {"predict --epsilon -1", "--epsilon", false},
    {"predict --lr -1", "--lr", false},
    {"predict --workers 0", "--workers", false},
    {"predict --noise cauchy:x", "--noise", false},
    {"predict --method nosuch", "--method", false},
    {"predict --config {dir}/inputs", "--config", false},
    // ---- validate ----
    {"validate --levels 0", "--levels '0'"},
    {"validate --levels 1", "--levels"},
    {"validate --levels 99", "--levels"},
    {"validate --substeps 5", "--substeps"},
    {"validate --lr nan", "--lr"},
    {"validate --out {dir}/inputs/results", "already holds results", false},
    // ---- scale ----
    {"scale --from {dir}/missing.toml --change workers=8", "--from '{dir}/missing.toml'", false},
    {"scale --from {dir}/inputs --change workers=8", "--from", false},
    {"scale --from {dir}/inputs/bad_value.toml --change workers=8", "--from", false},
    {"scale --from {dir}/inputs/repeated.toml --change workers=8", "repeated.toml:2:1", false},
    {"scale --change workers=8", "--from", false},
    {"scale --from {dir}/inputs/dsgd.toml --change noise=cauchy:1", "--change 'noise=cauchy:1'", false},
    {"scale --from {dir}/inputs/dsgd.toml --change method=dsignsgd --keep trajectory",
     "--change 'method=dsignsgd'", false},
    // ---- reproduce ----
    {"reproduce nosuch", "--experiment 'nosuch'"},
    {"reproduce --experiment ''", "--experiment"},
    {"reproduce sde --seed -1", "--seed"},
    {"reproduce sde --out {dir}/inputs/results", "already holds results", false},
    {"reproduce sde --out {dir}/inputs/a_file", "--out", false},
    {"reproduce all --quick --data-dir {dir}/nodata", "--data-dir '{dir}/nodata'"},
    {"reproduce realdata --data-dir {dir}/inputs/a_file", "--data-dir '{dir}/inputs/a_file'"},
    // ---- compare ----
    {"compare --sigma 0", "--sigma '0'"},
    {"compare --sigma -1", "--sigma"},
    {"compare --sigma inf", "--sigma 'inf'"},  // D20: named --noise 'gaussian:inf'
    {"compare --sigma 1e400", "--sigma"},
    {"compare --randk randk:7", "--randk"},
    {"compare --workers 0", "--workers"},
    {"compare --dim -3", "--dim"},
    {"compare --lr -1", "--lr"},
    {"compare --out {dir}/inputs/results", "already holds results", false},
    // ---- compressor, bench ----
    {"compressor --compressor nosuch", "--compressor", false},
    {"compressor --compressor randk:2", "--compressor", false},
    {"compressor --dim -1", "--dim", false},
    {"compressor --dim 0", "--dim", false},
    {"compressor --trials 0", "--trials", false},
    {"compressor --trials -5", "--trials", false},
    {"compressor --seed x", "--seed", false},
    {"bench --dim -3", "--dim", false},
    {"bench --dim 0", "--dim", false},
    {"bench --repeats 0", "--repeats", false},
    {"bench --compressors nosuch", "--compressors", false},
    // ---- speedup ----
    {"speedup --hosts 0", "--hosts", false},
    {"speedup --hosts -4", "--hosts", false},
    {"speedup --rates 10parsecs", "--rates", false},
    {"speedup --rates 0gbit", "--rates", false},
    {"speedup --latency-us -1", "--latency-us", false},
    {"speedup --measure-steps 0", "--measure-steps", false},
    {"speedup --configs nosuch", "--configs", false},
    {"speedup --effective 1gbit", "--effective", false},
    {"speedup --check {dir}/missing.csv", "--check", false},
    // Infinity is refused where it has no meaning (issue 30 item 6).
    {"train --norm-floor inf", "--norm-floor 'inf': must be > 0 and finite"},
    {"train --divergence-factor inf", "--divergence-factor 'inf'"},
    {"train --l0 inf --method normalized-dcsgd", "--l0 'inf'"},
    {"train --sigma1 inf", "--sigma1 'inf'"},
    {"predict --epsilon inf", "--epsilon 'inf'", false},
    {"train --x0 1e308", "--x0 '1e+308': f(x0) overflows"},
    {"train --hessian diag:1e308,1e308 --x0 10", "--x0 '10': f(x0) overflows"},
    {"sde --x0 1e308", "--x0 '1e+308': f(x0) overflows"},
    {"sde --hessian diag:1e308,1e308 --dim 2 --x0 10", "--x0 '10': f(x0) overflows"},
    // Numbers are decimal, one way everywhere (issue 30 item 6).
    {"train --steps 0x10", "--steps: invalid value '0x10'"},
    {"train --seed 0b101", "--seed: invalid value '0b101'"},
    {"train --lr 0x10", "--lr: invalid value '0x10': must be a decimal number"},
    {"train --lr 0x1p-4", "--lr: invalid value '0x1p-4'"},
    {"train --config {dir}/inputs/help.toml", "help.toml:1:1: key 'help' is not a setting"},
    {"predict --config {dir}/inputs/help.toml", "help.toml:1:1: key 'help'", false},
    {"scale --from {dir}/inputs/dsgd.toml --change help=true",
     "--change 'help=true': --help and --version are not settings", false},
    {"train --config {dir}/inputs/hex.toml", "hex.toml:1:11: --workers: invalid value '0x4'"},
    {"speedup --check /dev/zero", "--check '/dev/zero': is not a regular file", false},
    {"train --problem digits-mlp --data-dir {dir}/inputs/fifo_data",
     "fifo_data/sklearn/digits.csv.gz': is not a regular file"},
    {"train --problem digits-mlp --data-dir {dir}/inputs/zero_data",
     "zero_data/sklearn/digits.csv.gz': is not a regular file"},
    {"train --dim 3 --steps 10 --resume {dir}/inputs/fifo_checkpoint",
     "run-000000.rank-0000.ckpt': is not a regular file"},
    // Values echoed as typed, origins named, contradictions refused (issue 30 D26–D28, D33, D36,
    // D37).
    {"train --steps 99999999999999999999", "invalid value '99999999999999999999'"},
    {"train --method dsignsgd --momentum 0.99999999999999999",
     "--momentum '1' (typed '0.99999999999999999')"},
    {"speedup --latency-us 1e308", "--latency-us '1e+308'", false},
    {"train --method \"$(printf 'dsign\\342\\200\\256sgd')\"", "'dsign\\u{202e}sgd'"},
    {"train --config {dir}/inputs/bom.toml", "unknown key '\\u{feff}lr'"},
    {"train --config {dir}/inputs/inf.toml", "inf.toml:1:6: invalid --lr 'inf'"},
    {"train --config {loops}/loop1.toml", "loop1.toml': cannot be opened"},
    {"train --steps 10 --out {dir}/inputs/checkpoint_file_out",
     "checkpoint_file_out': holds a 'checkpoint' that is not a directory", false},
    {"sde --backend mpi --agents-per-rank 7 --reduction reduce-scatter",
     "--backend 'mpi': the SDE is simulated in one process"},
    {"sde --method dsignsgd --compression-covariance monte-carlo",
     "--compression-covariance 'monte-carlo'"},
    {"train --problem digits-mlp --batch 100000", "--batch '100000': exceeds the"},
    {"train --method dcsgd --compressor fp16 --x0 70000", "--x0 '70000': the gradient at x0"},
    {"bench --dim 1073741824 --repeats 1 --compressors identity --agents 65535",
     "--dim '1073741824': needs about", false},
    // ---- the program ----
    {"nosuch --dim 3", "unknown command 'nosuch'", false},
    {"\"$(printf 'tr\\001ain')\"", "unknown command 'tr\\x01ain'", false},
    {"--no-such-global", "no-such-global", false},
};

INSTANTIATE_TEST_SUITE_P(Table, HostileInput, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Hostile>& info) {
                           return "case" + std::to_string(info.index);
                         });

TEST(HostileInputTable, HasAtLeast150Cases) {
  EXPECT_GE(std::size(kCases), 150u);
}

}  // namespace
