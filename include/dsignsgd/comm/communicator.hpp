#pragma once
/// @file
/// Communication between the processes that hold the agents. Algorithms never see MPI: they call
/// this interface, whose in-process implementation (one process, every collective the identity)
/// and MPI implementation (src/comm/mpi_*) behave the same. Every collective counts the bytes it
/// hands to the transport, so the wire cost of a run is measured, not only declared.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace dsignsgd {

/// Raised when a collective fails or does not complete within the timeout (a rank died, hung or
/// was stopped). The message says which collective and after how long.
class CommunicationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;

  /// Every rank contributes `local` (the same size on every rank); `all` receives size() blocks
  /// of local.size() bytes in rank order.
  virtual void allgather(std::span<const std::uint8_t> local, std::span<std::uint8_t> all) = 0;
  /// Element-wise sum across ranks, in place; every rank ends with the same bits (the order of
  /// summation is the implementation's: MPI's is a ring over ⌈n/P⌉-float blocks).
  virtual void allreduce_sum(std::span<float> values) = 0;
  /// Element-wise integer sum across ranks of `all` (size() blocks of mine.size() words); block r
  /// of the sum lands in rank r's `mine`. Exact, so the same on every MPI implementation.
  /// Counts (size() − 1) blocks sent and received, as a ring or recursive halving moves them.
  virtual void reduce_scatter_sum(std::span<const std::uint64_t> all,
                                  std::span<std::uint64_t> mine) = 0;
  /// 64-bit values of every rank, in rank order (start-up checks).
  virtual void allgather_u64(std::uint64_t local, std::span<std::uint64_t> all) = 0;

  /// Bytes handed to the transport by this rank, and received from it, so far.
  std::uint64_t bytes_sent() const { return bytes_sent_; }
  std::uint64_t bytes_received() const { return bytes_received_; }

 protected:
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t bytes_received_ = 0;
};

/// One process: rank 0 of 1; the collectives copy and count nothing (nothing is sent).
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "local"; }
  void allgather(std::span<const std::uint8_t> local, std::span<std::uint8_t> all) override;
  void allreduce_sum(std::span<float>) override {}
  void reduce_scatter_sum(std::span<const std::uint64_t> all,
                          std::span<std::uint64_t> mine) override;
  void allgather_u64(std::uint64_t local, std::span<std::uint64_t> all) override { all[0] = local; }
};

/// Runs `step` on every rank of `communicator` (just runs it when null) and agrees on how it
/// ended, so that a failure one rank sees cannot leave the others waiting in the next
/// collective: when `step` throws on any rank, every rank throws the failure of the lowest such
/// rank — a ConfigError as that rank's (its constraint naming the rank when it is not rank 0, so
/// that rank 0, which prints input errors, prints it and every rank exits 2), anything else as
/// std::runtime_error with that rank's message (exit 1). A collective: every rank must call it.
void agree_on_failure(Communicator* communicator, const std::function<void()>& step);

}  // namespace dsignsgd
