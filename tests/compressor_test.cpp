#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>

#include "dsignsgd/compress/bit_pack.hpp"
#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/compress/half.hpp"
#include "dsignsgd/compress/measure.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

using testing::kZ;
using testing::test_seed;

std::vector<float> gaussian_vector(std::size_t d, std::uint64_t seed) {
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  std::vector<float> v(d);
  for (float& x : v) x = static_cast<float>(rng.normal());
  v[0] = 0.0f;  // a zero coordinate must stay unbiased too
  return v;
}

/// T compressions of v (library: compress/measure.hpp).
CompressorMeasurement compress_many(const Compressor& c, const std::vector<float>& v, int trials,
                                    std::uint64_t seed) {
  return measure_compressor(c, v, trials,
                            StreamAddress{seed, 3, 1, 0, StreamPurpose::kGradientNoise});
}

double norm_sq(const std::vector<float>& v) {
  double s = 0.0;
  for (float x : v) s += static_cast<double>(x) * x;
  return s;
}

/// The registered compressors' example specs (compress/compressor.hpp), all or the unbiased ones:
/// a new compressor's registration puts it through every property check below.
std::vector<std::string> examples(bool unbiased_only) {
  std::vector<std::string> out;
  for (const std::string& spec : compressor_examples()) {
    if (!unbiased_only || make_compressor(spec)->unbiased()) out.push_back(spec);
  }
  return out;
}

class UnbiasedCompressor : public ::testing::TestWithParam<std::string> {};

