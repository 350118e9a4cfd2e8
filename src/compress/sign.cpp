// sign and scaled sign: one bit per coordinate (+1 ⇔ v >= 0).
#include <cmath>

#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/compress/message_header.hpp"

namespace dsignsgd {
namespace {

/// Σ|v_j| in double with eight independent partial sums (a fixed order, so reproducible).
double l1_norm(std::span<const float> v) {
  double partial[8] = {};
  std::size_t j = 0;
  for (; j + 8 <= v.size(); j += 8) {
    for (int lane = 0; lane < 8; ++lane)
      partial[lane] += std::abs(static_cast<double>(v[j + lane]));
  }
  for (; j < v.size(); ++j) partial[0] += std::abs(static_cast<double>(v[j]));
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
         ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

}  // namespace

double SignCompressor::omega(std::size_t) const { return std::nan(""); }

std::size_t SignCompressor::wire_bits(std::size_t d) const {
  return detail::header_bits() + 8 * detail::bytes_for_bits(d);
}

void SignCompressor::encode(std::span<const float> v, const StreamAddress& address,
                            WireMessage& out) const {
  std::uint8_t* payload =
      detail::begin_message(out, code(), v.size(), detail::bytes_for_bits(v.size()));
  RandomStream coins(address.with_purpose(StreamPurpose::kCompression));
  pack_signs(v, payload, coins);
}

const std::uint8_t* SignCompressor::sign_bits(const WireMessage& in, std::size_t d) const {
  return detail::check_message(in, code(), d, detail::bytes_for_bits(d));
}

void SignCompressor::decode_accumulate(const WireMessage& in, const StreamAddress&, float weight,
                                       std::span<float> acc) const {
  unpack_signs_accumulate(sign_bits(in, acc.size()), weight, acc);
}

double ScaledSignCompressor::omega(std::size_t) const { return std::nan(""); }

std::size_t ScaledSignCompressor::wire_bits(std::size_t d) const {
  return detail::header_bits() + 32 + 8 * detail::bytes_for_bits(d);
}

void ScaledSignCompressor::encode(std::span<const float> v, const StreamAddress& address,
                                  WireMessage& out) const {
  const std::size_t d = v.size();
  std::uint8_t* payload = detail::begin_message(out, code(), d, 4 + detail::bytes_for_bits(d));
  store_f32(payload, static_cast<float>(l1_norm(v) / static_cast<double>(d)));
  RandomStream coins(address.with_purpose(StreamPurpose::kCompression));
  pack_signs(v, payload + 4, coins);
}

void ScaledSignCompressor::decode_accumulate(const WireMessage& in, const StreamAddress&,
                                             float weight, std::span<float> acc) const {
  const std::size_t d = acc.size();
  const std::uint8_t* payload = detail::check_message(in, code(), d, 4 + detail::bytes_for_bits(d));
  unpack_signs_accumulate(payload + 4, weight * load_f32(payload), acc);
}

}  // namespace dsignsgd
