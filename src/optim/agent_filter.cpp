#include "dsignsgd/optim/agent_filter.hpp"

namespace dsignsgd {

void MomentumFilter::before_encode(std::span<float> g) {
  const float one_minus_beta = 1.0f - beta_;
  for (std::size_t j = 0; j < g.size(); ++j) {
    momentum_[j] = beta_ * momentum_[j] + one_minus_beta * g[j];
    g[j] = momentum_[j];
  }
}

void add_error_memory(std::span<float> g, std::span<const float> error) {
  for (std::size_t j = 0; j < g.size(); ++j) g[j] += error[j];
}

void update_error_memory(std::span<const float> sent, std::span<const float> decoded,
                         std::span<float> error) {
  for (std::size_t j = 0; j < sent.size(); ++j) error[j] = sent[j] - decoded[j];
}

void ErrorFeedbackFilter::before_encode(std::span<float> g) { add_error_memory(g, error_); }

void ErrorFeedbackFilter::after_encode(std::span<const float> sent,
                                       std::span<const float> decoded) {
  update_error_memory(sent, decoded, error_);
}

}  // namespace dsignsgd
