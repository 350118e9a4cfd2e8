// Hostile input, generated (issue 30): every valued option of every command, read from the
// command's own --help, given each value of a hostile set — 0, −1, a number beyond 64 bits, inf,
// nan, hexadecimal, octal-looking, empty, 1e400 and non-ASCII text — on top of a baseline that
// keeps an accepted run tiny. Each case must end within the time limit with exit code 0
// (accepted) or 2 (refused) — never 1, a signal or a hang — and a refusal must print one error
// naming the option, nothing unprintable, and leave the disk as it was.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;

struct Command {
  std::string name;
  std::string baseline;  ///< keeps an accepted case tiny; {dir} is the sandbox
  bool takes_out;        ///< --out {dir}/out is added
  bool shared_options;   ///< tests train's shared options too (only `train` does)
};

/// The commands and their baselines. sde, predict, validate, speedup and noise-probe share
/// train's options: those are generated once, under train; each command adds its own.
const std::vector<Command> kCommands = {
    {"train", "--dim 2 --steps 3 --runs 1 --log-every 1", true, true},
    {"sde", "--dim 2 --steps 3 --runs 1", true, false},
    {"predict", "--dim 2", false, false},
    {"validate", "--dim 2 --steps 4 --runs 2 --levels 2", true, false},
    {"scale", "--from {dir}/base.toml --change workers=2", false, false},
    {"compare", "--dim 2 --steps 3 --runs 1", true, false},
    {"compressor", "--dim 64 --trials 2", false, false},
    {"bench", "--dim 1024 --repeats 1 --agents 1 --compressors identity", false, false},
    {"speedup", "--dim 2 --configs dsgd-allreduce --hosts 2 --rates 1gbit --measure-steps 2", false,
     false},
    {"noise-probe", "--dim 2 --steps 4 --at 0 --draws 32 --coordinates 2", true, false},
};

const std::vector<std::string> kValues = {
    "0", "-1", "99999999999999999999", "inf", "nan", "0x10", "010", "", "1e400", "\xcf\x83x",
};

std::string run(const std::string& command, int& exit_code) {
  FILE* pipe = popen(("(" + command + ") 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    exit_code = -1;
    return "";
  }
  std::string output;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  const int status = pclose(pipe);
  exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

/// "--lr FLOAT=0.1  text" lines of `dsignsgd COMMAND --help`: the options that take a value.
std::vector<std::string> valued_options(const std::string& command) {
  int code = 0;
  const std::string help = run(std::string(DSIGNSGD_CLI) + " " + command + " --help", code);
  std::vector<std::string> options;
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string flag, type;
    words >> flag >> type;
    if (flag.rfind("--", 0) != 0 || flag == "--help") continue;
    const std::string kind = type.substr(0, type.find('='));
    if (kind == "INT" || kind == "UINT" || kind == "FLOAT" || kind == "TEXT") {
      options.push_back(flag);
    }
  }
  return options;
}

struct Case {
  const Command* command;
  std::string option;
  std::string value;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "dsignsgd " << c.command->name << " " << c.option << "='" << c.value << "'";
}

std::vector<Case> generate() {
  std::set<std::string> shared;
  for (const std::string& option : valued_options("train")) shared.insert(option);
  std::vector<Case> cases;
  for (const Command& command : kCommands) {
    for (const std::string& option : valued_options(command.name)) {
      if (!command.shared_options && shared.count(option) > 0) continue;
      if (option == "--config") continue;  // a file: the hand-written table covers it
      for (const std::string& value : kValues) cases.push_back({&command, option, value});
    }
  }
  return cases;
}

/// The baseline without the flag under test (the case's value replaces it).
std::string baseline_without(const std::string& baseline, const std::string& option) {
  std::istringstream words(baseline);
  std::string out;
  for (std::string word; words >> word;) {
    if (word == option) {
      words >> word;  // its value
      continue;
    }
    out += word + " ";
  }
  return out;
}

std::string expand(std::string text, const fs::path& dir) {
  for (std::size_t at; (at = text.find("{dir}")) != std::string::npos;) {
    text.replace(at, 5, dir.string());
  }
  return text;
}

class GeneratedHostileInput : public ::testing::TestWithParam<Case> {};

TEST_P(GeneratedHostileInput, EndsWithZeroOrTwoAndARefusalNamesTheOption) {
  const Case& c = GetParam();
  const fs::path dir =
      fs::temp_directory_path() /
      ("dsignsgd_generated_" + std::to_string(::getpid()) + "_" +
       std::to_string(std::hash<std::string>{}(c.command->name + c.option + c.value)));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "base.toml") << "method = \"dsgd\"\ndim = 2\nsteps = 20\nruns = 2\n";
  const auto before = dsignsgd::testing::disk_snapshot(dir);

  std::string command = "cd '" + dir.string() + "' && timeout -s KILL 60 " + DSIGNSGD_CLI + " " +
                        c.command->name + " " +
                        expand(baseline_without(c.command->baseline, c.option), dir) + "'" +
                        c.option + "=" + c.value + "'";
  if (c.command->takes_out && c.option != "--out")
    command += " --out '" + (dir / "out").string() + "'";
  int exit_code = 0;
  const std::string output = run(command, exit_code);

  EXPECT_TRUE(exit_code == 0 || exit_code == 2) << "exit " << exit_code << "\n" << output;
  EXPECT_EQ(output.find('\x01'), std::string::npos) << output;
  if (exit_code == 2) {
    std::size_t errors = 0;
    std::istringstream text(output);
    for (std::string line; std::getline(text, line);) {
      errors += line.rfind("dsignsgd: error: ", 0) == 0 ? 1 : 0;
    }
    EXPECT_EQ(errors, 1u) << "one error, printed once:\n" << output;
    EXPECT_NE(output.find(c.option), std::string::npos)
        << "the refusal must name " << c.option << ":\n"
        << output;
    EXPECT_EQ(dsignsgd::testing::disk_snapshot(dir), before) << "a refusal changed the disk:\n"
                                                             << output;
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(EveryOption, GeneratedHostileInput, ::testing::ValuesIn(generate()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return "case" + std::to_string(info.index);
                         });

TEST(GeneratedHostileTable, CoversEveryCommandsOwnOptions) {
  const std::vector<Case> cases = generate();
  std::map<std::string, std::size_t> per_command;
  for (const Case& c : cases) ++per_command[c.command->name];
  EXPECT_EQ(per_command.size(), kCommands.size());
  EXPECT_GE(cases.size(), 700u);
}

}  // namespace
