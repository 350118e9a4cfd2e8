#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"

namespace dsignsgd {
namespace {

double parse_fraction(const Spec& spec) {
  require_arg_count(spec, 1, "compressor", spec.name + ":F with F = k/d in (0, 1]");
  const double fraction = parse_double(spec.args[0], "compressor");
  if (!(fraction > 0.0 && fraction <= 1.0)) {
    throw ConfigError("compressor", spec.text, "fraction F = k/d must be in (0, 1]");
  }
  return fraction;
}

}  // namespace

std::unique_ptr<Compressor> make_compressor_unchecked(const std::string& text);

std::unique_ptr<Compressor> make_compressor(const std::string& text) {
  try {
    return make_compressor_unchecked(text);
  } catch (const ConfigError& e) {
    if (e.value() == text) throw;
    throw ConfigError("compressor", text, e.constraint());  // name the whole specification
  }
}

std::unique_ptr<Compressor> make_compressor_unchecked(const std::string& text) {
  const Spec spec = parse_spec(text);
  if (spec.name == "identity" || spec.name == "natural" || spec.name == "sign" ||
      spec.name == "scaled-sign" || spec.name == "fp16" || spec.name == "bf16") {
    require_arg_count(spec, 0, "compressor", spec.name);
    if (spec.name == "identity") return std::make_unique<IdentityCompressor>();
    if (spec.name == "natural") return std::make_unique<NaturalCompressor>();
    if (spec.name == "sign") return std::make_unique<SignCompressor>();
    if (spec.name == "fp16") return std::make_unique<HalfCompressor>(HalfFormat::kFp16);
    if (spec.name == "bf16") return std::make_unique<HalfCompressor>(HalfFormat::kBf16);
    return std::make_unique<ScaledSignCompressor>();
  }
  if (spec.name == "randk") return std::make_unique<RandKCompressor>(parse_fraction(spec));
  if (spec.name == "topk") return std::make_unique<TopKCompressor>(parse_fraction(spec));
  if (spec.name == "qsgd") {
    if (spec.args.empty() || spec.args.size() > 2) {
      throw ConfigError("compressor", text, "expected the form qsgd:S or qsgd:S:BUCKET");
    }
    const std::int64_t levels = parse_int(spec.args[0], "compressor");
    if (levels < 1 || levels > (1 << 20)) {
      throw ConfigError("compressor", text, "levels S must be in [1, 2^20]");
    }
    std::int64_t bucket = 0;
    if (spec.args.size() == 2) {
      bucket = parse_int(spec.args[1], "compressor");
      if (bucket < 1) throw ConfigError("compressor", text, "bucket size must be >= 1");
    }
    return std::make_unique<QsgdCompressor>(static_cast<unsigned>(levels),
                                            static_cast<std::size_t>(bucket));
  }
  throw ConfigError("compressor", text,
                    "must be one of identity, randk:F, qsgd:S[:bucket], natural, sign, "
                    "scaled-sign, topk:F, fp16, bf16");
}

std::vector<std::string> compressor_help() {
  return {
      "identity         fp32, 32 bits/coord, ω = 0 (unbiased)",
      "randk:F          k = F·d random coordinates scaled by d/k, 32k/d bits/coord, "
      "ω = d/k − 1 (unbiased)",
      "qsgd:S[:bucket]  S-level stochastic quantization, 1 + ceil(log2(S+1)) bits/coord + one "
      "fp32 per bucket, ω = min(b/S², √b/S) (unbiased)",
      "natural          stochastic rounding to powers of two, 9 bits/coord, ω = 1/8 (unbiased)",
      "sign             1 bit/coord, +1 ⇔ v >= 0 (BIASED; the sign methods' wire format)",
      "scaled-sign      ||v||₁/d · sign(v), 1 bit/coord + one fp32 (BIASED; beyond the papers)",
      "topk:F           k = F·d largest |v_j|, 64 bits per kept coordinate (BIASED; beyond the "
      "papers)",
      "fp16             IEEE half, round-to-nearest-even, 16 bits/coord (deterministic; a "
      "baseline beyond the papers)",
      "bf16             bfloat16, round-to-nearest-even, 16 bits/coord (deterministic; a "
      "baseline beyond the papers)",
  };
}

}  // namespace dsignsgd