TEST_P(UnbiasedCompressor, IsUnbiasedAndWithinItsOmega) {
  const std::uint64_t seed = test_seed(21);
  const auto c = make_compressor(GetParam());
  ASSERT_TRUE(c->unbiased());
  const std::vector<float> v = gaussian_vector(60, seed);
  const CompressorMeasurement mc = compress_many(*c, v, 20000, seed);
  EXPECT_LT(mc.max_bias_z, kZ) << GetParam();
  const double bound = c->omega(v.size()) * norm_sq(v);
  EXPECT_LE(mc.error_mean, bound + kZ * mc.error_stderr) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(All, UnbiasedCompressor, ::testing::ValuesIn(examples(true)));

TEST(CompressorRegistry, EveryExampleRebuildsFromItsNameAndDeclaresItsKind) {
  const std::vector<std::string> all = examples(false);
  // The shipped ones, at least: a registration lost from the table fails here.
  for (const char* spec : {"identity", "randk:0.1", "qsgd:4", "natural", "sign", "scaled-sign",
                           "topk:0.25", "fp16", "bf16"}) {
    EXPECT_NE(std::find(all.begin(), all.end(), spec), all.end()) << spec;
  }
  EXPECT_EQ(compressor_help().size(), registered_compressors().size());
  for (const std::string& spec : all) {
    const auto c = make_compressor(spec);
    EXPECT_EQ(make_compressor(c->name())->name(), c->name()) << spec;
    // ω is declared exactly when the compressor is unbiased; the covariance form follows.
    EXPECT_EQ(std::isnan(c->omega(100)), !c->unbiased()) << spec;
    EXPECT_EQ(c->covariance_form() == CovarianceForm::kNone, !c->unbiased()) << spec;
  }
  EXPECT_EQ(make_compressor("randk:0.5")->covariance_form(), CovarianceForm::kSampling);
  EXPECT_EQ(make_compressor("identity")->covariance_form(), CovarianceForm::kSampling);
  EXPECT_EQ(make_compressor("qsgd:4")->covariance_form(), CovarianceForm::kDiagonal);
}

TEST(RandKCompressor, VarianceEqualsOmegaExactly) {
  // E||C(v) − v||² = (d/k − 1)||v||² for rand-k: the bound is attained, so a wrong scaling fails.
  const std::uint64_t seed = test_seed(22);
  for (const char* spec : {"randk:0.1", "randk:0.3"}) {
    const auto c = make_compressor(spec);
    const std::vector<float> v = gaussian_vector(50, seed);
    const CompressorMeasurement mc = compress_many(*c, v, 20000, seed);
    EXPECT_NEAR(mc.error_mean, c->omega(50) * norm_sq(v), kZ * mc.error_stderr) << spec;
  }
}

TEST(UnbiasednessCheck, DetectsBiasedCompressors) {
  // Negative control: the same check must reject the biased compressors.
  const std::uint64_t seed = test_seed(23);
  const std::vector<float> v = gaussian_vector(60, seed);
  for (const char* spec : {"topk:0.1", "sign", "scaled-sign"}) {
    const auto c = make_compressor(spec);
    EXPECT_FALSE(c->unbiased());
    EXPECT_TRUE(std::isnan(c->omega(60)));
    EXPECT_GT(compress_many(*c, v, 2000, seed).max_bias_z, kZ) << spec;
  }
}

TEST(Compressor, EncodedSizeEqualsDeclaredBits) {
  const std::uint64_t seed = test_seed(24);
  std::vector<std::string> specs = examples(false);
  specs.insert(specs.end(), {"qsgd:15", "qsgd:7:10"});
  for (const std::string& spec : specs) {
    const auto c = make_compressor(spec);
    for (std::size_t d : {1u, 7u, 8u, 63u, 64u, 65u, 1000u, 4099u}) {
      const std::vector<float> v = gaussian_vector(d, seed);
      WireMessage message;
      c->encode(v, StreamAddress{seed, 0, 0, 0, StreamPurpose::kGradientNoise}, message);
      EXPECT_EQ(8 * message.bytes.size(), c->wire_bits(d)) << spec << " d=" << d;
    }
  }
}

TEST(Compressor, WireCostsMatchSpec) {
  const std::size_t d = 1 << 20;
  const double header = 64.0 / d;
  EXPECT_DOUBLE_EQ(make_compressor("sign")->wire_bits(d) / double(d), 1.0 + header);
  EXPECT_DOUBLE_EQ(make_compressor("identity")->wire_bits(d) / double(d), 32.0 + header);
  EXPECT_DOUBLE_EQ(make_compressor("natural")->wire_bits(d) / double(d), 9.0 + header);
  EXPECT_DOUBLE_EQ(make_compressor("fp16")->wire_bits(d) / double(d), 16.0 + header);
  EXPECT_DOUBLE_EQ(make_compressor("bf16")->wire_bits(d) / double(d), 16.0 + header);
  EXPECT_NEAR(make_compressor("randk:0.01")->wire_bits(d) / double(d), 0.32, 1e-3);
  // qsgd:15: 1 sign bit + 4 level bits per coordinate, one fp32 norm.
  EXPECT_DOUBLE_EQ(make_compressor("qsgd:15")->wire_bits(d) / double(d), 5.0 + header + 32.0 / d);
}

TEST(IdentityCompressor, RoundTripIsBitExact) {
  std::vector<float> v = {0.0f,
                          -0.0f,
                          1.5f,
                          -3.25e-39f,
                          std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::infinity(),
                          1e-45f,
                          -7.0f};
  const auto c = make_compressor("identity");
  WireMessage message;
  const StreamAddress address{};
  c->encode(v, address, message);
  std::vector<float> out(v.size());
  c->decode(message, address, out);
  for (std::size_t j = 0; j < v.size(); ++j) {
    EXPECT_EQ(std::bit_cast<std::uint32_t>(out[j]), std::bit_cast<std::uint32_t>(v[j]));
  }
}

TEST(NaturalCompressor, KeepsPowersOfTwoExactly) {
  const std::vector<float> v = {1.0f, -2.0f, 0.25f, 0.0f, -1024.0f, 0x1p-100f};
  const auto c = make_compressor("natural");
  std::vector<float> out(v.size());
  WireMessage message;
  for (std::uint32_t step = 0; step < 50; ++step) {
    const StreamAddress address{1, 0, 0, step, StreamPurpose::kGradientNoise};
    c->encode(v, address, message);
    c->decode(message, address, out);
    EXPECT_EQ(out, v);
  }
}

TEST(SignCompressor, PacksSignsAndSendsZerosAsFairCoins) {
  const std::uint64_t seed = test_seed(25);
  // Lengths around the 64-wide vector loop exercise both the vector body and the scalar tail.
  for (std::size_t d : {1u, 63u, 64u, 65u, 130u, 1000u}) {
    std::vector<float> v = gaussian_vector(d, seed + d);
    const auto c = make_compressor("sign");
    WireMessage message;
    std::vector<float> out(d);
    const StreamAddress address{seed, 0, 0, static_cast<std::uint32_t>(d),
                                StreamPurpose::kGradientNoise};
    c->encode(v, address, message);
    c->decode(message, address, out);
    for (std::size_t j = 1; j < d; ++j) {  // v[0] is 0
      ASSERT_EQ(out[j], v[j] > 0.0f ? 1.0f : -1.0f) << "d=" << d << " j=" << j;
    }
  }
  // Exact zeros (±0) come out ±1 with probability ½ each (the papers' E sign(0) = 0).
  constexpr std::size_t kDim = 1000;
  std::vector<float> zeros(kDim, 0.0f);
  for (std::size_t j = 0; j < kDim; j += 2) zeros[j] = -0.0f;
  const auto c = make_compressor("sign");
  WireMessage message;
  std::vector<float> out(kDim);
  double sum = 0.0;
  constexpr int kTrials = 40;
  for (int t = 0; t < kTrials; ++t) {
    const StreamAddress address{seed, 1, 0, static_cast<std::uint32_t>(t),
                                StreamPurpose::kGradientNoise};
    c->encode(zeros, address, message);
    c->decode(message, address, out);
    for (float x : out) sum += x;
  }
  const double n = static_cast<double>(kDim) * kTrials;
  EXPECT_NEAR(sum / n, 0.0, kZ / std::sqrt(n));
}

TEST(SignVotes, BitSlicedCountsEqualTheOneByOneReference) {
  // count_sign_votes / sum_sign_votes against count_sign_bits / unpack_signs_accumulate, agent by
  // agent: agent counts across every plane width (1 … 300 agents: 1 to 9 count bits), lengths
  // around the 64-coordinate word and the 4096-coordinate block, random bits past d.
  const std::uint64_t seed = test_seed(26);
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  for (std::size_t agents : {0u, 1u, 2u, 3u, 4u, 7u, 8u, 16u, 17u, 64u, 255u, 256u, 300u}) {
    for (std::size_t d : {1u, 7u, 63u, 64u, 65u, 4095u, 4096u, 4097u, 10000u}) {
      std::vector<std::vector<std::uint8_t>> bits(agents, std::vector<std::uint8_t>((d + 7) / 8));
      std::vector<const std::uint8_t*> payloads;
      for (auto& payload : bits) {
        for (auto& byte : payload) byte = static_cast<std::uint8_t>(rng.next_u64());
        payloads.push_back(payload.data());
      }
      std::vector<std::uint16_t> counts(d, 7), reference_counts(d, 0);
      std::vector<float> sums(d, 7.0f), reference_sums(d, 0.0f);
      for (const std::uint8_t* payload : payloads) {
        count_sign_bits(payload, reference_counts);
        unpack_signs_accumulate(payload, 1.0f, reference_sums);
      }
      count_sign_votes(payloads, counts);
      sum_sign_votes(payloads, sums);
      ASSERT_EQ(counts, reference_counts) << "N = " << agents << ", d = " << d;
      for (std::size_t j = 0; j < d; ++j) {
        ASSERT_EQ(std::bit_cast<std::uint32_t>(sums[j]),
                  std::bit_cast<std::uint32_t>(reference_sums[j]))
            << "N = " << agents << ", d = " << d << ", j = " << j;
      }
    }
  }
}

TEST(FixedWidthCodes, PackAndUnpackEqualTheBitWriterAndReader) {
  // pack_codes / unpack_codes (64 bits at a time, in pieces that start mid-byte) against the
  // byte-at-a-time BitWriter / BitReader, for every width 1 … 32.
  const std::uint64_t seed = test_seed(27);
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  for (unsigned width = 1; width <= 32; ++width) {
    for (std::size_t n : {1u, 7u, 8u, 9u, 64u, 65u, 1000u, 1001u}) {
      std::vector<std::uint32_t> codes(n);
      const std::uint64_t mask = (std::uint64_t{1} << width) - 1;
      for (auto& code : codes) code = static_cast<std::uint32_t>(rng.next_u64() & mask);
      const std::size_t bytes = (width * n + 7) / 8;
      std::vector<std::uint8_t> reference(bytes, 0);
      BitWriter writer(reference.data());
      for (std::uint32_t code : codes) writer.put(code, width);
      writer.flush();
      // In three pieces, as the compressors pack chunk after chunk: cut anywhere (pieces start
      // mid-byte) or at multiples of 8 codes (byte-aligned pieces, eight codes to width bytes).
      for (const std::size_t align : {1u, 8u}) {
        const std::size_t cut1 = n / 3 / align * align, cut2 = 2 * n / 3 / align * align;
        std::vector<std::uint8_t> packed(bytes + 8, 0xAB);  // 8 guard bytes must stay untouched
        packed[0] = 0;
        pack_codes(std::span(codes).subspan(0, cut1), width, packed.data(), 0);
        pack_codes(std::span(codes).subspan(cut1, cut2 - cut1), width, packed.data(), cut1 * width);
        pack_codes(std::span(codes).subspan(cut2), width, packed.data(), cut2 * width);
        ASSERT_EQ(std::vector(packed.begin(), packed.begin() + bytes), reference)
            << "width " << width << ", n = " << n << ", cuts at multiples of " << align;
        ASSERT_EQ(std::vector(packed.begin() + bytes, packed.end()),
                  std::vector<std::uint8_t>(8, 0xAB))
            << "width " << width << ", n = " << n << ": written past the last code's byte";
        std::vector<std::uint32_t> unpacked(n - cut1);
        unpack_codes(reference.data(), bytes, cut1 * width, width, unpacked);
        BitReader reader(reference.data());
        for (std::size_t i = 0; i < cut1; ++i) reader.get(width);
        for (std::size_t i = cut1; i < n; ++i) {
          ASSERT_EQ(unpacked[i - cut1], reader.get(width)) << "width " << width << ", i = " << i;
        }
      }
    }
  }
}

/// The QSGD message written the plain way: the bucket norm from eight partial sums, then one
/// stochastic rounding per coordinate with the stream's next draw, codes through a BitWriter.
std::vector<std::uint8_t> qsgd_reference(std::span<const float> v, unsigned levels,
                                         std::size_t bucket, const StreamAddress& address) {
  const std::size_t d = v.size();
  const std::size_t b = bucket == 0 || bucket > d ? d : bucket;
  const std::size_t buckets = (d + b - 1) / b;
  const unsigned width = 1 + static_cast<unsigned>(std::bit_width(levels));
  std::vector<std::uint8_t> out(8 + 4 * buckets + (width * d + 7) / 8, 0);
  out[0] = kMessageMagic;
  out[1] = static_cast<std::uint8_t>(CompressorCode::kQsgd);
  store_u32(out.data() + 4, static_cast<std::uint32_t>(d));
  RandomStream rng(address.with_purpose(StreamPurpose::kCompression));
  BitWriter writer(out.data() + 8 + 4 * buckets);
  const double s = levels;
  for (std::size_t k = 0; k < buckets; ++k) {
    const std::size_t end = std::min(d, k * b + b);
    double partial[8] = {};
    std::size_t j = k * b;
    for (; j + 8 <= end; j += 8) {
      for (std::size_t lane = 0; lane < 8; ++lane) {
        partial[lane] += static_cast<double>(v[j + lane]) * static_cast<double>(v[j + lane]);
      }
    }
    for (; j < end; ++j) partial[0] += static_cast<double>(v[j]) * static_cast<double>(v[j]);
    const double sum = ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
                       ((partial[4] + partial[5]) + (partial[6] + partial[7]));
    const auto norm = static_cast<float>(std::sqrt(sum));
    store_f32(out.data() + 8 + 4 * k, norm);
    const double inv_norm = norm > 0.0f ? 1.0 / norm : 0.0;
    for (j = k * b; j < end; ++j) {
      const double scaled = s * std::abs(static_cast<double>(v[j])) * inv_norm;
      double level = std::floor(scaled);
      if (static_cast<double>(rng.next_u32()) * 0x1p-32 < scaled - level) level += 1.0;
      const auto quantized = static_cast<std::uint64_t>(std::min(level, s));
      writer.put((v[j] < 0.0f ? 1u : 0u) | (quantized << 1), width);
    }
  }
  writer.flush();
  return out;
}

TEST(QsgdCompressor, EncodingEqualsThePlainReferenceAndDecodesItsLevels) {
  const std::uint64_t seed = test_seed(28);
  for (const auto& [levels, bucket] : std::vector<std::pair<unsigned, std::size_t>>{
           {1, 0}, {2, 0}, {4, 8}, {15, 0}, {3, 16}, {255, 100}, {1u << 20, 0}}) {
    for (std::size_t d : {1u, 9u, 2047u, 2048u, 5000u}) {
      const std::vector<float> v = gaussian_vector(d, seed + d);
      const QsgdCompressor c(levels, bucket);
      const StreamAddress address{seed, 2, 1, static_cast<std::uint32_t>(d),
                                  StreamPurpose::kGradientNoise};
      WireMessage message;
      c.encode(gaussian_vector(d, seed + d + 1), address, message);
      std::fill(message.bytes.begin() + 8, message.bytes.end(), 0xA5);
      c.encode(v, address, message);  // a reused message must not leak old bytes
      ASSERT_EQ(message.bytes, qsgd_reference(v, levels, bucket, address))
          << c.name() << ", d = " << d;
      // Decoding gives ±norm·level/s exactly: every value is a multiple of its bucket's unit.
      std::vector<float> out(d, 1.0f);
      c.decode_accumulate(message, address, 2.0f, out);
      const std::size_t b = bucket == 0 || bucket > d ? d : bucket;
      const unsigned width = 1 + static_cast<unsigned>(std::bit_width(levels));
      BitReader reader(message.bytes.data() + 8 + 4 * ((d + b - 1) / b));
      for (std::size_t j = 0; j < d; ++j) {
        const float unit =
            2.0f * load_f32(message.bytes.data() + 8 + 4 * (j / b)) / static_cast<float>(levels);
        const std::uint64_t code_bits = reader.get(width);
        const float magnitude = unit * static_cast<float>(code_bits >> 1);
        ASSERT_EQ(out[j], 1.0f + ((code_bits & 1u) ? -magnitude : magnitude)) << "j = " << j;
      }
    }
  }
}

TEST(TopKCompressor, RadixSelectionEqualsTheComparisonSelection) {
  // The k largest magnitudes, ties to the lower index, indices increasing: the radix select
  // against nth_element with that comparison, on data with many exact ties (coarse values, ±0,
  // infinities) and on Gaussian data, for k from 1 to d.
  const std::uint64_t seed = test_seed(29);
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  for (std::size_t d : {1u, 2u, 100u, 4097u, 50000u}) {
    for (int kind = 0; kind < 3; ++kind) {
      std::vector<float> v(d);
      for (float& x : v) {
        const double z = rng.normal();
        x = kind == 0   ? static_cast<float>(z)
            : kind == 1 ? static_cast<float>(std::round(2.0 * z)) / 2.0f  // ties, ±0
                        : (z > 2.5    ? std::numeric_limits<float>::infinity()
                           : z < -2.5 ? -std::numeric_limits<float>::infinity()
                                      : static_cast<float>(z * 1e-3));
      }
      if (kind == 1 && d > 1) v[1] = -0.0f;
      for (double fraction : {1e-4, 0.01, 0.3, 1.0}) {
        const TopKCompressor c(fraction);
        const std::size_t k = c.kept(d);
        std::vector<std::uint32_t> order(d);
        std::iota(order.begin(), order.end(), 0u);
        std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k - 1),
                         order.end(), [&v](std::uint32_t a, std::uint32_t b) {
                           const float fa = std::abs(v[a]), fb = std::abs(v[b]);
                           return fa > fb || (fa == fb && a < b);
                         });
        std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
        WireMessage message;
        c.encode(v, StreamAddress{}, message);
        ASSERT_EQ(message.bytes.size(), 8 + 8 * k);
        for (std::size_t i = 0; i < k; ++i) {
          ASSERT_EQ(load_u32(message.bytes.data() + 8 + 8 * i), order[i])
              << "d = " << d << ", kind " << kind << ", k = " << k << ", i = " << i;
        }
      }
    }
  }
}

