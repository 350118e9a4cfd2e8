// QSGD (Alistarh et al. 2017): stochastic rounding of s|v_j|/||v|| to the levels 0..s.
#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/core/cpu_dispatch.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/random/batch.hpp"
#include "dsignsgd/compress/message_header.hpp"

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

namespace {

constexpr std::size_t kQsgdChunk = 2048;

/// Σ v_j² in double with eight interleaved partial sums: a fixed order, so the same on every CPU
/// and vectorizable (a single running sum would be bound by the latency of one add per element).
DSIGNSGD_DISPATCHED(double, sum_of_squares, (const float* v, std::size_t n), (v, n)) {
  double partial[8] = {};
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int lane = 0; lane < 8; ++lane) {
      partial[lane] += static_cast<double>(v[j + lane]) * static_cast<double>(v[j + lane]);
    }
  }
  for (; j < n; ++j) partial[0] += static_cast<double>(v[j]) * static_cast<double>(v[j]);
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
         ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

/// codes[i] = negative | level << 1: s |v_i| / ||v|| rounded down, or up with probability equal
/// to its fractional part (draw · 2^-32 below it), at most s. Written so that the compiler keeps it
/// in vector registers: the draw becomes a double through a signed conversion (exact, and AVX2 has
/// no unsigned one) and the sign is the comparison v_i < 0 (so −0 and NaN count as positive).
DSIGNSGD_DISPATCHED(void, qsgd_codes,
                    (const float* v, const std::uint32_t* draws, std::size_t n, double s,
                     double inv_norm, std::uint32_t* codes),
                    (v, draws, n, s, inv_norm, codes)) {
  for (std::size_t i = 0; i < n; ++i) {
    const float x = v[i];
    const double scaled = s * static_cast<double>(std::fabs(x)) * inv_norm;
    const double floor_level = std::floor(scaled);
    const double draw =
        static_cast<double>(static_cast<std::int32_t>(draws[i] ^ 0x80000000u)) + 0x1p31;
    const double up = draw * 0x1p-32 < scaled - floor_level ? 1.0 : 0.0;
    const double level = std::min(floor_level + up, s);
    codes[i] = static_cast<std::uint32_t>(static_cast<std::int32_t>(level)) << 1 |
               (x < 0.0f ? 1u : 0u);
  }
}

/// acc[i] += ±unit · level of codes[i].
DSIGNSGD_DISPATCHED(void, qsgd_accumulate,
                    (const std::uint32_t* codes, std::size_t n, float unit, float* acc),
                    (codes, n, unit, acc)) {
  for (std::size_t i = 0; i < n; ++i) {
    const float magnitude = unit * static_cast<float>(codes[i] >> 1);
    acc[i] += (codes[i] & 1u) ? -magnitude : magnitude;
  }
}

}  // namespace

void QsgdCompressor::encode(std::span<const float> v, const StreamAddress& address,
                            WireMessage& out) const {
  const std::size_t d = v.size();
  const std::size_t b = bucket_size(d);
  const std::size_t buckets = (d + b - 1) / b;
  const unsigned width = 1 + level_bits();
  std::uint8_t* payload =
      detail::begin_message(out, code(), d, 4 * buckets + detail::bytes_for_bits(width * d));
  std::uint8_t* codes_out = payload + 4 * buckets;
  RandomStream rng(address.with_purpose(StreamPurpose::kCompression));
  thread_local std::vector<std::uint32_t> draws(kQsgdChunk);
  thread_local std::vector<std::uint32_t> codes(kQsgdChunk);
  const double s = static_cast<double>(levels_);
  for (std::size_t bucket = 0; bucket < buckets; ++bucket) {
    const std::size_t begin = bucket * b;
    const std::size_t end = std::min(d, begin + b);
    const auto norm = static_cast<float>(std::sqrt(sum_of_squares(v.data() + begin, end - begin)));
    store_f32(payload + 4 * bucket, norm);
    const double inv_norm = norm > 0.0f ? 1.0 / norm : 0.0;
    // One draw per coordinate, in order (chunks only bound the buffers).
    for (std::size_t first = begin; first < end; first += kQsgdChunk) {
      const std::size_t count = std::min(kQsgdChunk, end - first);
      fill_u32(rng, std::span(draws.data(), count));
      qsgd_codes(v.data() + first, draws.data(), count, s, inv_norm, codes.data());
      pack_codes(std::span(codes.data(), count), width, codes_out, first * width);
    }
  }
}

void QsgdCompressor::decode_accumulate(const WireMessage& in, const StreamAddress&, float weight,
                                       std::span<float> acc) const {
  const std::size_t d = acc.size();
  const std::size_t b = bucket_size(d);
  const std::size_t buckets = (d + b - 1) / b;
  const unsigned width = 1 + level_bits();
  const std::size_t code_bytes = detail::bytes_for_bits(width * d);
  const std::uint8_t* payload = detail::check_message(in, code(), d, 4 * buckets + code_bytes);
  thread_local std::vector<std::uint32_t> codes(kQsgdChunk);
  for (std::size_t bucket = 0; bucket < buckets; ++bucket) {
    const float unit = weight * load_f32(payload + 4 * bucket) / static_cast<float>(levels_);
    const std::size_t end = std::min(d, bucket * b + b);
    for (std::size_t first = bucket * b; first < end; first += kQsgdChunk) {
      const std::size_t count = std::min(kQsgdChunk, end - first);
      unpack_codes(payload + 4 * buckets, code_bytes, first * width, width,
                   std::span(codes.data(), count));
      qsgd_accumulate(codes.data(), count, unit, acc.data() + first);
    }
  }
}

}  // namespace dsignsgd
