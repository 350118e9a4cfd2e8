#pragma once
/// @file
/// Checkpoint files: one per run and rank, written atomically (temporary name + rename) with a
/// checksum. Layout: magic "DSGDCKP1", u64 payload length, payload, u64 FNV-1a checksum of the
/// payload. The payload starts with the configuration fingerprint (the resolved options as JSON),
/// the rank count and rank, the run, the step, then the run's trace so far and the state of its
/// stepper (iterate, momentum and error-feedback memories; random streams are addressed by
/// (seed, run, agent, step) and need no state).

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace dsignsgd {

/// A checkpoint that does not describe a state this configuration can be in: truncated, a field
/// out of range, a state of another shape. Resuming reports it as a ConfigError for --resume.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Appends binary fields to a payload.
class CheckpointWriter {
 public:
  void u64(std::uint64_t value);
  void f64(double value);
  void string(const std::string& value);
  void floats(const std::vector<float>& values);
  void doubles(const std::vector<double>& values);
  const std::vector<std::uint8_t>& payload() const { return payload_; }

 private:
  void raw(const void* data, std::size_t size);
  std::vector<std::uint8_t> payload_;
};

/// Reads fields back; throws CheckpointError("checkpoint truncated") past the end.
class CheckpointReader {
 public:
  explicit CheckpointReader(std::vector<std::uint8_t> payload) : payload_(std::move(payload)) {}
  std::uint64_t u64();
  double f64();
  std::string string();
  std::vector<float> floats();
  std::vector<double> doubles();
  /// Bytes not read yet (a valid payload is read to its end).
  std::size_t remaining() const { return payload_.size() - position_; }

 private:
  void raw(void* data, std::size_t size);
  /// A length-prefixed array of T (refused when the length exceeds what is left).
  template <class T>
  std::vector<T> array();
  std::vector<std::uint8_t> payload_;
  std::size_t position_ = 0;
};

/// Writes magic + length + payload + checksum through a temporary file and a rename.
void write_checkpoint_file(const std::filesystem::path& path,
                           const std::vector<std::uint8_t>& payload);
/// Reads and verifies a checkpoint file; throws ConfigError (option "resume") naming the file and
/// what is wrong (missing, wrong magic, truncated, checksum mismatch).
std::vector<std::uint8_t> read_checkpoint_file(const std::filesystem::path& path);

/// The file of run `run` on rank `rank`: DIR/run-000003.rank-0001.ckpt.
std::filesystem::path checkpoint_path(const std::filesystem::path& dir, std::uint32_t run,
                                      int rank);

}  // namespace dsignsgd
