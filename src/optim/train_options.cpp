#include "dsignsgd/optim/train_options.hpp"

#include <cmath>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"

namespace dsignsgd {
namespace {

constexpr std::int64_t kMaxSteps = std::int64_t{1} << 32;  // step index is a 32-bit counter

void require(bool ok, const char* option, const std::string& value, const char* constraint) {
  if (!ok) throw ConfigError(option, value, constraint);
}

}  // namespace

void TrainOptions::validate() const {
  const auto text = [](auto value) { return std::to_string(value); };
  require(workers >= 1, "workers", text(workers), "must be >= 1");
  require(workers <= (1 << 20), "workers", text(workers), "must be <= 2^20");
  if (runs) require(*runs >= 1, "runs", text(*runs), "must be >= 1");
  require(threads >= 0, "threads", text(threads), "must be >= 0");
  require(context >= 2 && context <= 4096, "context", text(context), "must be in [2, 4096]");
  if (eval_batch) require(*eval_batch >= 1, "eval-batch", text(*eval_batch), "must be >= 1");
  if (weight_decay) {
    require(*weight_decay >= 0.0 && std::isfinite(*weight_decay), "weight-decay",
            format_double(*weight_decay), "must be >= 0 and finite");
  }
  if (batch) require(*batch >= 1, "batch", text(*batch), "must be >= 1");
  if (lr) require(*lr > 0.0 && std::isfinite(*lr), "lr", format_double(*lr), "must be > 0 and finite");
  if (steps) require(*steps >= 1 && *steps < kMaxSteps, "steps", text(*steps), "must be in [1, 2^32)");
  if (warmup) require(*warmup >= 0, "warmup", text(*warmup), "must be >= 0");
  require(tail_fraction > 0.0 && tail_fraction <= 1.0, "tail-fraction",
          format_double(tail_fraction), "must be in (0, 1]");
  if (log_every) require(*log_every >= 1, "log-every", text(*log_every), "must be >= 1");
  require(momentum >= 0.0 && momentum < 1.0, "momentum", format_double(momentum),
          "must be in [0, 1)");
  // Infinity is refused like NaN (issue 30 item 6): none of these has a meaning at ∞.
  require(l0 >= 0.0 && std::isfinite(l0), "l0", format_double(l0), "must be >= 0 and finite");
  require(l1 >= 0.0 && std::isfinite(l1), "l1", format_double(l1), "must be >= 0 and finite");
  if (sigma0) {
    require(*sigma0 >= 0.0 && std::isfinite(*sigma0), "sigma0", format_double(*sigma0),
            "must be >= 0 and finite");
  }
  if (sigma1) {
    require(*sigma1 >= 0.0 && std::isfinite(*sigma1), "sigma1", format_double(*sigma1),
            "must be >= 0 and finite");
  }
  require(norm_floor > 0.0 && std::isfinite(norm_floor), "norm-floor", format_double(norm_floor),
          "must be > 0 and finite");
  require(agents_per_rank >= 1, "agents-per-rank", text(agents_per_rank), "must be >= 1");
  // Below a second an ordinary collective of a busy host times out, and the liveness check that
  // names the stopped rank needs 2 s of its own: the failure would blame a rank that is alive.
  require(comm_timeout >= 1.0 && comm_timeout <= 3600.0, "comm-timeout",
          format_double(comm_timeout), "must be in [1, 3600] seconds");
  require(checkpoint_every >= 0, "checkpoint-every", text(checkpoint_every), "must be >= 0");
  require(checkpoint_every == 0 || !checkpoint_dir.empty(), "checkpoint-every",
          text(checkpoint_every),
          "needs a place for the checkpoints: give --out (they go to OUT/checkpoint) or "
          "--checkpoint-dir");
  require(divergence_factor > 1.0 && std::isfinite(divergence_factor), "divergence-factor",
          format_double(divergence_factor), "must be > 1 and finite");
}

}  // namespace dsignsgd
