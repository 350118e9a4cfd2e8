#pragma once
/// @file
/// Per-agent transformations between the stochastic gradient and the encoder. Each agent owns its
/// filter and therefore its state (momentum buffer, error memory).
///   momentum        m ← β m + (1 − β) g;  encode m                     (Signum, Bernstein 2018)
///   error feedback  p ← g + e;  encode p;  e ← p − C(p)                 (EF-SignSGD,
///                   Karimireddy et al. 2019, with the step size applied after aggregation —
///                   identical to their update for a constant schedule)

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace dsignsgd {

class AgentFilter {
 public:
  virtual ~AgentFilter() = default;
  /// Transforms the stochastic gradient in place into the vector to encode.
  virtual void before_encode(std::span<float> g) = 0;
  /// Whether after_encode needs what the receiver decodes.
  virtual bool needs_decoded() const { return false; }
  /// `sent` is the vector that was encoded, `decoded` the receiver's view of it.
  virtual void after_encode(std::span<const float> /*sent*/, std::span<const float> /*decoded*/) {}
  /// The memory a checkpoint keeps (momentum buffer, error memory).
  virtual const std::vector<float>& state() const = 0;
  virtual void restore(std::vector<float> state) = 0;
};

/// Builds one agent's filter for dimension d; null means "no filter".
using AgentFilterFactory = std::function<std::unique_ptr<AgentFilter>(std::size_t d)>;

class MomentumFilter final : public AgentFilter {
 public:
  MomentumFilter(std::size_t d, double beta)
      : momentum_(d, 0.0f), beta_(static_cast<float>(beta)) {}
  void before_encode(std::span<float> g) override;
  const std::vector<float>& state() const override { return momentum_; }
  void restore(std::vector<float> state) override { momentum_ = std::move(state); }

 private:
  std::vector<float> momentum_;
  float beta_;
};

/// Error feedback's two halves on caller-owned memory (the filter below and the PyTorch hooks,
/// whose memory lives in tensors): g ← g + e before encoding, e ← sent − decoded after.
void add_error_memory(std::span<float> g, std::span<const float> error);
void update_error_memory(std::span<const float> sent, std::span<const float> decoded,
                         std::span<float> error);

class ErrorFeedbackFilter final : public AgentFilter {
 public:
  explicit ErrorFeedbackFilter(std::size_t d) : error_(d, 0.0f) {}
  void before_encode(std::span<float> g) override;
  bool needs_decoded() const override { return true; }
  void after_encode(std::span<const float> sent, std::span<const float> decoded) override;
  const std::vector<float>& state() const override { return error_; }
  void restore(std::vector<float> state) override { error_ = std::move(state); }

 private:
  std::vector<float> error_;
};

}  // namespace dsignsgd
