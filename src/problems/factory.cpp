#include <cmath>
#include <limits>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/problems/problem.hpp"
#include "dsignsgd/problems/quadratic.hpp"
#include "dsignsgd/problems/separable.hpp"

namespace dsignsgd {
namespace {

constexpr std::size_t kDefaultDim = 10;
constexpr std::size_t kMaxRotatedDim = 8192;  // dense d×d Hessian

}  // namespace

std::vector<double> parse_spectrum(const std::string& hessian, std::size_t dim) {
  const Spec spec = parse_spec(hessian);
  if (spec.name == "identity") {
    require_arg_count(spec, 0, "hessian", "identity");
    return std::vector<double>(dim, 1.0);
  }
  if (spec.name == "diag") {
    require_arg_count(spec, 1, "hessian", "diag:a,b,c");
    std::vector<double> values = parse_double_list(spec.args[0], "hessian");
    if (dim != 0 && values.size() != dim) {
      throw ConfigError("hessian", hessian,
                        "has " + std::to_string(values.size()) + " eigenvalues but --dim is " +
                            std::to_string(dim));
    }
    return values;
  }
  if (spec.name == "linspace" || spec.name == "logspace") {
    require_arg_count(spec, 2, "hessian", spec.name + ":a:b");
    const double a = parse_double(spec.args[0], "hessian");
    const double b = parse_double(spec.args[1], "hessian");
    std::vector<double> values(dim);
    for (std::size_t j = 0; j < dim; ++j) {
      const double t = dim == 1 ? 0.0 : static_cast<double>(j) / static_cast<double>(dim - 1);
      const double e = a + (b - a) * t;
      values[j] = spec.name == "linspace" ? e : std::pow(10.0, e);
    }
    return values;
  }
  throw ConfigError("hessian", hessian,
                    "must be one of identity, diag:a,b,..., linspace:a:b, logspace:a:b");
}

std::size_t ProblemOptions::resolved_dim() const {
  if (dim != 0) return dim;
  const Spec spec = parse_spec(hessian);
  if (spec.name == "diag" && spec.args.size() == 1) {
    return parse_double_list(spec.args[0], "hessian").size();
  }
  return kDefaultDim;
}

void ProblemOptions::validate() const {
  if (problem != "quadratic" && problem != "quartic" && problem != "cosh") {
    throw ConfigError("problem", problem, "must be one of quadratic, quartic, cosh");
  }
  const std::size_t d = resolved_dim();
  if (d == 0) throw ConfigError("dim", "0", "must be >= 1");
  if (d > std::numeric_limits<std::uint32_t>::max()) {
    throw ConfigError("dim", std::to_string(d), "must be < 2^32");
  }
  if (!std::isfinite(x0)) throw ConfigError("x0", format_double(x0), "must be finite");
  if (!std::isfinite(x_star)) throw ConfigError("x-star", format_double(x_star), "must be finite");
  if (problem == "quadratic") {
    // Checks the spectrum without materializing d eigenvalues (d may be huge and refused later).
    const Spec spec = parse_spec(hessian);
    std::vector<double> spectrum;
    if (spec.name == "linspace" || spec.name == "logspace") {
      require_arg_count(spec, 2, "hessian", spec.name + ":a:b");
      const double a = parse_double(spec.args[0], "hessian");
      const double b = parse_double(spec.args[1], "hessian");
      if (spec.name == "linspace") spectrum = {a, b};
    } else {
      spectrum = parse_spectrum(hessian, spec.name == "identity" ? 1 : d);
    }
    for (double lambda : spectrum) {
      if (!(lambda >= 0.0)) {
        throw ConfigError("hessian", hessian, "eigenvalues must be >= 0 (f bounded below)");
      }
    }
    if (rotate && d > kMaxRotatedDim) {
      throw ConfigError("rotate", "true",
                        "a rotated Hessian is dense; needs --dim <= " +
                            std::to_string(kMaxRotatedDim) + " (got " + std::to_string(d) + ")");
    }
  } else if (hessian != "identity") {
    throw ConfigError("hessian", hessian, "only applies to --problem quadratic");
  }
}

std::unique_ptr<Problem> make_problem(const ProblemOptions& options) {
  options.validate();
  const std::size_t d = options.resolved_dim();
  if (options.problem == "quartic") return std::make_unique<Quartic>(d, options.x_star);
  if (options.problem == "cosh") return std::make_unique<Cosh>(d, options.x_star);
  std::vector<double> spectrum = parse_spectrum(options.hessian, d);
  Eigen::MatrixXd rotation;
  if (options.rotate) rotation = random_rotation(d, options.seed);
  return std::make_unique<Quadratic>(std::move(spectrum), options.x_star, std::move(rotation));
}

}  // namespace dsignsgd
