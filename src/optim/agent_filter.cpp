#include "dsignsgd/optim/agent_filter.hpp"

namespace dsignsgd {

void MomentumFilter::before_encode(std::span<float> g) {
  const float one_minus_beta = 1.0f - beta_;
  for (std::size_t j = 0; j < g.size(); ++j) {
    momentum_[j] = beta_ * momentum_[j] + one_minus_beta * g[j];
    g[j] = momentum_[j];
  }
}

void ErrorFeedbackFilter::before_encode(std::span<float> g) {
  for (std::size_t j = 0; j < g.size(); ++j) g[j] += error_[j];
}

void ErrorFeedbackFilter::after_encode(std::span<const float> sent,
                                       std::span<const float> decoded) {
  for (std::size_t j = 0; j < sent.size(); ++j) error_[j] = sent[j] - decoded[j];
}

}  // namespace dsignsgd
