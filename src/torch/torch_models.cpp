// The CNN and the causal transformer of the libtorch component, written functionally over views of
// one flat parameter tensor (flat_layout.hpp): no torch::nn module state, so one model object can
// serve every run's oracle from several threads at once.
#include "dsignsgd/torch/torch_models.hpp"

#include <dlfcn.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/nn/model.hpp"
#include "dsignsgd/random/stream.hpp"
#include "flat_layout.hpp"

namespace dsignsgd {
namespace {

using torch_detail::FlatLayout;
using torch_detail::Slot;
using torch_detail::wrap;

/// "key=value,key=value" with integer values; every key must be one of `defaults`' keys.
std::map<std::string, std::string> parse_arch(const std::string& text, const std::string& model,
                                              std::map<std::string, std::string> defaults) {
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(begin, end - begin);
    const std::size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    if (eq == std::string::npos || defaults.count(key) == 0) {
      std::string keys;
      for (const auto& [k, v] : defaults) keys += (keys.empty() ? "" : ", ") + k + "=" + v;
      throw ConfigError("arch", text, "the " + model + " takes key=value items among: " + keys);
    }
    defaults[key] = item.substr(eq + 1);
    begin = end + 1;
  }
  return defaults;
}

std::vector<std::int64_t> positive_list(const std::string& text, const std::string& arch,
                                        const std::string& key) {
  std::vector<std::int64_t> out;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find(':', begin);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(begin, end - begin);
    char* stop = nullptr;
    const long value = std::strtol(item.c_str(), &stop, 10);
    if (item.empty() || *stop != '\0' || value < 0 || value > 65536) {
      throw ConfigError("arch", arch, key + " must be integers in [0, 65536] separated by ':'");
    }
    out.push_back(value);
    begin = end + 1;
  }
  return out;
}

/// What both models share: the flat layout, deterministic initialization, the flat-gradient
/// round trip, batched evaluation without autograd.
class TorchModel : public Model {
 public:
  std::size_t parameters() const override { return layout_.total(); }

  void initialize(std::span<float> params, std::uint64_t seed) const override {
    RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kSetup});
    for (const Slot& s : layout_.slots()) {
      for (std::size_t i = 0; i < s.size; ++i) {
        float value = 0.0f;
        if (s.init == Slot::Init::kOne) value = 1.0f;
        if (s.init == Slot::Init::kNormal) value = static_cast<float>(s.scale * rng.normal());
        params[s.offset + i] = value;
      }
    }
  }

  double loss_and_gradient(std::span<const float> params, const Dataset& data,
                           std::span<const std::size_t> rows,
                           std::span<float> grad) const override {
    if (grad.empty()) return without_autograd(params, data, rows).first;
    pin_threads();
    const torch::Tensor flat = wrap(params, true);
    const std::size_t m = rows.empty() ? data.samples : rows.size();
    const auto [logits, targets] = forward_on(flat, data, rows, 0, m);
    const torch::Tensor loss = torch::cross_entropy_loss(logits, targets);
    const torch::Tensor g = torch::autograd::grad({loss}, {flat})[0].contiguous();
    std::memcpy(grad.data(), g.data_ptr<float>(), grad.size() * sizeof(float));
    return loss.item<double>();
  }

  double accuracy(std::span<const float> params, const Dataset& data) const override {
    return loss_and_accuracy(params, data).second;
  }

  std::pair<double, double> loss_and_accuracy(std::span<const float> params,
                                              const Dataset& data) const override {
    return without_autograd(params, data, {});
  }

 protected:
  explicit TorchModel(int threads) : threads_(std::max(1, threads)) {}

  /// OpenMP's thread count is per calling thread: every run thread sets the intra-op threads it
  /// was given (ModelShape::threads) before its first torch call.
  void pin_threads() const {
    thread_local int pinned = 0;
    if (pinned != threads_) {
      torch::set_num_threads(threads_);
      pinned = threads_;
    }
  }

  /// Logits (rows × classes) and integer targets of `count` rows starting at `begin` of `rows`
  /// (of all rows when `rows` is empty).
  virtual std::pair<torch::Tensor, torch::Tensor> forward_on(const torch::Tensor& flat,
                                                             const Dataset& data,
                                                             std::span<const std::size_t> rows,
                                                             std::size_t begin,
                                                             std::size_t count) const = 0;

  /// Mean loss and accuracy (per predicted target) over `rows` (all rows when empty), in blocks
  /// of eval_block_ rows so that the temporaries stay bounded.
  std::pair<double, double> without_autograd(std::span<const float> params, const Dataset& data,
                                             std::span<const std::size_t> rows) const {
    pin_threads();
    const torch::NoGradGuard no_grad;
    const torch::Tensor flat = wrap(params, false);
    const std::size_t m = rows.empty() ? data.samples : rows.size();
    double loss = 0.0;
    double correct = 0.0;
    double total = 0.0;
    for (std::size_t begin = 0; begin < m; begin += eval_block_) {
      const std::size_t count = std::min(eval_block_, m - begin);
      const auto [logits, targets] = forward_on(flat, data, rows, begin, count);
      const auto n = static_cast<double>(targets.size(0));
      loss += torch::cross_entropy_loss(logits, targets).item<double>() * n;
      correct += logits.argmax(1).eq(targets).sum().item<double>();
      total += n;
    }
    return {loss / total, correct / total};
  }

  /// The rows' features as a (count × features) float tensor (a copy).
  static torch::Tensor gather(const Dataset& data, std::span<const std::size_t> rows,
                              std::size_t begin, std::size_t count) {
    torch::Tensor x = torch::empty({static_cast<std::int64_t>(count),
                                    static_cast<std::int64_t>(data.features)});
    float* out = x.data_ptr<float>();
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t r = rows.empty() ? begin + i : rows[begin + i];
      std::memcpy(out + i * data.features, data.row(r), data.features * sizeof(float));
    }
    return x;
  }

  FlatLayout layout_;
  int threads_ = 1;
  std::size_t eval_block_ = 250;  ///< rows per no-grad pass (bounded temporaries)
};

