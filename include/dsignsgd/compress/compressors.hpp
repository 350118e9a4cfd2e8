#pragma once
/// @file
/// The shipped compressors. Payload layouts (after the 8-byte header):
///   identity     d fp32                                   32 bits/coord, ω = 0
///   randk:F      k fp32 values of the kept coordinates    32k/d bits/coord, ω = d/k − 1
///                (indices from the shared stream; Floyd's sampling without replacement;
///                 decoded values scaled by d/k)
///   qsgd:S[:b]   per bucket of b coords: fp32 ||v_b||, then per coord 1 sign bit and a level
///                in 0..S on ceil(log2(S+1)) bits; ω = min(b/S², √b/S) (Alistarh et al. 2017)
///   natural      per coord sign bit + 8-bit exponent: |v| rounded stochastically to one of the
///                two neighbouring powers of two; 9 bits/coord, ω = 1/8 (Horváth et al. 2019)
///   sign         1 bit per coordinate, +1 ⇔ v >= 0 (biased)
///   scaled-sign  fp32 ||v||₁/d, then 1 bit per coordinate (biased; Karimireddy et al. 2019)
///   topk:F       k (fp32 value, u32 index) pairs of the largest |v_j| (biased)
///   fp16, bf16   d 16-bit values rounded to nearest, ties to even (deterministic, so biased in
///                principle; relative error ≤ 2^-11 resp. 2^-8 within range; fp16 overflows to
///                ±∞ from 65520 on). The baselines of DDP's communication hooks.

#include <limits>

#include "dsignsgd/compress/compressor.hpp"

namespace dsignsgd {

class IdentityCompressor final : public Compressor {
 public:
  std::string name() const override { return "identity"; }
  CompressorCode code() const override { return CompressorCode::kIdentity; }
  bool unbiased() const override { return true; }
  double omega(std::size_t) const override { return 0.0; }
  CovarianceForm covariance_form() const override { return CovarianceForm::kSampling; }
  std::size_t wire_bits(std::size_t d) const override;
  bool variance_diagonal(std::span<const float> v, std::span<float> out) const override;
  void encode(std::span<const float> v, const StreamAddress& address,
              WireMessage& out) const override;
  void decode_accumulate(const WireMessage& in, const StreamAddress& address, float weight,
                         std::span<float> acc) const override;
  /// Bit-exact copy (keeps −0.0, which 0 + (−0.0) would not).
  void decode(const WireMessage& in, const StreamAddress& address,
              std::span<float> out) const override;
};

class RandKCompressor final : public Compressor {
 public:
  explicit RandKCompressor(double fraction) : fraction_(fraction) {}
  std::string name() const override;
  CompressorCode code() const override { return CompressorCode::kRandK; }
  bool unbiased() const override { return true; }
  double omega(std::size_t d) const override;
  CovarianceForm covariance_form() const override { return CovarianceForm::kSampling; }
  std::size_t wire_bits(std::size_t d) const override;
  bool variance_diagonal(std::span<const float> v, std::span<float> out) const override;
  void encode(std::span<const float> v, const StreamAddress& address,
              WireMessage& out) const override;
  void decode_accumulate(const WireMessage& in, const StreamAddress& address, float weight,
                         std::span<float> acc) const override;
  /// k = round(F·d) clamped to [1, d].
  std::size_t kept(std::size_t d) const;
  /// The kept coordinates of a d-vector at this address, in increasing order: what encode sends
  /// and decode places (they depend on the address only, not on the vector).
  std::vector<std::uint32_t> indices(std::size_t d, const StreamAddress& address) const;

 private:
  double fraction_;
};

class QsgdCompressor final : public Compressor {
 public:
  /// @param bucket 0 means one bucket of the whole vector.
  QsgdCompressor(unsigned levels, std::size_t bucket) : levels_(levels), bucket_(bucket) {}
  std::string name() const override;
  CompressorCode code() const override { return CompressorCode::kQsgd; }
  bool unbiased() const override { return true; }
  double omega(std::size_t d) const override;
  std::size_t wire_bits(std::size_t d) const override;
  bool variance_diagonal(std::span<const float> v, std::span<float> out) const override;
  void encode(std::span<const float> v, const StreamAddress& address,
              WireMessage& out) const override;
  void decode_accumulate(const WireMessage& in, const StreamAddress& address, float weight,
                         std::span<float> acc) const override;

