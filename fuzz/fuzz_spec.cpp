// Spec strings as typed on the command line: --noise, --compressor, --hessian, --schedule,
// --agent-scales. The first byte picks the parser. What parses must also work: a compressor
// round-trips a vector, a spectrum gives finite non-negative eigenvalues, a schedule finite
// multipliers.
#include <cmath>
#include <cstdlib>
#include <vector>

#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/noise/noise_model.hpp"
#include "dsignsgd/optim/schedule.hpp"
#include "dsignsgd/problems/problem.hpp"
#include "dsignsgd/random/stream.hpp"
#include "fuzz_support.hpp"

using namespace dsignsgd;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void compressor(const std::string& text) {
  const std::unique_ptr<Compressor> c = make_compressor(text);
  const std::unique_ptr<Compressor> again = make_compressor(c->name());  // canonical form parses
  check(again->name() == c->name());
  constexpr std::size_t kDim = 37;
  std::vector<float> g(kDim), decoded(kDim);
  for (std::size_t j = 0; j < kDim; ++j) g[j] = std::sin(static_cast<float>(j)) * 3.0f;
  WireMessage message;
  const StreamAddress address{1, 0, 0, 0, StreamPurpose::kCompression};
  c->encode(g, address, message);
  check(message.bytes.size() * 8 == c->wire_bits(kDim));
  c->decode(message, address, decoded);
  for (float v : decoded) check(std::isfinite(v));
}

void spectrum(const std::string& text) {
  const Spectrum s = Spectrum::parse(text);
  const std::size_t dim = s.implied_dim().value_or(17);
  if (dim > 4096) return;
  for (double lambda : s.eigenvalues(dim)) check(std::isfinite(lambda) && lambda >= 0.0);
}

void schedule(const std::string& text) {
  const auto colon = text.find('|');
  const std::string name = text.substr(0, colon);
  const std::uint64_t warmup =
      colon == std::string::npos ? 0 : std::strtoull(text.c_str() + colon + 1, nullptr, 10) % 1000;
  const std::unique_ptr<Schedule> s = make_schedule(name, 500, warmup);
  for (std::uint64_t k = 0; k < 500; k += 37) check(std::isfinite(s->multiplier(k)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::Selected input = fuzz::select(data, size);
  try {
    switch (input.selector % 5) {
      case 0: NoiseSpec::parse(input.text); break;
      case 1: compressor(input.text); break;
      case 2: spectrum(input.text); break;
      case 3: schedule(input.text); break;
      default: parse_double_list(input.text, "agent-scales"); break;
    }
  } catch (const ConfigError&) {
    // A refusal naming the option: the expected outcome for bad input.
  }
  return 0;
}
