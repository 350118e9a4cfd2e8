// rand-k (unbiased sparsification) and top-k (biased).
#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/random/batch.hpp"
#include "dsignsgd/compress/message_header.hpp"

namespace dsignsgd {
namespace {

std::size_t kept_count(double fraction, std::size_t d) {
  const auto k = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(d)));
  return std::clamp<std::size_t>(k, 1, d);
}

/// k distinct indices of 0..d−1, uniformly, in increasing order (Floyd's algorithm on a bitmap:
/// exactly k bounded draws, O(d/64 + k) work). The loops work on raw pointers taken once: in the
/// shared library every mention of a thread_local after an opaque call (the stream's refill) is
/// a __tls_get_addr call, which halved rand-k's throughput (docs/BENCHMARKS.md).
const std::vector<std::uint32_t>& sample_indices(std::size_t d, std::size_t k, RandomStream& rng) {
  thread_local std::vector<std::uint64_t> bitmap;
  thread_local std::vector<std::uint32_t> indices;
  const std::size_t words = (d + 63) / 64;
  bitmap.assign(words, 0);
  std::uint64_t* const bits = bitmap.data();
  BufferedStream draws(rng, k);
  for (std::size_t j = d - k; j < d; ++j) {
    std::size_t t = uniform_below(draws, j + 1);
    if (bits[t / 64] & (std::uint64_t{1} << (t % 64))) t = j;
    bits[t / 64] |= std::uint64_t{1} << (t % 64);
  }
  indices.resize(k);
  std::uint32_t* out = indices.data();
  for (std::size_t w = 0; w < words; ++w) {
    std::uint64_t word = bits[w];
    while (word != 0) {
      const int bit = std::countr_zero(word);
      *out++ = static_cast<std::uint32_t>(64 * w + static_cast<std::size_t>(bit));
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

std::vector<std::uint32_t> RandKCompressor::indices(std::size_t d,
                                                    const StreamAddress& address) const {
  RandomStream rng(address.with_purpose(StreamPurpose::kSharedCompression));
  return sample_indices(d, kept(d), rng);
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

namespace {

/// |v| as an integer key: for every float (±0 alike, infinities, NaN above them) the order of the
/// keys is the order of the magnitudes.
inline std::uint32_t magnitude_key(float x) {
  return std::bit_cast<std::uint32_t>(x) & 0x7FFFFFFFu;
}

/// hist[key >> shift & mask] over keys, in four interleaved copies (runs of equal bins, common
/// for the exponent bits, do not wait on one counter), summed into hist.
template <typename KeyAt>
void histogram(std::size_t n, KeyAt key_at, unsigned shift, std::uint32_t mask,
               std::vector<std::uint32_t>& hist) {
  const std::size_t bins = std::size_t{mask} + 1;
  thread_local std::vector<std::uint32_t> copies;
  copies.assign(4 * bins, 0);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (std::size_t c = 0; c < 4; ++c) ++copies[c * bins + ((key_at(i + c) >> shift) & mask)];
  }
  for (; i < n; ++i) ++copies[(key_at(i) >> shift) & mask];
  hist.assign(bins, 0);
  for (std::size_t c = 0; c < 4; ++c) {
    for (std::size_t b = 0; b < bins; ++b) hist[b] += copies[c * bins + b];
  }
}

/// The bin holding the `need`-th largest key (need ≥ 1), and how many of the needed keys lie in
/// higher bins: need becomes the rank within the bin.
std::uint32_t bin_of_rank(const std::vector<std::uint32_t>& hist, std::size_t& need) {
  for (std::size_t b = hist.size(); b-- > 0;) {
    if (hist[b] >= need) return static_cast<std::uint32_t>(b);
    need -= hist[b];
  }
  return 0;  // unreachable: need ≤ the number of keys
}

/// The k largest magnitudes of v, ties broken by the lower index, as indices in increasing order:
/// a radix select on the magnitude keys (10 + 11 + 10 bits) — one histogram pass and one
/// collecting pass over v, the rest on the candidates of the threshold's top bin.
const std::vector<std::uint32_t>& top_k_indices(std::span<const float> v, std::size_t k) {
  thread_local std::vector<std::uint32_t> hist, above, candidates, keys, chosen;
  const std::size_t d = v.size();
  const auto key_of_v = [&v](std::size_t i) { return magnitude_key(v[i]); };
  std::size_t need = k;
  histogram(d, key_of_v, 21, 0x3FF, hist);
  const std::uint32_t top = bin_of_rank(hist, need);
  // Indices above the top bin (all taken) and the top bin's candidates, both in index order.
  above.clear();
  candidates.clear();
  keys.clear();
  for (std::size_t i = 0; i < d; ++i) {
    const std::uint32_t key = magnitude_key(v[i]);
    const std::uint32_t bin = key >> 21;
    if (bin > top) {
      above.push_back(static_cast<std::uint32_t>(i));
    } else if (bin == top) {
      candidates.push_back(static_cast<std::uint32_t>(i));
      keys.push_back(key);
    }
  }
  const auto key_of_candidate = [](std::size_t i) { return keys[i]; };
  histogram(keys.size(), key_of_candidate, 10, 0x7FF, hist);
  const std::uint32_t middle = bin_of_rank(hist, need);
  std::uint32_t threshold = (top << 21) | (middle << 10);
  // The low 10 bits among the candidates that share the top 21.
  thread_local std::vector<std::uint32_t> low_keys;
  low_keys.clear();
  for (std::uint32_t key : keys) {
    if ((key >> 10) == (threshold >> 10)) low_keys.push_back(key);
  }
  const auto key_of_low = [](std::size_t i) { return low_keys[i]; };
  histogram(low_keys.size(), key_of_low, 0, 0x3FF, hist);
  threshold |= bin_of_rank(hist, need);
  // Take every candidate above the threshold and the first `need` equal to it, then merge with
  // the indices above the top bin.
  chosen.clear();
  std::size_t a = 0;
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    const bool take = keys[c] > threshold || (keys[c] == threshold && need > 0 && need-- > 0);
    if (!take) continue;
    while (a < above.size() && above[a] < candidates[c]) chosen.push_back(above[a++]);
    chosen.push_back(candidates[c]);
  }
  while (a < above.size()) chosen.push_back(above[a++]);
  return chosen;
}

}  // namespace

void TopKCompressor::encode(std::span<const float> v, const StreamAddress&,
                            WireMessage& out) const {
  const std::size_t d = v.size();
  const std::size_t k = kept(d);
  const std::vector<std::uint32_t>& indices = top_k_indices(v, k);
  std::uint8_t* payload = detail::begin_message(out, code(), d, 8 * k);
  for (std::size_t i = 0; i < k; ++i) {
    store_u32(payload + 8 * i, indices[i]);
    store_f32(payload + 8 * i + 4, v[indices[i]]);
  }
}

void TopKCompressor::decode_accumulate(const WireMessage& in, const StreamAddress&, float weight,
                                       std::span<float> acc) const {
  const std::size_t d = acc.size();
  const std::size_t k = kept(d);
  const std::uint8_t* payload = detail::check_message(in, code(), d, 8 * k);
  for (std::size_t i = 0; i < k; ++i) {
    const std::uint32_t index = load_u32(payload + 8 * i);
    if (index >= d) throw WireFormatError("malformed top-k message: index out of range");
    acc[index] += weight * load_f32(payload + 8 * i + 4);
  }
}

}  // namespace dsignsgd
