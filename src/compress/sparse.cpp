// rand-k (unbiased sparsification) and top-k (biased).
#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/random/batch.hpp"
#include "message_header.hpp"

namespace dsignsgd {
namespace {

std::size_t kept_count(double fraction, std::size_t d) {
  const auto k = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(d)));
  return std::clamp<std::size_t>(k, 1, d);
}

/// k distinct indices of 0..d−1, uniformly, in increasing order (Floyd's algorithm on a bitmap:
/// exactly k bounded draws, O(d/64 + k) work).
const std::vector<std::uint32_t>& sample_indices(std::size_t d, std::size_t k, RandomStream& rng) {
  thread_local std::vector<std::uint64_t> bitmap;
  thread_local std::vector<std::uint32_t> indices;
  bitmap.assign((d + 63) / 64, 0);
  BufferedStream draws(rng, k);
  for (std::size_t j = d - k; j < d; ++j) {
    std::size_t t = uniform_below(draws, j + 1);
    if (bitmap[t / 64] & (std::uint64_t{1} << (t % 64))) t = j;
    bitmap[t / 64] |= std::uint64_t{1} << (t % 64);
  }
  indices.clear();
  for (std::size_t w = 0; w < bitmap.size(); ++w) {
    std::uint64_t word = bitmap[w];
    while (word != 0) {
      const int bit = std::countr_zero(word);
      indices.push_back(static_cast<std::uint32_t>(64 * w + static_cast<std::size_t>(bit)));
      word &= word - 1;
    }
  }
  return indices;
}

}  // namespace

// ---- rand-k -----------------------------------------------------------------------------------

std::string RandKCompressor::name() const { return "randk:" + format_double(fraction_); }
std::size_t RandKCompressor::kept(std::size_t d) const { return kept_count(fraction_, d); }

double RandKCompressor::omega(std::size_t d) const {
  return static_cast<double>(d) / static_cast<double>(kept(d)) - 1.0;
}

std::size_t RandKCompressor::wire_bits(std::size_t d) const {
  return detail::header_bits() + 32 * kept(d);
}

void RandKCompressor::encode(std::span<const float> v, const StreamAddress& address,
                             WireMessage& out) const {
  const std::size_t d = v.size();
  const std::size_t k = kept(d);
  std::uint8_t* payload = detail::begin_message(out, code(), d, 4 * k);
  RandomStream rng(address.with_purpose(StreamPurpose::kSharedCompression));
  const auto& indices = sample_indices(d, k, rng);
  for (std::size_t i = 0; i < k; ++i) store_f32(payload + 4 * i, v[indices[i]]);
}

void RandKCompressor::decode_accumulate(const WireMessage& in, const StreamAddress& address,
                                        float weight, std::span<float> acc) const {
  const std::size_t d = acc.size();
  const std::size_t k = kept(d);
  const std::uint8_t* payload = detail::check_message(in, code(), d, 4 * k);
  RandomStream rng(address.with_purpose(StreamPurpose::kSharedCompression));
  const auto& indices = sample_indices(d, k, rng);
  const float scale = weight * static_cast<float>(static_cast<double>(d) / static_cast<double>(k));
  for (std::size_t i = 0; i < k; ++i) acc[indices[i]] += scale * load_f32(payload + 4 * i);
}

bool RandKCompressor::variance_diagonal(std::span<const float> v, std::span<float> out) const {
  const auto omega = static_cast<float>(this->omega(v.size()));
  for (std::size_t j = 0; j < v.size(); ++j) out[j] = omega * v[j] * v[j];
  return true;
}

// ---- top-k ------------------------------------------------------------------------------------

std::string TopKCompressor::name() const { return "topk:" + format_double(fraction_); }
std::size_t TopKCompressor::kept(std::size_t d) const { return kept_count(fraction_, d); }
double TopKCompressor::omega(std::size_t) const { return std::nan(""); }

std::size_t TopKCompressor::wire_bits(std::size_t d) const {
  return detail::header_bits() + 64 * kept(d);
}

void TopKCompressor::encode(std::span<const float> v, const StreamAddress&,
                            WireMessage& out) const {
  const std::size_t d = v.size();
  const std::size_t k = kept(d);
  thread_local std::vector<std::uint32_t> order;
  order.resize(d);
  std::iota(order.begin(), order.end(), 0u);
  // Largest magnitude first; ties broken by the lower index, so the selection is deterministic.
  const auto larger = [&v](std::uint32_t a, std::uint32_t b) {
    const float fa = std::abs(v[a]);
    const float fb = std::abs(v[b]);
    return fa > fb || (fa == fb && a < b);
  };
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k - 1), order.end(),
                   larger);
  std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
  std::uint8_t* payload = detail::begin_message(out, code(), d, 8 * k);
  for (std::size_t i = 0; i < k; ++i) {
    store_u32(payload + 8 * i, order[i]);
    store_f32(payload + 8 * i + 4, v[order[i]]);
  }
}

void TopKCompressor::decode_accumulate(const WireMessage& in, const StreamAddress&, float weight,
                                       std::span<float> acc) const {
  const std::size_t d = acc.size();
  const std::size_t k = kept(d);
  const std::uint8_t* payload = detail::check_message(in, code(), d, 8 * k);
  for (std::size_t i = 0; i < k; ++i) {
    const std::uint32_t index = load_u32(payload + 8 * i);
    if (index >= d) throw std::runtime_error("malformed top-k message: index out of range");
    acc[index] += weight * load_f32(payload + 8 * i + 4);
  }
}

}  // namespace dsignsgd
