#pragma once
/// @file
/// FNV-1a, 64 bits: the checksum of checkpoint files, the fingerprint ranks compare, and the
/// hash summary.json records of its metrics.csv. Not cryptographic: it catches damage and
/// mismatches, not tampering.

#include <cstdint>
#include <span>
#include <string_view>

namespace dsignsgd {

inline std::uint64_t fnv1a64(std::span<const std::uint8_t> bytes) {
  std::uint64_t hash = 1469598103934665603ull;
  for (std::uint8_t byte : bytes) hash = (hash ^ byte) * 1099511628211ull;
  return hash;
}

inline std::uint64_t fnv1a64(std::string_view text) {
  return fnv1a64(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace dsignsgd
