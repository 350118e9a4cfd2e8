// QSGD (Alistarh et al. 2017): stochastic rounding of s|v_j|/||v|| to the levels 0..s.
#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/random/batch.hpp"
#include "message_header.hpp"

namespace dsignsgd {

std::string QsgdCompressor::name() const {
  std::string text = "qsgd:";
  text.append(std::to_string(levels_));
  if (bucket_ != 0) text.append(":").append(std::to_string(bucket_));
  return text;
}

unsigned QsgdCompressor::level_bits() const {
  return static_cast<unsigned>(std::bit_width(levels_));  // ceil(log2(s + 1))
}

double QsgdCompressor::omega(std::size_t d) const {
  const auto b = static_cast<double>(bucket_size(d));
  const auto s = static_cast<double>(levels_);
  return std::min(b / (s * s), std::sqrt(b) / s);
}

std::size_t QsgdCompressor::wire_bits(std::size_t d) const {
  const std::size_t b = bucket_size(d);
  const std::size_t buckets = (d + b - 1) / b;
  return detail::header_bits() + 32 * buckets + 8 * detail::bytes_for_bits((1 + level_bits()) * d);
}

bool QsgdCompressor::variance_diagonal(std::span<const float> v, std::span<float> out) const {
  // (||v_b|| / s)² p (1 − p), p the fractional part of s |v_j| / ||v_b||.
  const std::size_t d = v.size();
  const std::size_t b = bucket_size(d);
  const double s = static_cast<double>(levels_);
  for (std::size_t begin = 0; begin < d; begin += b) {
    const std::size_t end = std::min(d, begin + b);
    double sum_sq = 0.0;
    for (std::size_t j = begin; j < end; ++j) sum_sq += static_cast<double>(v[j]) * v[j];
    const double norm = std::sqrt(sum_sq);
    for (std::size_t j = begin; j < end; ++j) {
      if (norm == 0.0) {
        out[j] = 0.0f;
        continue;
      }
      const double scaled = s * std::abs(static_cast<double>(v[j])) / norm;
      const double p = scaled - std::floor(scaled);
      out[j] = static_cast<float>((norm / s) * (norm / s) * p * (1.0 - p));
    }
  }
  return true;
}

void QsgdCompressor::encode(std::span<const float> v, const StreamAddress& address,
                            WireMessage& out) const {
  const std::size_t d = v.size();
  const std::size_t b = bucket_size(d);
  const std::size_t buckets = (d + b - 1) / b;
  const unsigned width = level_bits();
  std::uint8_t* payload =
      detail::begin_message(out, code(), d, 4 * buckets + detail::bytes_for_bits((1 + width) * d));
  RandomStream rng(address.with_purpose(StreamPurpose::kCompression));
  constexpr std::size_t kChunk = 2048;  // power of two: one chunk of draws per 2048 coordinates
  thread_local std::vector<std::uint32_t> draws(kChunk);
  BitWriter writer(payload + 4 * buckets);
  const double s = static_cast<double>(levels_);
  for (std::size_t bucket = 0; bucket < buckets; ++bucket) {
    const std::size_t begin = bucket * b;
    const std::size_t end = std::min(d, begin + b);
    double sum_sq = 0.0;
    for (std::size_t j = begin; j < end; ++j) sum_sq += static_cast<double>(v[j]) * v[j];
    const auto norm = static_cast<float>(std::sqrt(sum_sq));
    store_f32(payload + 4 * bucket, norm);
    const double inv_norm = norm > 0.0f ? 1.0 / norm : 0.0;
    for (std::size_t j = begin; j < end; ++j) {
      if ((j & (kChunk - 1)) == 0) fill_u32(rng, std::span(draws.data(), std::min(kChunk, d - j)));
      const double scaled = s * std::abs(static_cast<double>(v[j])) * inv_norm;
      double level = std::floor(scaled);
      // Round up with probability frac (to within 2^-32).
      if (static_cast<double>(draws[j & (kChunk - 1)]) * 0x1p-32 < scaled - level) level += 1.0;
      const auto quantized = static_cast<std::uint64_t>(std::min(level, s));
      const std::uint64_t negative = v[j] < 0.0f ? 1u : 0u;
      writer.put(negative | (quantized << 1), 1 + width);
    }
  }
  writer.flush();
}

void QsgdCompressor::decode_accumulate(const WireMessage& in, const StreamAddress&, float weight,
                                       std::span<float> acc) const {
  const std::size_t d = acc.size();
  const std::size_t b = bucket_size(d);
  const std::size_t buckets = (d + b - 1) / b;
  const unsigned width = level_bits();
  const std::uint8_t* payload =
      detail::check_message(in, code(), d, 4 * buckets + detail::bytes_for_bits((1 + width) * d));
  BitReader reader(payload + 4 * buckets);
  for (std::size_t bucket = 0; bucket < buckets; ++bucket) {
    const float unit = weight * load_f32(payload + 4 * bucket) / static_cast<float>(levels_);
    const std::size_t end = std::min(d, bucket * b + b);
    for (std::size_t j = bucket * b; j < end; ++j) {
      const std::uint64_t code_bits = reader.get(1 + width);
      const float magnitude = unit * static_cast<float>(code_bits >> 1);
      acc[j] += (code_bits & 1u) ? -magnitude : magnitude;
    }
  }
}

}  // namespace dsignsgd
