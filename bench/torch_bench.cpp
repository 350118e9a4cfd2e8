// Step times of the real-data models and the compressors against their PyTorch peers
// (docs/BENCHMARKS.md):
//   0. every compressor's encode beside a GRACE-style libtorch one-liner for the same job, on the
//      same d = 10⁷ buffer in the same run (one thread), and the read bandwidth of g.sum();
//   1. the MLP's minibatch gradient in dsignsgd (Eigen, flat buffers) against the same MLP in
//      libtorch (torch::nn::Linear layers, forward + backward + reading the gradients out), on
//      the same machine in the same run: the ratio is what the issue asks for;
//   2. the libtorch CNN and transformer gradient per minibatch at 1 and at all intra-op threads.
// Times are medians of 7 repetitions of `iterations` calls. Usage: dsignsgd_torch_bench [batch]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <thread>
#include <vector>

#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/core/cpu_level.hpp"
#include "dsignsgd/nn/model.hpp"
#include "dsignsgd/random/stream.hpp"
#include "dsignsgd/torch/torch_models.hpp"

namespace {

using namespace dsignsgd;

double median_ms(const std::function<void()>& call, int iterations) {
  for (int i = 0; i < 3; ++i) call();  // warm-up
  std::vector<double> times;
  for (int rep = 0; rep < 7; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) call();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                        .count() /
                    iterations);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

Dataset random_images(std::size_t samples, std::size_t features, std::size_t classes) {
  Dataset data;
  data.samples = samples;
  data.features = features;
  data.classes = classes;
  RandomStream rng(StreamAddress{7, 0, 0, 0, StreamPurpose::kSetup});
  for (std::size_t i = 0; i < samples * features; ++i) data.x.push_back(static_cast<float>(rng.uniform()));
  for (std::size_t i = 0; i < samples; ++i) data.labels.push_back(static_cast<int>(rng.uniform_below(classes)));
  return data;
}

/// Best of `repeats` wall times of call(), in seconds.
double best_seconds(const std::function<void()>& call, int repeats) {
  call();  // warm-up
  double best = 1e300;
  for (int rep = 0; rep < repeats; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    call();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

/// Each compressor's encode in dsignsgd beside the libtorch expression a GRACE-style PyTorch
/// compressor would run for it, in GB/s of fp32 input, with the ratio dsignsgd / peer.
void compare_compressors_with_torch() {
  constexpr std::int64_t d = 10'000'000;
  constexpr int kRepeats = 5;
  torch::set_num_threads(1);
  torch::manual_seed(0);
  const torch::Tensor g = torch::randn({d});
  std::vector<float> v(g.data_ptr<float>(), g.data_ptr<float>() + d);
  const double gb = 4.0 * static_cast<double>(d) / 1e9;
  volatile float sink = 0.0f;
  const double read = best_seconds([&] { sink = sink + g.sum().item<float>(); }, kRepeats);
  std::printf("compressor encode against its PyTorch peer, d = %lld, 1 thread, CPU level %s\n",
              static_cast<long long>(d), to_string(cpu_level()).c_str());
  std::printf("  read bandwidth (torch g.sum()) %.2f GB/s\n", gb / read);
  std::printf("  %-10s %10s %8s  %-44s %10s %8s\n", "compressor", "GB/s", "/read", "PyTorch peer",
              "GB/s", "ratio");
  const std::int64_t k = d / 100;
  struct Peer {
    const char* compressor;
    const char* expression;
    std::function<void()> run;
  };
  const std::vector<Peer> peers = {
      {"sign", "(g > 0).to(torch::kUInt8)", [&] { (void)(g > 0).to(torch::kUInt8); }},
      {"randk:0.01", "g.index_select(0, torch::randperm(d).slice(0, 0, k))",
       [&] { (void)g.index_select(0, torch::randperm(d).slice(0, 0, k)); }},
      {"qsgd:4", "norm, floor(4|g|/norm + rand), sign, to int8",
       [&] {
         const torch::Tensor norm = g.norm();
         const torch::Tensor level = (g.abs() * (4.0 / norm) + torch::rand({d})).floor();
         (void)(level * g.sign()).to(torch::kInt8);
       }},
      {"natural", "2^round(log2|g| + rand), sign (float)",
       [&] { (void)(torch::exp2((g.abs().log2() + torch::rand({d})).floor()) * g.sign()); }},
      {"topk:0.01", "torch::topk(g.abs(), k)", [&] { (void)torch::topk(g.abs(), k); }},
  };
  for (const Peer& peer : peers) {
    const auto compressor = make_compressor(peer.compressor);
    WireMessage message;
    const StreamAddress address{1, 0, 0, 0, StreamPurpose::kGradientNoise};
    const double ours = best_seconds([&] { compressor->encode(v, address, message); }, kRepeats);
    const double theirs = best_seconds(peer.run, kRepeats);
    std::printf("  %-10s %10.2f %8.2f  %-44s %10.2f %7.1fx\n", peer.compressor, gb / ours,
                read / ours, peer.expression, gb / theirs, theirs / ours);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t batch = argc > 1 ? static_cast<std::size_t>(std::atol(argv[1])) : 128;
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  register_torch_models();
  const Dataset images = random_images(4096, 784, 10);
  std::vector<std::size_t> rows(batch);
  std::iota(rows.begin(), rows.end(), 0);

  compare_compressors_with_torch();
  std::printf("batch %zu, %d hardware threads, libtorch %s\n\n", batch, hardware, TORCH_VERSION);
  std::printf("MLP 784-128-10 minibatch gradient (forward + backward into a flat buffer)\n");
  for (int threads : {1, hardware}) {
    torch::set_num_threads(threads);
    const auto mlp = make_mlp(784, {128}, 10);
    std::vector<float> params(mlp->parameters()), grad(mlp->parameters());
    mlp->initialize(params, 1);
    const double eigen = median_ms([&] { mlp->loss_and_gradient(params, images, rows, grad); }, 50);

    torch::nn::Sequential net(torch::nn::Linear(784, 128), torch::nn::ReLU(), torch::nn::Linear(128, 10));
    const torch::Tensor x = torch::from_blob(const_cast<float*>(images.x.data()),
                                             {static_cast<std::int64_t>(batch), 784})
                                .clone();
    const torch::Tensor y = torch::randint(0, 10, {static_cast<std::int64_t>(batch)}, torch::kLong);
    std::vector<float> flat(mlp->parameters());
    const double libtorch = median_ms(
        [&] {
          net->zero_grad();
          torch::cross_entropy_loss(net->forward(x), y).backward();
          std::size_t offset = 0;  // the same flat gradient buffer the methods need
          for (const torch::Tensor& p : net->parameters()) {
            const torch::Tensor g = p.grad().contiguous();
            std::copy_n(g.data_ptr<float>(), g.numel(), flat.data() + offset);
            offset += static_cast<std::size_t>(g.numel());
          }
        },
        50);
    std::printf("  %d thread(s): dsignsgd (Eigen) %.3f ms, libtorch %.3f ms, ratio dsignsgd/libtorch %.2f\n",
                threads, eigen, libtorch, eigen / libtorch);
  }

  std::printf("\nlibtorch component models, minibatch gradient into the flat buffer\n");
  const Dataset text = [] {
    Dataset data = random_images(1024, 65, 80);
    for (float& v : data.x) v = std::floor(v * 80.0f);
    return data;
  }();
  for (const char* architecture : {"cnn", "transformer"}) {
    const bool cnn = std::string(architecture) == "cnn";
    for (int threads : {1, hardware}) {
      ModelShape shape;
      shape.features = cnn ? 784 : 65;
      shape.classes = cnn ? 10 : 80;
      shape.height = shape.width = cnn ? 28 : 0;
      shape.threads = threads;
      const auto model = make_registered_model(architecture, shape, architecture);
      std::vector<float> params(model->parameters()), grad(model->parameters());
      model->initialize(params, 1);
      const Dataset& data = cnn ? images : text;
      std::vector<std::size_t> r(cnn ? batch : 32);
      std::iota(r.begin(), r.end(), 0);
      const double step = median_ms([&] { model->loss_and_gradient(params, data, r, grad); }, 10);
      std::printf("  %-11s %zu params, batch %zu, %d thread(s): %.2f ms\n", architecture,
                  model->parameters(), r.size(), threads, step);
    }
  }
  return 0;
}
