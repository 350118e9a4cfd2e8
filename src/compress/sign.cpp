// sign and scaled sign: one bit per coordinate (+1 ⇔ v >= 0).
#include <cmath>

#include "dsignsgd/compress/compressors.hpp"
#include "message_header.hpp"

namespace dsignsgd {

double SignCompressor::omega(std::size_t) const { return std::nan(""); }

std::size_t SignCompressor::wire_bits(std::size_t d) const {
  return detail::header_bits() + 8 * detail::bytes_for_bits(d);
}

void SignCompressor::encode(std::span<const float> v, const StreamAddress&,
                            WireMessage& out) const {
  std::uint8_t* payload =
      detail::begin_message(out, code(), v.size(), detail::bytes_for_bits(v.size()));
  pack_signs(v, payload);
}

void SignCompressor::decode_accumulate(const WireMessage& in, const StreamAddress&, float weight,
                                       std::span<float> acc) const {
  const std::uint8_t* payload =
      detail::check_message(in, code(), acc.size(), detail::bytes_for_bits(acc.size()));
  unpack_signs_accumulate(payload, weight, acc);
}

double ScaledSignCompressor::omega(std::size_t) const { return std::nan(""); }

std::size_t ScaledSignCompressor::wire_bits(std::size_t d) const {
  return detail::header_bits() + 32 + 8 * detail::bytes_for_bits(d);
}

void ScaledSignCompressor::encode(std::span<const float> v, const StreamAddress&,
                                  WireMessage& out) const {
  const std::size_t d = v.size();
  std::uint8_t* payload = detail::begin_message(out, code(), d, 4 + detail::bytes_for_bits(d));
  double l1 = 0.0;
  for (float x : v) l1 += std::abs(static_cast<double>(x));
  store_f32(payload, static_cast<float>(l1 / static_cast<double>(d)));
  pack_signs(v, payload + 4);
}

void ScaledSignCompressor::decode_accumulate(const WireMessage& in, const StreamAddress&,
                                             float weight, std::span<float> acc) const {
  const std::size_t d = acc.size();
  const std::uint8_t* payload =
      detail::check_message(in, code(), d, 4 + detail::bytes_for_bits(d));
  unpack_signs_accumulate(payload + 4, weight * load_f32(payload), acc);
}

}  // namespace dsignsgd
