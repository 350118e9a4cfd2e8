// The flags of `train` and `sde`, shared by the program and the Python package (options.hpp).
#include "options.hpp"

#include "dsignsgd/core/join.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/nn/data_problem.hpp"
#include "dsignsgd/optim/method.hpp"

namespace dsignsgd::cli {

const CLI::Validator& whole_number() {
  static const CLI::Validator validator(
      [](std::string& text) {
        const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char ch) {
          return ch >= '0' && ch <= '9';
        });
        if (!digits)
          return "invalid value '" + text + "': must be a whole number >= 0 (digits only)";
        std::uint64_t value = 0;  // CLI11 alone saturates or wraps beyond 2^64 − 1
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        return error == std::errc() && end == text.data() + text.size()
                   ? std::string()
                   : "invalid value '" + text + "': must be at most 2^64 − 1";
      },
      "");
  return validator;
}

/// Decimal digits with an optional sign (none for unsigned flags), leading zeros dropped: "010" is
/// ten — CLI11 alone would read a leading 0 as octal (eight) and "0x10" as hexadecimal.
CLI::Validator decimal_integer(bool is_unsigned) {
  return CLI::Validator(
      [is_unsigned](std::string& text) {
        const std::size_t sign =
            !is_unsigned && !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
        const bool digits =
            text.size() > sign && std::all_of(text.begin() + static_cast<std::ptrdiff_t>(sign),
                                              text.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
        if (!digits) {
          return "invalid value '" + text + "': must be a " +
                 (is_unsigned ? "whole number >= 0" : "decimal whole number") + " (digits only)";
        }
        const std::size_t first = text.find_first_not_of('0', sign);
        const std::string magnitude = first == std::string::npos ? "0" : text.substr(first);
        const std::string normalized = (text[0] == '-' && magnitude != "0" ? "-" : "") + magnitude;
        // Beyond 64 bits CLI11 saturates, and the message would quote 2^63 − 1, not what was
        // typed: refuse here, quoting the text.
        std::int64_t signed_value = 0;
        std::uint64_t unsigned_value = 0;
        const char* begin = normalized.data();
        const char* end = begin + normalized.size();
        const auto [stop, error] = is_unsigned ? std::from_chars(begin, end, unsigned_value)
                                               : std::from_chars(begin, end, signed_value);
        if (error != std::errc() || stop != end) {
          return "invalid value '" + text + "': " +
                 (is_unsigned ? std::string("must be at most 2^64 − 1")
                              : std::string("must be in [−2^63, 2^63 − 1]"));
        }
        text = normalized;
        return std::string();
      },
      "");
}

/// Decimal (no hexadecimal); the text is remembered as typed, so that a refusal of the number it
/// parsed to ("0.99999999999999999" is 1) also quotes what was typed (remember_typed_number).
CLI::Validator decimal_real(std::string option) {
  return CLI::Validator(
      [option = std::move(option)](std::string& text) {
        if (text.find_first_of("xX") != std::string::npos) {
          return "invalid value '" + text + "': must be a decimal number (no hexadecimal)";
        }
        remember_typed_number(option, text);
        return std::string();
      },
      "");
}

void require_decimal_numbers(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    const std::string type = option->get_type_name();
    if (type == "INT" || type == "UINT") option->transform(decimal_integer(type == "UINT"));
    if (type == "FLOAT") option->check(decimal_real(option->get_single_name()));
  }
  for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    require_decimal_numbers(*sub);
  }
}

