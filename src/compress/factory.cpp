#include <deque>

#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/core/assert.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/join.hpp"
#include "dsignsgd/core/registry.hpp"
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

std::unique_ptr<Compressor> make_qsgd(const Spec& spec) {
  if (spec.args.empty() || spec.args.size() > 2) {
    throw ConfigError("compressor", spec.text, "expected the form qsgd:S or qsgd:S:BUCKET");
  }
  const std::int64_t levels = parse_int(spec.args[0], "compressor");
  if (levels < 1 || levels > (1 << 20)) {
    throw ConfigError("compressor", spec.text, "levels S must be in [1, 2^20]");
  }
  std::int64_t bucket = 0;
  if (spec.args.size() == 2) {
    bucket = parse_int(spec.args[1], "compressor");
    if (bucket < 1) throw ConfigError("compressor", spec.text, "bucket size must be >= 1");
  }
  return std::make_unique<QsgdCompressor>(static_cast<unsigned>(levels),
                                          static_cast<std::size_t>(bucket));
}

/// A compressor whose spec takes no arguments.
template <class Make>
std::function<std::unique_ptr<Compressor>(const Spec&)> without_arguments(Make make) {
  return [make](const Spec& spec) -> std::unique_ptr<Compressor> {
    require_arg_count(spec, 0, "compressor", spec.name);
    return make();
  };
}

/// The built-in compressors, in the order --help lists them.
std::deque<CompressorInfo> builtin_compressors() {
  std::deque<CompressorInfo> c;
  c.push_back({"identity", "identity", "fp32, 32 bits/coord, ω = 0 (unbiased)",
               without_arguments([] { return std::make_unique<IdentityCompressor>(); }),
               {"identity"}});
  c.push_back({"randk", "randk:F",
               "k = F·d random coordinates scaled by d/k, 32k/d bits/coord, ω = d/k − 1 (unbiased)",
               [](const Spec& s) { return std::make_unique<RandKCompressor>(parse_fraction(s)); },
               {"randk:0.1", "randk:0.5", "randk:1"}});
  c.push_back({"qsgd", "qsgd:S[:bucket]",
               "S-level stochastic quantization, 1 + ceil(log2(S+1)) bits/coord + one fp32 per "
               "bucket, ω = min(b/S², √b/S) (unbiased)",
               make_qsgd, {"qsgd:1", "qsgd:4", "qsgd:3:16"}});
  c.push_back({"natural", "natural",
               "stochastic rounding to powers of two, 9 bits/coord, ω = 1/8 (unbiased)",
               without_arguments([] { return std::make_unique<NaturalCompressor>(); }),
               {"natural"}});
  c.push_back({"sign", "sign", "1 bit/coord, +1 ⇔ v >= 0 (BIASED; the sign methods' wire format)",
               without_arguments([] { return std::make_unique<SignCompressor>(); }), {"sign"}});
  c.push_back({"scaled-sign", "scaled-sign",
               "||v||₁/d · sign(v), 1 bit/coord + one fp32 (BIASED; beyond the papers)",
               without_arguments([] { return std::make_unique<ScaledSignCompressor>(); }),
               {"scaled-sign"}});
  c.push_back({"topk", "topk:F",
               "k = F·d largest |v_j|, 64 bits per kept coordinate (BIASED; beyond the papers)",
               [](const Spec& s) { return std::make_unique<TopKCompressor>(parse_fraction(s)); },
               {"topk:0.25"}});
  c.push_back({"fp16", "fp16",
               "IEEE half, round-to-nearest-even, 16 bits/coord (deterministic; a baseline beyond "
               "the papers)",
               without_arguments([] { return std::make_unique<HalfCompressor>(HalfFormat::kFp16); }),
               {"fp16"}});
  c.push_back({"bf16", "bf16",
               "bfloat16, round-to-nearest-even, 16 bits/coord (deterministic; a baseline beyond "
               "the papers)",
               without_arguments([] { return std::make_unique<HalfCompressor>(HalfFormat::kBf16); }),
               {"bf16"}});
  return c;
}

NamedRegistry<CompressorInfo>& registry() {
  static NamedRegistry<CompressorInfo> instance(builtin_compressors());
  return instance;
}

std::unique_ptr<Compressor> make_compressor_unchecked(const std::string& text) {
  const Spec spec = parse_spec(text);
  std::vector<std::string> forms;
  for (const CompressorInfo* info : registered_compressors()) {
    if (info->name == spec.name) return info->make(spec);
    forms.push_back(info->form);
  }
  throw ConfigError("compressor", text, "must be one of " + join(forms, ", "));
}

}  // namespace

const CompressorInfo& register_compressor(CompressorInfo info) {
  DSIGNSGD_ASSERT(info.make && !info.examples.empty(),
                  "a compressor needs a parser and at least one example spec");
  return registry().add(std::move(info));
}

std::vector<const CompressorInfo*> registered_compressors() { return registry().entries(); }

std::vector<std::string> compressor_examples() {
  std::vector<std::string> out;
  for (const CompressorInfo* info : registered_compressors()) {
    out.insert(out.end(), info->examples.begin(), info->examples.end());
  }
  return out;
}

std::unique_ptr<Compressor> make_compressor(const std::string& text) {
  try {
    return make_compressor_unchecked(text);
  } catch (const ConfigError& e) {
    if (e.value() == text) throw;
    throw ConfigError("compressor", text, e.constraint());  // name the whole specification
  }
}

std::vector<std::string> compressor_help() {
  constexpr std::size_t kFormWidth = 17;  // the help text starts in one column
  std::vector<std::string> lines;
  for (const CompressorInfo* info : registered_compressors()) {
    std::string form = info->form;
    form.resize(std::max(kFormWidth, form.size() + 2), ' ');
    lines.push_back(form + info->help);
  }
  return lines;
}

}  // namespace dsignsgd