class Cnn final : public TorchModel {
 public:
  explicit Cnn(const ModelShape& shape) : TorchModel(shape.threads), shape_(shape) {
    if (shape.height * shape.width != shape.features || shape.height < 8 || shape.height % 4 != 0) {
      throw ConfigError("problem", std::to_string(shape.features) + " features",
                        "the cnn needs square images with a side that is a multiple of 4 (>= 8)");
    }
    const auto arch = parse_arch(shape.arch, "cnn", {{"channels", "16:32"}, {"fc", "0"}});
    const std::vector<std::int64_t> channels = positive_list(arch.at("channels"), shape.arch, "channels");
    const std::vector<std::int64_t> fc = positive_list(arch.at("fc"), shape.arch, "fc");
    if (channels.size() != 2 || channels[0] < 1 || channels[1] < 1 || fc.size() != 1) {
      throw ConfigError("arch", shape.arch, "the cnn takes channels=C1:C2 (two positive) and fc=F");
    }
    c1_ = channels[0];
    c2_ = channels[1];
    fc_ = fc[0];
    const auto side = static_cast<std::int64_t>(shape.height);
    const std::int64_t flat_features = c2_ * (side / 4) * (side / 4);
    const auto classes = static_cast<std::int64_t>(shape.classes);
    layout_.add("conv1.weight", {c1_, 1, 5, 5}, Slot::Init::kNormal, std::sqrt(2.0 / 25.0));
    layout_.add("conv1.bias", {c1_}, Slot::Init::kZero);
    layout_.add("conv2.weight", {c2_, c1_, 5, 5}, Slot::Init::kNormal,
                std::sqrt(2.0 / (25.0 * static_cast<double>(c1_))));
    layout_.add("conv2.bias", {c2_}, Slot::Init::kZero);
    std::int64_t in = flat_features;
    if (fc_ > 0) {
      layout_.add("fc.weight", {fc_, in}, Slot::Init::kNormal, std::sqrt(2.0 / static_cast<double>(in)));
      layout_.add("fc.bias", {fc_}, Slot::Init::kZero);
      in = fc_;
    }
    layout_.add("out.weight", {classes, in}, Slot::Init::kNormal,
                std::sqrt(1.0 / static_cast<double>(in)));
    layout_.add("out.bias", {classes}, Slot::Init::kZero);
  }

