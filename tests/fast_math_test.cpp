#include <cmath>

#include "dsignsgd/core/fast_math.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

TEST(FastMath, ExpNegIsAccurateOnItsRange) {
  double worst = 0.0;
  for (int i = 0; i <= 200000; ++i) {
    const float y = -87.0f * static_cast<float>(i) / 200000.0f;
    const double exact = std::exp(static_cast<double>(y));
    worst = std::max(worst, std::abs(exp_neg(y) - exact) / exact);
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(exp_neg(0.0f), 1.0f);
}

TEST(FastMath, ErfIsAccurateAbsolutelyAndNearZeroRelatively) {
  double worst_absolute = 0.0;
  double worst_relative = 0.0;
  for (int i = -200000; i <= 200000; ++i) {
    const float x = 6.0f * static_cast<float>(i) / 200000.0f;
    const double exact = std::erf(static_cast<double>(x));
    const double error = std::abs(erf_fast(x) - exact);
    worst_absolute = std::max(worst_absolute, error);
    if (exact != 0.0) worst_relative = std::max(worst_relative, error / std::abs(exact));
  }
  EXPECT_LT(worst_absolute, 3e-7);
  EXPECT_LT(worst_relative, 1e-6);
  // Odd, and tiny arguments keep their slope 2/√π (the sign methods' linear phase).
  EXPECT_EQ(erf_fast(-0.3f), -erf_fast(0.3f));
  EXPECT_NEAR(erf_fast(1e-8f) / 1e-8, 2.0 / std::sqrt(M_PI), 1e-6);
  EXPECT_NEAR(erf_fast(30.0f), 1.0f, 1e-7);
}

}  // namespace
}  // namespace dsignsgd
