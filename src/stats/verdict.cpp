#include "dsignsgd/stats/verdict.hpp"

#include <cmath>

namespace dsignsgd {

namespace verdict {

bool matches_prediction(double mean, double stderr_, double predicted, double relative) {
  return std::abs(mean - predicted) <= 3.0 * stderr_ + relative * std::abs(predicted);
}

bool at_or_below(double adjusted, double adjusted_stderr, double reference,
                 double reference_stderr) {
  return adjusted - reference <= 3.0 * std::hypot(adjusted_stderr, reference_stderr) + 0.05 * reference;
}

bool curves_agree(double a, double a_stderr, double b, double b_stderr) {
  return std::abs(a - b) <= 4.5 * std::hypot(a_stderr, b_stderr) + 0.05 * a;
}

bool stalled(double early, double late) {
  const double ratio = late / early;
  return ratio > 0.75 && ratio < 1.33;
}

bool converging(double early, double late, double stalled_floor) {
  return late / early < 0.75 && late < stalled_floor / 3.0;
}

bool breaks(int diverged, int runs, std::size_t live, double accuracy, double robust_accuracy) {
  return 2 * diverged >= runs || (live > 0 && accuracy < robust_accuracy);
}

}  // namespace verdict

}  // namespace dsignsgd