  std::string describe() const override {
    return "cnn conv" + std::to_string(c1_) + "-conv" + std::to_string(c2_) +
           (fc_ > 0 ? "-fc" + std::to_string(fc_) : std::string()) + " (" +
           std::to_string(parameters()) + " parameters, libtorch " + TORCH_VERSION + ")";
  }

 protected:
  std::pair<torch::Tensor, torch::Tensor> forward_on(const torch::Tensor& flat,
                                                     const Dataset& data,
                                                     std::span<const std::size_t> rows,
                                                     std::size_t begin,
                                                     std::size_t count) const override {
    const std::vector<torch::Tensor> p = layout_.views(flat);
    const auto side = static_cast<std::int64_t>(shape_.height);
    torch::Tensor x = gather(data, rows, begin, count).view({-1, 1, side, side});
    x = torch::max_pool2d(torch::relu(torch::conv2d(x, p[0], p[1], 1, 2)), 2);
    x = torch::max_pool2d(torch::relu(torch::conv2d(x, p[2], p[3], 1, 2)), 2);
    x = x.flatten(1);
    std::size_t next = 4;
    if (fc_ > 0) {
      x = torch::relu(torch::linear(x, p[4], p[5]));
      next = 6;
    }
    torch::Tensor logits = torch::linear(x, p[next], p[next + 1]);
    return {logits, targets(data, rows, begin, count)};
  }

 private:
  static torch::Tensor targets(const Dataset& data, std::span<const std::size_t> rows,
                               std::size_t begin, std::size_t count) {
    torch::Tensor y = torch::empty({static_cast<std::int64_t>(count)}, torch::kLong);
    auto* out = y.data_ptr<std::int64_t>();
    for (std::size_t i = 0; i < count; ++i) {
      out[i] = data.labels[rows.empty() ? begin + i : rows[begin + i]];
    }
    return y;
  }

  ModelShape shape_;
  std::int64_t c1_ = 0, c2_ = 0, fc_ = 0;
};

class Transformer final : public TorchModel {
 public:
  explicit Transformer(const ModelShape& shape) : TorchModel(shape.threads) {
    const auto arch =
        parse_arch(shape.arch, "transformer", {{"width", "64"}, {"layers", "2"}, {"heads", "4"}});
    width_ = positive_list(arch.at("width"), shape.arch, "width").at(0);
    layers_ = positive_list(arch.at("layers"), shape.arch, "layers").at(0);
    heads_ = positive_list(arch.at("heads"), shape.arch, "heads").at(0);
    if (width_ < 1 || heads_ < 1 || width_ % heads_ != 0) {
      throw ConfigError("arch", shape.arch, "width must be a positive multiple of heads");
    }
    context_ = static_cast<std::int64_t>(shape.features) - 1;
    vocabulary_ = static_cast<std::int64_t>(shape.classes);
    const double std = 0.02;                                     // GPT-2's initialization
    const double residual = std / std::sqrt(2.0 * static_cast<double>(std::max<std::int64_t>(1, layers_)));
    layout_.add("token_embedding", {vocabulary_, width_}, Slot::Init::kNormal, std);
    layout_.add("position_embedding", {context_, width_}, Slot::Init::kNormal, std);
    for (std::int64_t l = 0; l < layers_; ++l) {
      const std::string b = "block" + std::to_string(l) + ".";
      layout_.add(b + "ln1.weight", {width_}, Slot::Init::kOne);
      layout_.add(b + "ln1.bias", {width_}, Slot::Init::kZero);
      layout_.add(b + "qkv.weight", {3 * width_, width_}, Slot::Init::kNormal, std);
      layout_.add(b + "qkv.bias", {3 * width_}, Slot::Init::kZero);
      layout_.add(b + "proj.weight", {width_, width_}, Slot::Init::kNormal, residual);
      layout_.add(b + "proj.bias", {width_}, Slot::Init::kZero);
      layout_.add(b + "ln2.weight", {width_}, Slot::Init::kOne);
      layout_.add(b + "ln2.bias", {width_}, Slot::Init::kZero);
      layout_.add(b + "fc.weight", {4 * width_, width_}, Slot::Init::kNormal, std);
      layout_.add(b + "fc.bias", {4 * width_}, Slot::Init::kZero);
      layout_.add(b + "out.weight", {width_, 4 * width_}, Slot::Init::kNormal, residual);
      layout_.add(b + "out.bias", {width_}, Slot::Init::kZero);
    }
    layout_.add("ln_f.weight", {width_}, Slot::Init::kOne);
    layout_.add("ln_f.bias", {width_}, Slot::Init::kZero);
    layout_.add("head.weight", {vocabulary_, width_}, Slot::Init::kNormal, std);
    layout_.add("head.bias", {vocabulary_}, Slot::Init::kZero);
    eval_block_ = 128;
  }

