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

/// A quadratic's spectrum as given by --hessian ("identity", "diag:a,b,…", "linspace:a:b",
/// "logspace:a:b"), parsed once. The eigenvalues themselves are made only for a dimension.
struct Spectrum {
  enum class Kind { kIdentity, kDiag, kLinspace, kLogspace };
  Kind kind = Kind::kIdentity;
  double a = 1.0;              ///< linspace / logspace: first end point (logspace: exponent)
  double b = 1.0;              ///< last end point
  std::vector<double> values;  ///< diag: the eigenvalues
  std::string text = "identity";

  /// Throws ConfigError for option "hessian" (form, numbers, negative eigenvalues).
  static Spectrum parse(const std::string& text);
  /// diag:… fixes the dimension; the other forms do not.
  std::optional<std::size_t> implied_dim() const;
  /// λ_1 … λ_d (λ_j = a + (b − a)(j/(d−1)) for linspace, 10^that for logspace).
  std::vector<double> eigenvalues(std::size_t dim) const;
};

/// What the user typed for a problem (flags --problem --dim --hessian --rotate --x0 --x-star).
struct ProblemOptions {
  std::string problem = "quadratic";  ///< quadratic | quartic | cosh | a data problem
  std::optional<std::size_t> dim;     ///< unset: from --hessian diag:…, else 10
  std::string hessian = "identity";   ///< identity | diag:a,b,… | linspace:a:b | logspace:a:b
  bool rotate = false;                ///< random orthogonal rotation of the Hessian (quadratic)
  double x_star = 0.0;                ///< every coordinate of the minimizer
  double x0 = 1.0;                    ///< every coordinate of the start point
  std::uint64_t seed = 0;             ///< seed of the rotation
};

/// A synthetic problem, resolved: every field parsed and checked, the dimension decided.
struct ProblemSpec {
  std::string name = "quadratic";  ///< quadratic | quartic | cosh (or a data problem's name)
  /// d of a synthetic problem. A data problem's dimension is its model's parameter count, known
  /// once its data is loaded (ProblemSource::dim()); here it stays 0.
  std::size_t dim = 10;
  Spectrum spectrum;
  bool rotate = false;
  double x_star = 0.0;
  double x0 = 1.0;
  std::uint64_t seed = 0;  ///< seed of the rotation

  /// Parses and checks a synthetic problem's options; throws ConfigError naming the option.
  static ProblemSpec resolve(const ProblemOptions& options);
};

/// The names of the synthetic problems.
std::vector<std::string> synthetic_problem_names();

/// Builds the problem.
std::unique_ptr<Problem> make_problem(const ProblemSpec& spec);
/// Resolves, then builds (throws ConfigError on invalid options).
std::unique_ptr<Problem> make_problem(const ProblemOptions& options);

/// Eigenvalues from a --hessian specification for dimension d (d = 0: diag's own length).
std::vector<double> parse_spectrum(const std::string& hessian, std::size_t dim);

}  // namespace dsignsgd
