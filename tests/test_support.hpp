#pragma once
// Shared helpers for the tests: the seed every randomized test prints, and Monte Carlo bounds.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace dsignsgd::testing {

/// Every file under `dir` with its content, sorted: the state a refused command must not change.
inline std::vector<std::pair<std::string, std::string>> disk_snapshot(
    const std::filesystem::path& dir) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    std::string content;
    if (entry.is_regular_file()) {
      std::ifstream in(entry.path(), std::ios::binary);
      content.assign(std::istreambuf_iterator<char>(in), {});
    }
    files.emplace_back(std::filesystem::relative(entry.path(), dir).string(), content);
  }
  std::sort(files.begin(), files.end());
  return files;
}

/// The seed of a randomized test: DSIGNSGD_TEST_SEED if set, else `fallback`. Printed so that a
/// failure can be replayed with DSIGNSGD_TEST_SEED=<seed>.
inline std::uint64_t test_seed(std::uint64_t fallback) {
  std::uint64_t seed = fallback;
  if (const char* env = std::getenv("DSIGNSGD_TEST_SEED")) seed = std::strtoull(env, nullptr, 10);
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::cout << "[ seed     ] " << (info ? info->name() : "?") << " seed=" << seed << std::endl;
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

/// A scratch path in the temporary directory, unique to this process: two builds' suites (say
/// Release and the sanitizer build) may run the same test at the same time.
inline std::filesystem::path scratch_path(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("dsignsgd_" + name + "_" + std::to_string(::getpid()));
}

/// The whole content of a file (binary).
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Two-sided z threshold used throughout: P(|Z| > 4.5) ≈ 7e-6 per comparison.
inline constexpr double kZ = 4.5;

}  // namespace dsignsgd::testing
