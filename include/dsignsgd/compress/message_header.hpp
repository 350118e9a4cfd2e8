#pragma once
/// @file
/// The 8-byte header every message starts with, for compressors (the library's and a user's):
///   byte 0 magic 0xD5, byte 1 compressor code, bytes 2-3 zero, bytes 4-7 dimension (u32 LE).

#include <stdexcept>
#include <string>

#include "dsignsgd/compress/bit_pack.hpp"
#include "dsignsgd/compress/compressor.hpp"

namespace dsignsgd::detail {

inline constexpr std::size_t bytes_for_bits(std::size_t bits) { return (bits + 7) / 8; }

/// Resizes out to header + payload bytes and writes the header; returns the payload pointer.
inline std::uint8_t* begin_message(WireMessage& out, CompressorCode code, std::size_t d,
                                   std::size_t payload_bytes) {
  out.bytes.resize(kMessageHeaderBytes + payload_bytes);
  std::uint8_t* p = out.bytes.data();
  p[0] = kMessageMagic;
  p[1] = static_cast<std::uint8_t>(code);
  p[2] = 0;
  p[3] = 0;
  store_u32(p + 4, static_cast<std::uint32_t>(d));
  return p + kMessageHeaderBytes;
}

/// Checks the header against the expected code, dimension and size; returns the payload.
inline const std::uint8_t* check_message(const WireMessage& in, CompressorCode code, std::size_t d,
                                         std::size_t payload_bytes) {
  if (in.bytes.size() != kMessageHeaderBytes + payload_bytes) {
    throw WireFormatError("malformed message: " + std::to_string(in.bytes.size()) +
                             " bytes, expected " +
                             std::to_string(kMessageHeaderBytes + payload_bytes));
  }
  const std::uint8_t* p = in.bytes.data();
  if (p[0] != kMessageMagic || p[1] != static_cast<std::uint8_t>(code)) {
    throw WireFormatError("malformed message: wrong magic or compressor code");
  }
  if (load_u32(p + 4) != d) {
    throw WireFormatError("malformed message: dimension " + std::to_string(load_u32(p + 4)) +
                             ", expected " + std::to_string(d));
  }
  return p + kMessageHeaderBytes;
}

inline std::size_t header_bits() { return kMessageHeaderBytes * 8; }

}  // namespace dsignsgd::detail
