#pragma once
/// @file
/// Objective functions f: R^d -> R with exact gradients. The noise model (noise/) turns the exact
/// gradient into an agent's stochastic gradient; problems themselves are deterministic.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dsignsgd {

/// (L0, L1)-smoothness constants: ||∇²f(x)|| <= L0 + L1 ||∇f(x)||. L1 = 0 means L-smooth, L = L0.
struct SmoothnessConstants {
  double l0 = 0.0;
  double l1 = 0.0;
};

class Problem {
 public:
  virtual ~Problem() = default;

  virtual std::size_t dim() const = 0;
  /// Canonical description, e.g. "quadratic(linspace:1:10, rotated)".
  virtual std::string describe() const = 0;

  /// f(x), accumulated in double.
  virtual double loss(std::span<const float> x) const = 0;
  /// Writes ∇f(x) into grad and returns f(x).
  virtual double loss_and_gradient(std::span<const float> x, std::span<float> grad) const = 0;

  /// out = ∇²f(x) v (used by the SDE drift corrections).
  virtual void hessian_vector(std::span<const float> x, std::span<const float> v,
                              std::span<float> out) const = 0;

  /// True when f(x) = Σ_j f_j(x_j) (diagonal Hessian): ∂_j f depends on x_j only.
  virtual bool separable() const { return false; }

  /// min f (0 for every shipped problem).
  virtual double optimal_loss() const { return 0.0; }
  virtual SmoothnessConstants smoothness() const = 0;
  /// Eigenvalues of the (constant) Hessian, for quadratics; empty otherwise.
  virtual std::vector<double> hessian_eigenvalues() const { return {}; }
};

/// Options shared by the problem factory; keys match the CLI flags.
struct ProblemOptions {
  std::string problem = "quadratic";  ///< quadratic | quartic | cosh
  std::size_t dim = 0;                ///< 0: take it from --hessian diag:… or default to 10
  std::string hessian = "identity";   ///< identity | diag:a,b,… | linspace:a:b | logspace:a:b
  bool rotate = false;                ///< random orthogonal rotation of the Hessian (quadratic)
  double x_star = 0.0;                ///< every coordinate of the minimizer
  double x0 = 1.0;                    ///< every coordinate of the start point
  std::uint64_t seed = 0;             ///< seed of the rotation

  /// Throws ConfigError naming the option that is invalid.
  void validate() const;
  /// The dimension after taking --hessian diag:… into account.
  std::size_t resolved_dim() const;
};

/// Builds the problem; throws ConfigError on invalid options.
std::unique_ptr<Problem> make_problem(const ProblemOptions& options);

/// Eigenvalues d from a --hessian specification (identity | diag | linspace | logspace).
std::vector<double> parse_spectrum(const std::string& hessian, std::size_t dim);

}  // namespace dsignsgd
