#pragma once
// Named tensors laid out back to back in one flat float buffer: the torch models' parameters are
// views (narrow + view) of a tensor wrapping the caller's buffer, so gradients come back flat.
#include <torch/torch.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace dsignsgd::torch_detail {

struct Slot {
  enum class Init { kZero, kOne, kNormal };
  std::string name;
  std::vector<std::int64_t> shape;
  std::size_t offset = 0;
  std::size_t size = 0;
  Init init = Init::kZero;
  double scale = 0.0;  ///< standard deviation of kNormal
};

class FlatLayout {
 public:
  /// Appends a tensor; returns its index.
  std::size_t add(std::string name, std::vector<std::int64_t> shape, Slot::Init init,
                  double scale = 0.0) {
    Slot slot{std::move(name), std::move(shape), total_, 1, init, scale};
    for (std::int64_t extent : slot.shape) slot.size *= static_cast<std::size_t>(extent);
    total_ += slot.size;
    slots_.push_back(std::move(slot));
    return slots_.size() - 1;
  }
  std::size_t total() const { return total_; }
  const std::vector<Slot>& slots() const { return slots_; }

  /// Views of every slot into `flat` (a 1-D tensor of total() floats).
  std::vector<torch::Tensor> views(const torch::Tensor& flat) const {
    std::vector<torch::Tensor> out;
    out.reserve(slots_.size());
    for (const Slot& s : slots_) {
      out.push_back(flat.narrow(0, static_cast<std::int64_t>(s.offset),
                                static_cast<std::int64_t>(s.size))
                        .view(s.shape));
    }
    return out;
  }

 private:
  std::vector<Slot> slots_;
  std::size_t total_ = 0;
};

/// A 1-D float tensor over the caller's buffer (no copy). The buffer is only read.
inline torch::Tensor wrap(std::span<const float> buffer, bool requires_grad) {
  return torch::from_blob(const_cast<float*>(buffer.data()),
                          {static_cast<std::int64_t>(buffer.size())},
                          torch::TensorOptions().dtype(torch::kFloat32).requires_grad(requires_grad));
}

}  // namespace dsignsgd::torch_detail
