#pragma once
// Shared helpers for the tests: the seed every randomized test prints, and Monte Carlo bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

namespace dsignsgd::testing {

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

/// Two-sided z threshold used throughout: P(|Z| > 4.5) ≈ 7e-6 per comparison.
inline constexpr double kZ = 4.5;

}  // namespace dsignsgd::testing
