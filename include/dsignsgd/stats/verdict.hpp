#pragma once
/// @file
/// The verdict rules of `dsignsgd reproduce` as pure functions of measured numbers and their
/// standard errors (tested on inputs with known answers, tests/reproduce_test.cpp).

#include <cstddef>

namespace dsignsgd {

/// The experiments' verdict rules as pure functions (tested on inputs with known answers).
namespace verdict {
/// A measured mean agrees with a prediction: |mean − predicted| ≤ 3 s.e. + relative·predicted.
bool matches_prediction(double mean, double stderr_, double predicted, double relative);
/// A scaled configuration is back at (or below) the reference floor: adjusted − reference ≤
/// 3 combined s.e. + 5 % of the reference.
bool at_or_below(double adjusted, double adjusted_stderr, double reference,
                 double reference_stderr);
/// Two mean curves agree at one time: |Δ| ≤ 4.5 combined s.e. + 5 % (the O(η) method–SDE gap).
bool curves_agree(double a, double a_stderr, double b, double b_stderr);
/// Late over early mean loss of one schedule: a stalled run keeps it within [0.75, 1.33];
/// a converging one drops it below 0.75 and ends below a third of the stalled floor.
bool stalled(double early, double late);
bool converging(double early, double late, double stalled_floor);
/// A method "breaks" under heavy tails when it loses half its runs or ends below the robust
/// method's mean accuracy.
bool breaks(int diverged, int runs, std::size_t live, double accuracy, double robust_accuracy);
}  // namespace verdict

}  // namespace dsignsgd