// ---- fp16 / bf16: round to nearest, ties to even, checked against the definition ------------

/// Every finite value of a 16-bit format in increasing order of magnitude (positive side), and
/// the rule "the result is a nearest representable value; on a tie, the one with an even code".
template <class Decode>
void expect_nearest_even(float x, std::uint16_t code, Decode decode, std::uint16_t max_finite,
                         const char* format) {
  const std::uint16_t magnitude = code & 0x7FFF;
  const double ax = std::fabs(static_cast<double>(x));
  if (magnitude == max_finite + 1) {        // rounded to infinity: beyond the halfway
    const double top = decode(max_finite);  // point above the largest finite value
    const double above = 2.0 * top - decode(static_cast<std::uint16_t>(max_finite - 1));
    EXPECT_GE(ax, (top + above) / 2) << format << " x=" << x;
    return;
  }
  const double got = std::fabs(static_cast<double>(decode(magnitude)));
  const double error = std::fabs(ax - got);
  for (int step : {-1, 1}) {
    const int neighbour = magnitude + step;
    if (neighbour < 0 || neighbour > max_finite) continue;
    const double other = std::fabs(ax - decode(static_cast<std::uint16_t>(neighbour)));
    EXPECT_LE(error, other) << format << " x=" << x << " code=" << code;
    if (error == other) {
      EXPECT_EQ(magnitude % 2, 0) << format << " tie x=" << x;
    }
  }
  if (x != 0.0f) {
    EXPECT_EQ(code >> 15, std::signbit(x) ? 1 : 0) << format << " x=" << x;
  }
}