namespace {

/// The method, its compressor, the problem and the noise.
void add_model_options(CLI::App& c, TrainOptions& o) {
  const std::string methods = join(method_names(), " | ");
  std::string compressors = "default: the method's own. One of:";
  for (const auto& line : compressor_help()) compressors += "\n  " + line;

  c.add_option("--method", o.method, "distributed method: " + methods)->capture_default_str();
  c.add_option("--compressor", o.compressor, compressors);
  std::string problems = "quadratic | quartic | cosh (synthetic) | data sets:";
  for (const auto& name : data_problem_names()) problems += " " + name;

  c.add_option("--problem", o.problem.problem, problems)->capture_default_str();
  c.add_option("--dim", o.problem.dim,
               "dimension d (default 10, or the length of --hessian diag:…; data problems: the "
               "model's)")
      ->check(whole_number());
  c.add_option("--hessian", o.problem.hessian,
               "quadratic spectrum: identity | diag:a,b,… | linspace:a:b | logspace:a:b")
      ->capture_default_str();
  c.add_flag("--rotate", o.problem.rotate, "random orthogonal rotation of the Hessian");
  c.add_option("--x0", o.problem.x0, "start point, every coordinate")->capture_default_str();
  c.add_option("--x-star", o.problem.x_star, "minimizer, every coordinate")->capture_default_str();
  c.add_option("--noise", o.noise,
               "none | gaussian:σ | student:ν:σ | cauchy:σ | affine:σ0:σ1 | relative:σ "
               "(default gaussian:1; data problems: injected on top of the minibatch gradient, "
               "default none)");
  c.add_option("--agent-scales", o.agent_scales, "per-agent noise multipliers s1,…,sN");
  c.add_option("--workers", o.workers, "number of agents N")->capture_default_str();
}

/// Batch, step size, schedule and the ensemble.
void add_run_options(CLI::App& c, TrainOptions& o) {
  // Defaults in brackets; data problems take their recipe for the method (docs/DATA.md) first.
  c.add_option("--batch", o.batch, "batch size B (noise = mean of B draws) [1]");
  c.add_option("--lr", o.lr, "learning rate η [0.01]");
  c.add_option("--schedule", o.schedule, "const | invsqrt | inv | cosine [const]");
  c.add_option("--warmup", o.warmup, "linear warm-up steps [0]");
  c.add_option("--steps", o.steps, "iterations K [1000]");
  c.add_option("--runs", o.runs, "independent runs R [8]");
  c.add_option("--seed", o.seed, "master seed")->check(whole_number())->capture_default_str();
  c.add_option("--tail-fraction", o.tail_fraction,
               "tail_loss averages the loss over the last q·K steps")
      ->capture_default_str();
  c.add_option("--log-every", o.log_every,
               "metrics row every E steps (default: about 200 rows; data problems: about 20)");
  c.add_option("--threads", o.threads, "worker threads (0: all cores)")->capture_default_str();
}

/// The method's own settings (signum, normalized-dcsgd).
void add_method_settings(CLI::App& c, TrainOptions& o) {
  c.add_option("--momentum", o.momentum, "β of signum")->capture_default_str();
  c.add_option("--normalization", o.normalization,
               "normalized-dcsgd: plain (η/||ĝ||) | adaptive ([B] Thm 4.2)")
      ->capture_default_str();
  c.add_option("--l0", o.l0, "L0 of the adaptive normalization")->capture_default_str();
  c.add_option("--l1", o.l1, "L1 of the adaptive normalization")->capture_default_str();
  c.add_option("--sigma0", o.sigma0, "σ0 of the adaptive normalization (default: from --noise)");
  c.add_option("--sigma1", o.sigma1, "σ1 of the adaptive normalization (default: from --noise)");
  c.add_option("--norm-floor", o.norm_floor, "normalized step divides by max(||ĝ||, floor)")
      ->capture_default_str();
}

void add_backend_options(CLI::App& c, TrainOptions& o) {
  c.add_option("--backend", o.backend,
               "local (N agents in this process) | mpi (start with mpirun; A agents per rank)")
      ->capture_default_str();
  c.add_option("--agents-per-rank", o.agents_per_rank, "mpi: agents per rank A (N = ranks · A)")
      ->capture_default_str();
  c.add_option("--comm-timeout", o.comm_timeout,
               "mpi: seconds a collective may wait before the job stops with an error")
      ->capture_default_str();
  c.add_option("--reduction", o.reduction,
               "mpi: fixed (allgather, bit-identical to in-process) | allreduce (dsgd: "
               "ring allreduce) | reduce-scatter (sign methods: counts, bytes ~ d·log N)")
      ->capture_default_str();
}

void add_data_options(CLI::App& c, TrainOptions& o) {
  c.add_option("--data-dir", o.data_dir,
               "data problems: directory of scripts/install_data.sh (default: $DSIGNSGD_DATA_DIR, "
               "else the one this build recorded)")
      ->capture_default_str();
  c.add_option("--hidden", o.hidden, "data problems: MLP hidden widths w1,w2,…")
      ->capture_default_str();
  c.add_option("--arch", o.arch,
               "torch models: cnn channels=16:32,fc=0 | transformer width=64,layers=2,heads=4")
      ->capture_default_str();
  c.add_option("--context", o.context, "text problems: characters of context per window")
      ->capture_default_str();
  c.add_option("--split", o.split, "data problems: iid | label-skew shards")->capture_default_str();
  c.add_option("--eval-batch", o.eval_batch,
               "data problems: training rows of the per-step loss [512]");
  c.add_option("--weight-decay", o.weight_decay,
               "data problems: λ; every agent's gradient gets + λ x (L2 regularization) [0]");
  c.add_option("--divergence-factor", o.divergence_factor,
               "a run diverged when f > factor·max(f(x0), 1) or f is not finite")
      ->capture_default_str();
}

}  // namespace

