#include <algorithm>
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

Spectrum Spectrum::parse(const std::string& text) {
  const Spec spec = parse_spec(text);
  Spectrum out;
  out.text = text;
  if (spec.name == "identity") {
    require_arg_count(spec, 0, "hessian", "identity");
    out.kind = Kind::kIdentity;
  } else if (spec.name == "diag") {
    require_arg_count(spec, 1, "hessian", "diag:a,b,c");
    out.kind = Kind::kDiag;
    out.values = parse_double_list(spec.args[0], "hessian");
  } else if (spec.name == "linspace" || spec.name == "logspace") {
    require_arg_count(spec, 2, "hessian", spec.name + ":a:b");
    out.kind = spec.name == "linspace" ? Kind::kLinspace : Kind::kLogspace;
    out.a = parse_double(spec.args[0], "hessian");
    out.b = parse_double(spec.args[1], "hessian");
  } else {
    throw ConfigError("hessian", text,
                      "must be one of identity, diag:a,b,..., linspace:a:b, logspace:a:b");
  }
  // Checks the eigenvalues without materializing d of them (d may be huge and refused later).
  std::vector<double> extremes = out.values;
  if (out.kind == Kind::kLinspace) extremes = {out.a, out.b};
  if (out.kind == Kind::kLogspace && (std::fabs(out.a) > 300.0 || std::fabs(out.b) > 300.0)) {
    // 10^a must be a finite, normal double (found by fuzz_spec: logspace:-1:1e31 gave inf).
    throw ConfigError("hessian", text, "exponents of logspace:a:b must be in [-300, 300]");
  }
  for (double lambda : extremes) {
    if (!(lambda >= 0.0)) {
      throw ConfigError("hessian", text, "eigenvalues must be >= 0 (f bounded below)");
    }
  }
  return out;
}

std::optional<std::size_t> Spectrum::implied_dim() const {
  if (kind == Kind::kDiag) return values.size();
  return std::nullopt;
}

std::vector<double> Spectrum::eigenvalues(std::size_t dim) const {
  switch (kind) {
    case Kind::kIdentity:
      return std::vector<double>(dim, 1.0);
    case Kind::kDiag:
      return values;
    case Kind::kLinspace:
    case Kind::kLogspace:
      break;
  }
  std::vector<double> out(dim);
  for (std::size_t j = 0; j < dim; ++j) {
    const double t = dim == 1 ? 0.0 : static_cast<double>(j) / static_cast<double>(dim - 1);
    const double e = a + (b - a) * t;
    out[j] = kind == Kind::kLinspace ? e : std::pow(10.0, e);
  }
  return out;
}

std::vector<double> parse_spectrum(const std::string& hessian, std::size_t dim) {
  const Spectrum spectrum = Spectrum::parse(hessian);
  if (spectrum.kind == Spectrum::Kind::kDiag && dim != 0 && spectrum.values.size() != dim) {
    throw ConfigError("hessian", hessian,
                      "has " + std::to_string(spectrum.values.size()) +
                          " eigenvalues but --dim is " + std::to_string(dim));
  }
  return spectrum.eigenvalues(dim);
}

std::vector<std::string> synthetic_problem_names() { return {"quadratic", "quartic", "cosh"}; }

ProblemSpec ProblemSpec::resolve(const ProblemOptions& options) {
  const std::vector<std::string> names = synthetic_problem_names();
  if (std::find(names.begin(), names.end(), options.problem) == names.end()) {
    throw ConfigError("problem", options.problem, "must be one of quadratic, quartic, cosh");
  }
  ProblemSpec spec;
  spec.name = options.problem;
  spec.rotate = options.rotate;
  spec.x_star = options.x_star;
  spec.x0 = options.x0;
  spec.seed = options.seed;
  if (spec.name == "quadratic") {
    spec.spectrum = Spectrum::parse(options.hessian);
  } else if (options.hessian != "identity") {
    throw ConfigError("hessian", options.hessian, "only applies to --problem quadratic");
  }
  const std::optional<std::size_t> implied = spec.spectrum.implied_dim();
  if (options.dim && implied && *options.dim != *implied) {
    throw ConfigError("hessian", options.hessian,
                      "has " + std::to_string(*implied) + " eigenvalues but --dim is " +
                          std::to_string(*options.dim));
  }
  spec.dim = options.dim ? *options.dim : implied.value_or(kDefaultDim);
  if (spec.dim == 0) throw ConfigError("dim", "0", "must be >= 1");
  if (spec.dim > std::numeric_limits<std::uint32_t>::max()) {
    throw ConfigError("dim", std::to_string(spec.dim), "must be < 2^32");
  }
  if (!std::isfinite(spec.x0)) throw ConfigError("x0", format_double(spec.x0), "must be finite");
  if (!std::isfinite(spec.x_star)) {
    throw ConfigError("x-star", format_double(spec.x_star), "must be finite");
  }
  if (spec.rotate && spec.name == "quadratic" && spec.dim > kMaxRotatedDim) {
    throw ConfigError("rotate", "true",
                      "a rotated Hessian is dense; needs --dim <= " +
                          std::to_string(kMaxRotatedDim) + " (got " + std::to_string(spec.dim) +
                          ")");
  }
  return spec;
}

std::unique_ptr<Problem> make_problem(const ProblemSpec& spec) {
  const std::size_t d = spec.dim;
  if (spec.name == "quartic") return std::make_unique<Quartic>(d, spec.x_star);
  if (spec.name == "cosh") return std::make_unique<Cosh>(d, spec.x_star);
  std::vector<double> spectrum = spec.spectrum.eigenvalues(d);
  Eigen::MatrixXd rotation;
  if (spec.rotate) rotation = random_rotation(d, spec.seed);
  return std::make_unique<Quadratic>(std::move(spectrum), spec.x_star, std::move(rotation));
}

std::unique_ptr<Problem> make_problem(const ProblemOptions& options) {
  return make_problem(ProblemSpec::resolve(options));
}

}  // namespace dsignsgd
