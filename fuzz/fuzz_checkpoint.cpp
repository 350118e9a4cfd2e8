// The checkpoint reader and the resume path on damaged files. A real checkpoint of a small
// ef-signsgd job (iterate, agent memories, a partial trace) is made at start-up; the first input
// byte picks what the rest of the input does to it:
//   0  the file is the input as is (magic, length and checksum checks),
//   1  the input is the payload in a valid container (length and checksum fixed up),
//   2  the input is a list of (offset, byte) patches on the real payload, checksum fixed up —
//      what a checksum cannot catch, the meaning checks must,
//   3  the real payload cut or extended to a length the input gives.
// Then `train --resume` runs. A refusal is a ConfigError; a file that is accepted must resume
// into a finished job. Anything else (a crash, another exception, a sanitizer report) is a
// finding.
#include <cstdlib>
#include <filesystem>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/optim/callbacks.hpp"
#include "dsignsgd/optim/checkpoint.hpp"
#include "dsignsgd/optim/trainer.hpp"
#include "fuzz_support.hpp"

using namespace dsignsgd;
namespace fs = std::filesystem;

namespace {

TrainOptions job() {
  TrainOptions o;
  o.method = "ef-signsgd";
  o.compressor = "sign";
  o.problem.dim = 5;
  o.workers = 2;
  o.lr = 0.05;
  o.steps = 12;
  o.runs = 2;
  o.log_every = 3;
  o.threads = 1;
  o.seed = 11;
  return o;
}

fs::path scratch() {
  static const fs::path dir = fuzz::scratch_dir() / "checkpoint";
  return dir;
}

/// The payload of run 0's checkpoint, written when the job stops before step 7.
const std::vector<std::uint8_t>& real_payload() {
  static const std::vector<std::uint8_t> payload = [] {
    fs::remove_all(scratch());
    TrainOptions o = job();
    o.checkpoint_dir = scratch().string();
    StopWhen stop([](std::int64_t k) { return k == 7; });
    try {
      train(o, {&stop});
    } catch (const Interrupted&) {
    }
    return read_checkpoint_file(checkpoint_path(scratch(), 0, 0));
  }();
  return payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t>& real = real_payload();
  if (size == 0) return 0;
  const std::uint8_t mode = data[0] % 4;
  const std::uint8_t* rest = data + 1;
  const std::size_t length = size - 1;
  fs::remove_all(scratch());
  fs::create_directories(scratch());
  const fs::path file = checkpoint_path(scratch(), 0, 0);
  if (mode == 0) {
    fs::rename(fuzz::write_input("raw", rest, length), file);
  } else {
    std::vector<std::uint8_t> payload;
    if (mode == 1) {
      payload.assign(rest, rest + length);
    } else if (mode == 2) {
      payload = real;
      for (std::size_t i = 0; i + 3 <= length; i += 3) {
        const std::size_t offset = (rest[i] | (rest[i + 1] << 8)) % payload.size();
        payload[offset] = rest[i + 2];
      }
    } else {
      const std::size_t cut = length >= 2 ? (rest[0] | (rest[1] << 8)) % (2 * real.size()) : 0;
      payload = real;
      payload.resize(cut, length >= 3 ? rest[2] : 0);
    }
    write_checkpoint_file(file, payload);
  }
  TrainOptions o = job();
  o.resume = scratch().string();
  try {
    const TrainResult result = train(o);
    if (result.runs.size() != 2) std::abort();
  } catch (const ConfigError&) {
    // refused, naming the file
  }
  return 0;
}