void add_train_options(CLI::App& c, TrainOptions& o) {
  add_model_options(c, o);
  add_run_options(c, o);
  add_method_settings(c, o);
  add_backend_options(c, o);
  add_data_options(c, o);
}

void add_checkpoint_options(CLI::App& c, TrainOptions& o) {
  c.add_option("--checkpoint-every", o.checkpoint_every,
               "write a checkpoint every K steps (SIGINT/SIGTERM always write one)")
      ->capture_default_str();
  c.add_option("--checkpoint-dir", o.checkpoint_dir,
               "checkpoint directory (default: OUT/checkpoint; none without --out)");
  c.add_option("--resume", o.resume, "continue from the checkpoints in this directory");
}

void add_sde_options(CLI::App& c, SdeOptions& sde) {
  c.add_option("--drift-correction", sde.drift_correction,
               "none | classic (−(η/2) J_φ φ) | stability ([B]: +(η/2) J_φ φ); docs/SDE.md")
      ->capture_default_str();
  c.add_option("--integrator", sde.integrator, "euler (weak order 1) | platen2 (weak order 2)")
      ->capture_default_str();
  c.add_option("--substeps", sde.substeps,
               "M substeps per discrete step (power of two; Brownian bridge refinement)")
      ->capture_default_str();
  c.add_option("--compression-covariance", sde.compression_covariance,
               "DCSGD: exact (rand-k) | surrogate (ω diag(E[(∇f+Z)²])) | monte-carlo "
               "(default: exact for rand-k, surrogate otherwise)");
}

void parse_arguments(CLI::App& parser, const std::vector<std::string>& args,
                     const std::string& option_name) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses from the back
  require_decimal_numbers(parser);
  forget_typed_numbers();
  try {
    parser.parse(reversed);
  } catch (const CLI::Success&) {  // --help, --version: print and exit 0 — never from settings
    std::string asked = "--help";
    for (const std::string& arg : args) {
      if (arg.rfind("--help", 0) == 0 || arg.rfind("--version", 0) == 0 || arg == "-h") asked = arg;
    }
    const std::string text = asked.substr(asked.find_first_not_of('-'));
    const std::size_t equals = text.find('=');
    throw ConfigError(option_name.empty() ? text.substr(0, equals) : option_name,
                      option_name.empty() && equals != std::string::npos ? text.substr(equals + 1)
                                                                         : text,
                      "--help and --version are not settings (nothing would run)");
  } catch (const CLI::ParseError& e) {
    // Name the argument at fault: the one whose --key the parser's message mentions.
    const std::string what = e.what();
    std::string culprit = args.empty() ? "" : args.back();
    std::size_t longest = 2;  // "--lr" must not win over "--lr-…" when both appear
    for (const std::string& arg : args) {
      const std::string key = arg.substr(0, arg.find('='));
      if (key.size() > longest && what.find(key) != std::string::npos) {
        culprit = arg;
        longest = key.size();
      }
    }
    if (!option_name.empty()) throw ConfigError(option_name, culprit, what);
    const auto equals = culprit.find('=');
    throw ConfigError(culprit.substr(2, equals == std::string::npos ? std::string::npos : equals - 2),
                      equals == std::string::npos ? "" : culprit.substr(equals + 1), what);
  }
}

void parse_train_arguments(TrainOptions& options, const std::vector<std::string>& args,
                           const std::string& option_name) {
  CLI::App parser{"", "train"};
  add_train_options(parser, options);
  add_checkpoint_options(parser, options);
  parse_arguments(parser, args, option_name);
}

void parse_sde_arguments(TrainOptions& options, SdeOptions& sde,
                         const std::vector<std::string>& args, const std::string& option_name) {
  CLI::App parser{"", "sde"};
  add_train_options(parser, options);
  add_sde_options(parser, sde);
  parse_arguments(parser, args, option_name);
}

}  // namespace dsignsgd::cli