TEST(HalfPrecision, RoundsToNearestEvenAndDecodesExactly) {
  const std::uint64_t seed = test_seed(31);
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  // Every 16-bit code decodes to a value that encodes back to it (NaNs to a NaN).
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const auto code = static_cast<std::uint16_t>(h);
    const float half = half_to_float(code), brain = bfloat16_to_float(code);
    if (std::isnan(half))
      EXPECT_TRUE(std::isnan(half_to_float(float_to_half(half))));
    else
      EXPECT_EQ(float_to_half(half), code) << h;
    if (std::isnan(brain))
      EXPECT_TRUE(std::isnan(bfloat16_to_float(float_to_bfloat16(brain))));
    else
      EXPECT_EQ(float_to_bfloat16(brain), code) << h;
  }
  // Random bit patterns across every exponent, plus the halfway points of both formats.
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  std::vector<float> xs;
  for (int i = 0; i < 200000; ++i) {
    const float x = std::bit_cast<float>(static_cast<std::uint32_t>(rng.next_u64()));
    if (!std::isnan(x)) xs.push_back(x);
  }
  for (std::uint32_t h = 0; h < 0x7C00; h += 7) {  // fp16 midpoints, and just beside them
    const float mid =
        static_cast<float>((static_cast<double>(half_to_float(static_cast<std::uint16_t>(h))) +
                            half_to_float(static_cast<std::uint16_t>(h + 1))) /
                           2);
    for (float x : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f)}) {
      xs.push_back(x);
      xs.push_back(-x);
    }
  }
  for (std::uint32_t b = 0; b < 0x7F80; b += 5) {  // bf16 midpoints: the dropped half is 0x8000
    const float mid = std::bit_cast<float>((b << 16) | 0x8000u);
    for (float x : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 3e38f)}) xs.push_back(x);
  }
  for (float x : xs) {
    expect_nearest_even(x, float_to_half(x), half_to_float, 0x7BFF, "fp16");
    expect_nearest_even(x, float_to_bfloat16(x), bfloat16_to_float, 0x7F7F, "bf16");
  }
  EXPECT_EQ(float_to_half(65504.0f), 0x7BFF);
  EXPECT_EQ(float_to_half(65519.99f), 0x7BFF);
  EXPECT_EQ(float_to_half(65520.0f), 0x7C00);  // the tie rounds to the even code: infinity
  EXPECT_EQ(float_to_half(0x1p-25f), 0x0000);  // tie between 0 and the least subnormal
  EXPECT_EQ(float_to_half(0x1.000002p-25f), 0x0001);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isnan(
      bfloat16_to_float(float_to_bfloat16(std::numeric_limits<float>::signaling_NaN()))));
}

