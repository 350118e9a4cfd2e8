// Messages as they arrive from another rank: arbitrary bytes decoded by each compressor. A
// malformed message must be refused with std::runtime_error, never read or written out of bounds
// (the sanitizers watch).
#include <memory>
#include <stdexcept>
#include <vector>

#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/random/stream.hpp"
#include "fuzz_support.hpp"

using namespace dsignsgd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::unique_ptr<Compressor>> compressors = [] {
    std::vector<std::unique_ptr<Compressor>> all;
    for (const char* spec : {"identity", "sign", "scaled-sign", "randk:0.25", "topk:0.25",
                             "qsgd:4", "qsgd:3:8", "natural", "fp16", "bf16"}) {
      try {
        all.push_back(make_compressor(spec));
      } catch (const std::exception&) {
      }
    }
    return all;
  }();
  if (size < 2 || compressors.empty()) return 0;
  const Compressor& c = *compressors[data[0] % compressors.size()];
  const std::size_t dim = 1 + data[1] % 70;
  WireMessage message;
  message.bytes.assign(data + 2, data + size);
  std::vector<float> out(dim);
  try {
    c.decode(message, StreamAddress{7, 0, 1, 3, StreamPurpose::kCompression}, out);
  } catch (const std::runtime_error&) {
    // refused
  }
  return 0;
}
