#include "dsignsgd/optim/checkpoint.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/atomic_file.hpp"
#include "dsignsgd/core/fnv1a.hpp"

namespace dsignsgd {
namespace {

constexpr char kMagic[8] = {'D', 'S', 'G', 'D', 'C', 'K', 'P', '1'};

}  // namespace

void CheckpointWriter::raw(const void* data, std::size_t size) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  payload_.insert(payload_.end(), bytes, bytes + size);
}
void CheckpointWriter::u64(std::uint64_t value) { raw(&value, 8); }
void CheckpointWriter::f64(double value) { raw(&value, 8); }
void CheckpointWriter::string(const std::string& value) {
  u64(value.size());
  raw(value.data(), value.size());
}
void CheckpointWriter::floats(const std::vector<float>& values) {
  u64(values.size());
  raw(values.data(), 4 * values.size());
}
void CheckpointWriter::doubles(const std::vector<double>& values) {
  u64(values.size());
  raw(values.data(), 8 * values.size());
}

void CheckpointReader::raw(void* data, std::size_t size) {
  if (size > payload_.size() - position_) throw CheckpointError("checkpoint truncated");
  if (size == 0) return;  // an empty array's data() may be null (found by fuzz_checkpoint)
  std::memcpy(data, payload_.data() + position_, size);
  position_ += size;
}
std::uint64_t CheckpointReader::u64() {
  std::uint64_t value;
  raw(&value, 8);
  return value;
}
double CheckpointReader::f64() {
  double value;
  raw(&value, 8);
  return value;
}
template <class T>
std::vector<T> CheckpointReader::array() {
  const std::uint64_t size = u64();
  if (size > payload_.size()) throw CheckpointError("checkpoint truncated");
  std::vector<T> values(size);
  raw(values.data(), sizeof(T) * size);
  return values;
}
std::string CheckpointReader::string() {
  const std::vector<char> bytes = array<char>();
  return {bytes.begin(), bytes.end()};
}
std::vector<float> CheckpointReader::floats() { return array<float>(); }
std::vector<double> CheckpointReader::doubles() { return array<double>(); }

void write_checkpoint_file(const std::filesystem::path& path,
                           const std::vector<std::uint8_t>& payload) {
  std::string content(kMagic, sizeof(kMagic));
  const std::uint64_t length = payload.size();
  content.append(reinterpret_cast<const char*>(&length), 8);
  content.append(reinterpret_cast<const char*>(payload.data()), payload.size());
  const std::uint64_t checksum = fnv1a64(payload);
  content.append(reinterpret_cast<const char*>(&checksum), 8);
  write_file_atomic(path, content);
}

std::vector<std::uint8_t> read_checkpoint_file(const std::filesystem::path& path) {
  // A checkpoint holds a run's state: d floats per agent and vector, far below 64 GiB.
  require_regular_file("resume", path, std::uintmax_t{64} << 30,
                       "no checkpoint of dsignsgd is");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("resume", path.string(), "cannot be read");
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                        std::istreambuf_iterator<char>());
  if (bytes.size() < 24 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw ConfigError("resume", path.string(), "is not a dsignsgd checkpoint (wrong magic)");
  }
  std::uint64_t length;
  std::memcpy(&length, bytes.data() + 8, 8);
  if (bytes.size() != 24 + length) {
    throw ConfigError("resume", path.string(),
                      "is truncated or has trailing bytes: " + std::to_string(bytes.size()) +
                          " bytes, expected " + std::to_string(24 + length));
  }
  std::vector<std::uint8_t> payload(bytes.begin() + 16, bytes.end() - 8);
  std::uint64_t checksum;
  std::memcpy(&checksum, bytes.data() + bytes.size() - 8, 8);
  if (checksum != fnv1a64(payload)) {
    throw ConfigError("resume", path.string(), "is corrupted (checksum mismatch)");
  }
  return payload;
}

std::filesystem::path checkpoint_path(const std::filesystem::path& dir, std::uint32_t run,
                                      int rank) {
  char name[64];
  std::snprintf(name, sizeof(name), "run-%06u.rank-%04d.ckpt", run, rank);
  return dir / name;
}

}  // namespace dsignsgd