TEST(HalfPrecision, BulkPathsEqualTheScalarReference) {
  // The F16C / AVX2 paths (when this CPU has them) and the scalar paths give the same bytes and the
  // same accumulation, bit for bit, including subnormals, overflow and odd lengths.
  const std::uint64_t seed = test_seed(32);
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  RandomStream rng(StreamAddress{seed, 0, 0, 0, StreamPurpose::kTest});
  for (std::size_t d : {1u, 7u, 8u, 9u, 1000u, 65537u}) {
    std::vector<float> v(d);
    for (float& x : v) {
      x = std::bit_cast<float>(static_cast<std::uint32_t>(rng.next_u64()));
      // NaNs stay: every path keeps them quiet with the top of their payload.
      if (rng.uniform() < 0.5)
        x = static_cast<float>(rng.normal() *
                               std::ldexp(1.0, static_cast<int>(rng.uniform() * 60) - 30));
    }
    std::vector<std::uint8_t> fast(2 * d), scalar(2 * d);
    encode_halves(v, fast.data(), true);
    encode_halves(v, scalar.data(), false);
    EXPECT_EQ(fast, scalar) << d;
    std::vector<float> acc_fast(d, 0.25f), acc_scalar(d, 0.25f);
    accumulate_halves(fast.data(), 0.3f, acc_fast, true);
    accumulate_halves(fast.data(), 0.3f, acc_scalar, false);
    for (std::size_t i = 0; i < d; ++i) {
      EXPECT_EQ(std::bit_cast<std::uint32_t>(acc_fast[i]),
                std::bit_cast<std::uint32_t>(acc_scalar[i]))
          << "d=" << d << " i=" << i;
      if (::testing::Test::HasFailure()) return;
    }
    encode_bfloat16s(v, fast.data(), true);
    encode_bfloat16s(v, scalar.data(), false);
    EXPECT_EQ(fast, scalar) << "bf16 d=" << d;
    for (std::size_t i = 0; i < d; ++i) {  // and the bytes are the scalar reference's, in order
      const auto code = static_cast<std::uint16_t>(fast[2 * i] | (fast[2 * i + 1] << 8));
      ASSERT_EQ(code, float_to_bfloat16(v[i])) << "bf16 d=" << d << " i=" << i;
    }
    std::fill(acc_fast.begin(), acc_fast.end(), 0.25f);
    std::fill(acc_scalar.begin(), acc_scalar.end(), 0.25f);
    accumulate_bfloat16s(fast.data(), 0.3f, acc_fast, true);
    accumulate_bfloat16s(fast.data(), 0.3f, acc_scalar, false);
    for (std::size_t i = 0; i < d; ++i) {
      ASSERT_EQ(std::bit_cast<std::uint32_t>(acc_fast[i]),
                std::bit_cast<std::uint32_t>(acc_scalar[i]))
          << "bf16 d=" << d << " i=" << i;
    }
  }
}