 private:
  unsigned level_bits() const;
  std::size_t bucket_size(std::size_t d) const { return bucket_ == 0 || bucket_ > d ? d : bucket_; }
  unsigned levels_;
  std::size_t bucket_;
};

class NaturalCompressor final : public Compressor {
 public:
  std::string name() const override { return "natural"; }
  CompressorCode code() const override { return CompressorCode::kNatural; }
  bool unbiased() const override { return true; }
  double omega(std::size_t) const override { return 0.125; }
  std::size_t wire_bits(std::size_t d) const override;
  bool variance_diagonal(std::span<const float> v, std::span<float> out) const override;
  void encode(std::span<const float> v, const StreamAddress& address,
              WireMessage& out) const override;
  void decode_accumulate(const WireMessage& in, const StreamAddress& address, float weight,
                         std::span<float> acc) const override;
};

class SignCompressor final : public Compressor {
 public:
  std::string name() const override { return "sign"; }
  CompressorCode code() const override { return CompressorCode::kSign; }
  bool unbiased() const override { return false; }
  double omega(std::size_t) const override;
  std::size_t wire_bits(std::size_t d) const override;
  bool sign_payload() const override { return true; }
  const std::uint8_t* sign_bits(const WireMessage& in, std::size_t d) const override;
  void encode(std::span<const float> v, const StreamAddress& address,
              WireMessage& out) const override;
  void decode_accumulate(const WireMessage& in, const StreamAddress& address, float weight,
                         std::span<float> acc) const override;
};

class ScaledSignCompressor final : public Compressor {
 public:
  std::string name() const override { return "scaled-sign"; }
  CompressorCode code() const override { return CompressorCode::kScaledSign; }
  bool unbiased() const override { return false; }
  double omega(std::size_t) const override;
  std::size_t wire_bits(std::size_t d) const override;
  void encode(std::span<const float> v, const StreamAddress& address,
              WireMessage& out) const override;
  void decode_accumulate(const WireMessage& in, const StreamAddress& address, float weight,
                         std::span<float> acc) const override;
};

class TopKCompressor final : public Compressor {
 public:
  explicit TopKCompressor(double fraction) : fraction_(fraction) {}
  std::string name() const override;
  CompressorCode code() const override { return CompressorCode::kTopK; }
  bool unbiased() const override { return false; }
  double omega(std::size_t) const override;
  std::size_t wire_bits(std::size_t d) const override;
  void encode(std::span<const float> v, const StreamAddress& address,
              WireMessage& out) const override;
  void decode_accumulate(const WireMessage& in, const StreamAddress& address, float weight,
                         std::span<float> acc) const override;
  std::size_t kept(std::size_t d) const;

 private:
  double fraction_;
};

enum class HalfFormat { kFp16, kBf16 };

class HalfCompressor final : public Compressor {
 public:
  explicit HalfCompressor(HalfFormat format) : format_(format) {}
  std::string name() const override { return format_ == HalfFormat::kFp16 ? "fp16" : "bf16"; }
  CompressorCode code() const override {
    return format_ == HalfFormat::kFp16 ? CompressorCode::kFp16 : CompressorCode::kBf16;
  }
  bool unbiased() const override { return false; }
  double omega(std::size_t) const override { return std::numeric_limits<double>::quiet_NaN(); }
  std::size_t wire_bits(std::size_t d) const override;
  bool variance_diagonal(std::span<const float> v, std::span<float> out) const override;
  void encode(std::span<const float> v, const StreamAddress& address,
              WireMessage& out) const override;
  void decode_accumulate(const WireMessage& in, const StreamAddress& address, float weight,
                         std::span<float> acc) const override;

 private:
  HalfFormat format_;
};

}  // namespace dsignsgd