  std::string describe() const override {
    return "causal transformer width " + std::to_string(width_) + ", " + std::to_string(layers_) +
           " layers, " + std::to_string(heads_) + " heads, context " + std::to_string(context_) +
           " (" + std::to_string(parameters()) + " parameters, libtorch " + TORCH_VERSION + ")";
  }

 protected:
  std::pair<torch::Tensor, torch::Tensor> forward_on(const torch::Tensor& flat,
                                                     const Dataset& data,
                                                     std::span<const std::size_t> rows,
                                                     std::size_t begin,
                                                     std::size_t count) const override {
    const std::vector<torch::Tensor> p = layout_.views(flat);
    const torch::Tensor tokens = gather(data, rows, begin, count).to(torch::kLong);
    const torch::Tensor input = tokens.narrow(1, 0, context_);
    const torch::Tensor target = tokens.narrow(1, 1, context_).reshape({-1});
    const auto batch = static_cast<std::int64_t>(count);
    const std::int64_t head_dim = width_ / heads_;
    torch::Tensor x = torch::embedding(p[0], input) + p[1].unsqueeze(0);
    const torch::Tensor causal =
        torch::ones({context_, context_}, torch::kBool).triu(1);  // true above the diagonal
    std::size_t k = 2;
    for (std::int64_t l = 0; l < layers_; ++l, k += 12) {
      torch::Tensor h = torch::layer_norm(x, {width_}, p[k], p[k + 1]);
      const torch::Tensor qkv = torch::linear(h, p[k + 2], p[k + 3]);
      const auto split = [&](std::int64_t part) {
        return qkv.narrow(2, part * width_, width_)
            .view({batch, context_, heads_, head_dim})
            .transpose(1, 2);
      };
      torch::Tensor scores = torch::matmul(split(0), split(1).transpose(-2, -1)) /
                             std::sqrt(static_cast<double>(head_dim));
      scores = scores.masked_fill(causal, -std::numeric_limits<float>::infinity());
      torch::Tensor y = torch::matmul(torch::softmax(scores, -1), split(2));
      y = y.transpose(1, 2).contiguous().view({batch, context_, width_});
      x = x + torch::linear(y, p[k + 4], p[k + 5]);
      h = torch::layer_norm(x, {width_}, p[k + 6], p[k + 7]);
      x = x + torch::linear(torch::gelu(torch::linear(h, p[k + 8], p[k + 9])), p[k + 10],
                            p[k + 11]);
    }
    x = torch::layer_norm(x, {width_}, p[k], p[k + 1]);
    const torch::Tensor logits = torch::linear(x, p[k + 2], p[k + 3]).view({-1, vocabulary_});
    return {logits, target};
  }

 private:
  std::int64_t width_ = 0, layers_ = 0, heads_ = 0, context_ = 0, vocabulary_ = 0;
};

}  // namespace

void register_torch_models() {
  static std::once_flag once;
  std::call_once(once, [] {
    // libtorch parallelizes above BLAS; a multi-threaded OpenBLAS underneath oversubscribes the
    // cores (measured: the transformer's step 3.6× slower at 2 threads). Debian's libtorch links
    // the libblas.so.3 alternative, which is OpenBLAS when installed: keep it single-threaded.
    using SetThreads = void (*)(int);
    if (auto* set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
      set(1);
    }
    register_model("cnn", [](const ModelShape& shape) { return std::make_unique<Cnn>(shape); });
    register_model("transformer",
                   [](const ModelShape& shape) { return std::make_unique<Transformer>(shape); });
  });
}

}  // namespace dsignsgd