TEST(HalfPrecision, CompressorsRoundTripWithinTheirPrecision) {
  const std::uint64_t seed = test_seed(33);
  const std::vector<float> v = gaussian_vector(4099, seed);
  for (const auto& [spec, relative] : {std::pair{"fp16", 0x1p-11}, std::pair{"bf16", 0x1p-8}}) {
    const auto c = make_compressor(spec);
    EXPECT_EQ(c->name(), spec);
    EXPECT_FALSE(c->unbiased());
    WireMessage message;
    c->encode(v, StreamAddress{}, message);
    std::vector<float> out(v.size());
    c->decode(message, StreamAddress{}, out);
    for (std::size_t i = 0; i < v.size(); ++i) {
      EXPECT_LE(std::fabs(out[i] - v[i]), relative * std::fabs(v[i]) + 1e-7) << spec << " " << i;
    }
    std::vector<float> variance(v.size(), 1.0f);
    EXPECT_TRUE(c->variance_diagonal(v, variance));
    EXPECT_EQ(variance[5], 0.0f);
  }
}

TEST(Compressor, RejectsMalformedMessages) {
  const std::vector<float> v(100, 1.0f);
  std::vector<std::string> specs = examples(false);
  specs.emplace_back("topk:0.1");
  for (const std::string& spec : specs) {
    const auto c = make_compressor(spec);
    WireMessage message;
    c->encode(v, StreamAddress{}, message);
    std::vector<float> out(v.size());
    WireMessage truncated = message;
    truncated.bytes.pop_back();
    EXPECT_THROW(c->decode(truncated, StreamAddress{}, out), WireFormatError) << spec;
    WireMessage wrong_magic = message;
    wrong_magic.bytes[0] ^= 0xFF;
    EXPECT_THROW(c->decode(wrong_magic, StreamAddress{}, out), WireFormatError) << spec;
    std::vector<float> other(v.size() + 1);
    EXPECT_THROW(c->decode(message, StreamAddress{}, other), WireFormatError) << spec;
  }
}

TEST(CompressorFactory, RejectsInvalidSpecificationsNamingTheOption) {
  for (const char* spec : {"randk:0", "randk:1.5", "randk", "qsgd:0", "qsgd:x", "topk:-1", "gzip",
                           "sign:3", "fp16:2"}) {
    try {
      make_compressor(spec);
      ADD_FAILURE() << spec << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.option(), "compressor");
      EXPECT_NE(std::string(e.what()).find(spec), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(make_compressor("randk:0.25")->name(), "randk:0.25");
  EXPECT_EQ(make_compressor("qsgd:4:128")->name(), "qsgd:4:128");
}

}  // namespace
}  // namespace dsignsgd
