#pragma once
/// @file
/// Compressors encode an agent's vector into a real byte message and decode it back. Every
/// message starts with an 8-byte header (magic, compressor code, dimension) followed by the
/// payload, padded to whole bytes; `wire_bits(d)` is exactly 8 × the message size, so the bits
/// the engine counts are the bytes a network would carry.
///
/// Unbiased compressors (docs/THEORY.md §1) satisfy E[C(v)] = v and E||C(v) − v||² <= ω ||v||², with ω
/// returned by `omega(d)`. Biased compressors (sign, scaled-sign, top-k) return NaN there.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dsignsgd/random/stream.hpp"

namespace dsignsgd {

/// A message as it would travel on the wire.
struct WireMessage {
  std::vector<std::uint8_t> bytes;
};

enum class CompressorCode : std::uint8_t {
  kIdentity = 1,
  kRandK = 2,
  kQsgd = 3,
  kNatural = 4,
  kSign = 5,
  kTopK = 6,
  kScaledSign = 7,
  kFp16 = 8,
  kBf16 = 9,
};

inline constexpr std::size_t kMessageHeaderBytes = 8;
inline constexpr std::uint8_t kMessageMagic = 0xD5;

class Compressor {
 public:
  virtual ~Compressor() = default;

  /// Canonical specification, e.g. "randk:0.1"; make_compressor(name()) rebuilds it.
  virtual std::string name() const = 0;
  virtual CompressorCode code() const = 0;
  virtual bool unbiased() const = 0;
  /// Declared variance bound ω for dimension d; NaN for biased compressors.
  virtual double omega(std::size_t d) const = 0;
  /// Exact size in bits of the message for dimension d, header included.
  virtual std::size_t wire_bits(std::size_t d) const = 0;
  /// Writes the diagonal of Cov[C(v)] (the compression variance of each coordinate, docs/THEORY.md §1's
  /// Φ(v)) and returns true; returns false when the compressor does not provide it (biased ones).
  virtual bool variance_diagonal(std::span<const float> /*v*/, std::span<float> /*out*/) const {
    return false;
  }
  /// True when the payload is one bit per coordinate, bit set ⇔ +1 (sign methods).
  virtual bool sign_payload() const { return false; }
  /// For sign_payload() compressors, the packed bits of a message for dimension d (its header
  /// checked; std::runtime_error on a malformed message), so that aggregation can count votes
  /// without decoding to floats (compress/bit_pack.hpp); nullptr for the others.
  virtual const std::uint8_t* sign_bits(const WireMessage& /*in*/, std::size_t /*d*/) const {
    return nullptr;
  }

  /// Encodes v. `address` keys the compressor's randomness: private rounding draws use
  /// StreamPurpose::kCompression, draws shared with the receiver kSharedCompression.
  virtual void encode(std::span<const float> v, const StreamAddress& address,
                      WireMessage& out) const = 0;
  /// acc += weight × C(v), decoding the message produced by encode with the same address.
  /// Throws std::runtime_error on a malformed message.
  virtual void decode_accumulate(const WireMessage& in, const StreamAddress& address, float weight,
                                 std::span<float> acc) const = 0;

  /// out = C(v) (default: zero-fill and decode_accumulate with weight 1).
  virtual void decode(const WireMessage& in, const StreamAddress& address,
                      std::span<float> out) const;
};

/// Builds a compressor from "identity", "randk:F", "qsgd:S[:bucket]", "natural", "sign",
/// "scaled-sign", "topk:F", "fp16", "bf16". Throws ConfigError for option "compressor".
std::unique_ptr<Compressor> make_compressor(const std::string& spec);

/// One line per compressor for --help: name, form, biased or not.
std::vector<std::string> compressor_help();

}  // namespace dsignsgd
