// Softmax regression and the MLP: one implementation, the regression being an MLP without
// hidden layers.
#include <Eigen/Dense>
#include <cmath>
#include <numeric>

#include "dsignsgd/nn/model.hpp"
#include "dsignsgd/random/stream.hpp"
#include "matmul.hpp"

namespace dsignsgd {
namespace {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const Matrix>;
using Map = Eigen::Map<Matrix>;

/// c = op(a) · op(b) through the products of the machine's CPU level (nn/matmul.hpp).
void product(const float* a, bool transpose_a, const float* b, bool transpose_b, float* c,
             Eigen::Index m, Eigen::Index n, Eigen::Index k) {
  nn_detail::matmul({a, transpose_a, b, transpose_b, c, m, n, k});
}

class Mlp final : public Model {
 public:
  Mlp(std::size_t features, std::vector<std::size_t> hidden, std::size_t classes)
      : hidden_(std::move(hidden)) {
    widths_.push_back(features);
    for (std::size_t h : hidden_) widths_.push_back(h);
    widths_.push_back(classes);
    std::size_t offset = 0;
    for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
      weight_offset_.push_back(offset);
      offset += widths_[l + 1] * widths_[l];
      bias_offset_.push_back(offset);
      offset += widths_[l + 1];
    }
    parameters_ = offset;
  }

  std::string describe() const override {
    if (hidden_.empty()) return "softmax regression";
    std::string text = "mlp ";
    for (std::size_t l = 0; l < widths_.size(); ++l) {
      if (l > 0) text.push_back('-');
      text.append(std::to_string(widths_[l]));
    }
    return text;
  }
  std::size_t parameters() const override { return parameters_; }

  void initialize(std::span<float> params, std::uint64_t seed) const override {
    RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kSetup});
    std::fill(params.begin(), params.end(), 0.0f);
    for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
      const double scale = std::sqrt(2.0 / static_cast<double>(widths_[l]));  // He
      for (std::size_t i = 0; i < widths_[l + 1] * widths_[l]; ++i) {
        params[weight_offset_[l] + i] = static_cast<float>(scale * rng.normal());
      }
    }
  }

  double loss_and_gradient(std::span<const float> params, const Dataset& data,
                           std::span<const std::size_t> rows,
                           std::span<float> grad) const override {
    const Matrix x = gather(data, rows);
    const auto m = x.rows();
    std::vector<Matrix> activations;  // input of each layer
    activations.push_back(x);
    Matrix z;
    for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
      z.resize(m, static_cast<Eigen::Index>(widths_[l + 1]));
      product(activations.back().data(), false, params.data() + weight_offset_[l], true, z.data(),
              m, z.cols(), static_cast<Eigen::Index>(widths_[l]));
      z.rowwise() += bias(params, l);
      if (l + 2 < widths_.size()) activations.push_back(z.cwiseMax(0.0f));
    }
    // Softmax cross-entropy on the logits z.
    const Eigen::VectorXf row_max = z.rowwise().maxCoeff();
    Matrix p = (z.colwise() - row_max).array().exp().matrix();
    const Eigen::VectorXf sums = p.rowwise().sum();
    double loss = 0.0;
    for (Eigen::Index i = 0; i < m; ++i) {
      const int y = data.labels[rows.empty() ? static_cast<std::size_t>(i) : rows[i]];
      loss += std::log(static_cast<double>(sums[i])) - (z(i, y) - row_max[i]);
      p.row(i) /= sums[i];
    }
    loss /= static_cast<double>(m);
    if (grad.empty()) return loss;
    // Backward: δ = (P − Y)/m at the logits, then through the layers.
    Matrix delta = p;
    for (Eigen::Index i = 0; i < m; ++i) {
      delta(i, data.labels[rows.empty() ? static_cast<std::size_t>(i) : rows[i]]) -= 1.0f;
    }
    delta /= static_cast<float>(m);
    for (std::size_t l = widths_.size() - 1; l-- > 0;) {
      Map dw(grad.data() + weight_offset_[l], static_cast<Eigen::Index>(widths_[l + 1]),
             static_cast<Eigen::Index>(widths_[l]));
      product(delta.data(), true, activations[l].data(), false, dw.data(), dw.rows(), dw.cols(), m);
      Eigen::Map<Eigen::RowVectorXf> db(grad.data() + bias_offset_[l],
                                        static_cast<Eigen::Index>(widths_[l + 1]));
      db = delta.colwise().sum();
      if (l > 0) {
        Matrix back(m, static_cast<Eigen::Index>(widths_[l]));
        product(delta.data(), false, params.data() + weight_offset_[l], false, back.data(), m,
                back.cols(), delta.cols());
        delta = (activations[l].array() > 0.0f).select(back, 0.0f);
      }
    }
    return loss;
  }

  double accuracy(std::span<const float> params, const Dataset& data) const override {
    std::size_t correct = 0;
    constexpr std::size_t kBlock = 1024;
    std::vector<std::size_t> rows;
    for (std::size_t begin = 0; begin < data.samples; begin += kBlock) {
      rows.resize(std::min(kBlock, data.samples - begin));
      std::iota(rows.begin(), rows.end(), begin);
      Matrix a = gather(data, rows);
      for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
        Matrix z(a.rows(), static_cast<Eigen::Index>(widths_[l + 1]));
        product(a.data(), false, params.data() + weight_offset_[l], true, z.data(), a.rows(),
                z.cols(), a.cols());
        z.rowwise() += bias(params, l);
        a = l + 2 < widths_.size() ? Matrix(z.cwiseMax(0.0f)) : z;
      }
      for (Eigen::Index i = 0; i < a.rows(); ++i) {
        Eigen::Index best = 0;
        a.row(i).maxCoeff(&best);
        correct += static_cast<int>(best) == data.labels[rows[static_cast<std::size_t>(i)]];
      }
    }
    return static_cast<double>(correct) / static_cast<double>(data.samples);
  }

 private:
  Matrix gather(const Dataset& data, std::span<const std::size_t> rows) const {
    const std::size_t m = rows.empty() ? data.samples : rows.size();
    Matrix x(static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(data.features));
    for (std::size_t i = 0; i < m; ++i) {
      const float* source = data.row(rows.empty() ? i : rows[i]);
      std::copy(source, source + data.features, x.row(static_cast<Eigen::Index>(i)).data());
    }
    return x;
  }
  Eigen::Map<const Matrix> weight(std::span<const float> params, std::size_t l) const {
    return {params.data() + weight_offset_[l], static_cast<Eigen::Index>(widths_[l + 1]),
            static_cast<Eigen::Index>(widths_[l])};
  }
  Eigen::Map<const Eigen::RowVectorXf> bias(std::span<const float> params, std::size_t l) const {
    return {params.data() + bias_offset_[l], static_cast<Eigen::Index>(widths_[l + 1])};
  }

  std::vector<std::size_t> hidden_;
  std::vector<std::size_t> widths_;
  std::vector<std::size_t> weight_offset_;
  std::vector<std::size_t> bias_offset_;
  std::size_t parameters_ = 0;
};

}  // namespace

std::unique_ptr<Model> make_softmax_regression(std::size_t features, std::size_t classes) {
  return std::make_unique<Mlp>(features, std::vector<std::size_t>{}, classes);
}

std::unique_ptr<Model> make_mlp(std::size_t features, const std::vector<std::size_t>& hidden,
                                std::size_t classes) {
  return std::make_unique<Mlp>(features, hidden, classes);
}

}  // namespace dsignsgd
