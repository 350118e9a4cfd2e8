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
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "dsignsgd/core/spec.hpp"

#include "dsignsgd/random/stream.hpp"

namespace dsignsgd {

/// A message that is not one its compressor wrote: wrong size, magic, code or dimension, or a
/// payload out of range. A fault of the peer or of the network, not of the configuration.
class WireFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What is known of Cov[C(v)], the compression covariance Φ(v) of docs/THEORY.md §1, which the
/// DCSGD SDE takes (sde/sde_model.hpp):
enum class CovarianceForm {
  kNone,      ///< not provided (biased compressors)
  kSampling,  ///< rand-k's, exactly: Φ(v) = ω d/(d−1) diag(v²) − ω/(d−1) v vᵀ with ω = omega(d);
              ///< the identity (ω = 0) too — ω is exact, not a bound
  kDiagonal,  ///< its diagonal, exactly, from variance_diagonal(v); ω is only a bound (QSGD,
              ///< natural: the variance depends on v itself)
};

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
  /// What Cov[C(v)] is known to be (default: the diagonal when variance_diagonal provides it).
  virtual CovarianceForm covariance_form() const {
    return unbiased() ? CovarianceForm::kDiagonal : CovarianceForm::kNone;
  }
  /// True when the payload is one bit per coordinate, bit set ⇔ +1 (sign methods).
  virtual bool sign_payload() const { return false; }
  /// For sign_payload() compressors, the packed bits of a message for dimension d (its header
  /// checked; WireFormatError on a malformed message), so that aggregation can count votes
  /// without decoding to floats (compress/bit_pack.hpp); nullptr for the others.
  virtual const std::uint8_t* sign_bits(const WireMessage& /*in*/, std::size_t /*d*/) const {
    return nullptr;
  }

  /// Encodes v. `address` keys the compressor's randomness: private rounding draws use
  /// StreamPurpose::kCompression, draws shared with the receiver kSharedCompression.
  virtual void encode(std::span<const float> v, const StreamAddress& address,
                      WireMessage& out) const = 0;
  /// acc += weight × C(v), decoding the message produced by encode with the same address.
  /// Throws WireFormatError on a malformed message.
  virtual void decode_accumulate(const WireMessage& in, const StreamAddress& address, float weight,
                                 std::span<float> acc) const = 0;

  /// out = C(v) (default: zero-fill and decode_accumulate with weight 1).
  virtual void decode(const WireMessage& in, const StreamAddress& address,
                      std::span<float> out) const;
};

/// A compressor as the registry knows it: its spec's name and form, the help line, the parser
/// and example specs that the test suites run through every property check.
struct CompressorInfo {
  std::string name;   ///< the spec's name, e.g. "qsgd"
  std::string form;   ///< the spec's form, e.g. "qsgd:S[:bucket]"
  std::string help;   ///< one line for --help: bits per coordinate, ω, biased or not
  /// Builds it from a parsed spec whose name is `name`; ConfigError (option "compressor") on
  /// bad arguments.
  std::function<std::unique_ptr<Compressor>(const Spec&)> make;
  /// Specs the test suites take as this compressor's cases (at least one).
  std::vector<std::string> examples;
};

/// Adds a compressor (its name must be new: DSIGNSGD_ASSERT) and returns it. The built-in ones
/// are registered before the first lookup; a program or test may add its own at start-up.
const CompressorInfo& register_compressor(CompressorInfo info);
/// The registered compressors in registration order (built-ins first).
std::vector<const CompressorInfo*> registered_compressors();
/// Every registered compressor's example specs, in registration order.
std::vector<std::string> compressor_examples();

/// Builds a compressor from a registered spec ("identity", "randk:F", "qsgd:S[:bucket]",
/// "natural", "sign", "scaled-sign", "topk:F", "fp16", "bf16", …). Throws ConfigError for option
/// "compressor" naming the whole specification.
std::unique_ptr<Compressor> make_compressor(const std::string& spec);

/// One line per registered compressor for --help: form, then its help text.
std::vector<std::string> compressor_help();

}  // namespace dsignsgd
