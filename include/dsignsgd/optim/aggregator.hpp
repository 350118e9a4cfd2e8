#pragma once
/// @file
/// Server-side aggregation of the agents' messages, always in agent order 0..N−1.
///   mean      d = (1/N) Σ_i C(g_i)                       DSGD, DCSGD, DSignSGD ([A])
///   majority  d = sign(Σ_i sign(g_i))                    majority vote (Bernstein et al. 2018)
/// Sums of ±1 are exact integers in fp32, so sign aggregation is invariant to agent order.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "dsignsgd/compress/compressor.hpp"

namespace dsignsgd {

class Aggregator {
 public:
  virtual ~Aggregator() = default;
  virtual std::string name() const = 0;
  /// Writes the update direction. `address` is the step's stream address; agent i's message is
  /// decoded with address.agent = i (shared compression randomness), server draws use kServerAgent.
  virtual void aggregate(std::span<const WireMessage> messages, const Compressor& compressor,
                         const StreamAddress& address, std::span<float> direction) const = 0;
  /// Bits the server broadcasts back per step (header included).
  virtual std::size_t downlink_bits(std::size_t d, std::size_t agents,
                                    const Compressor& compressor) const = 0;
  /// From 1-bit sign messages reduced to counts: the direction at coordinates
  /// [offset, offset + out.size()), where plus[j] of the `agents` agents sent +1 at coordinate
  /// offset + j — bit for bit what aggregate() gives there from the messages themselves.
  virtual void aggregate_sign_counts(std::span<const std::uint16_t> plus, std::size_t agents,
                                     std::size_t offset, const StreamAddress& address,
                                     std::span<float> out) const = 0;
};

class MeanAggregator final : public Aggregator {
 public:
  std::string name() const override { return "mean"; }
  void aggregate(std::span<const WireMessage> messages, const Compressor& compressor,
                 const StreamAddress& address, std::span<float> direction) const override;
  /// fp32 for real-valued messages; vote counts on ceil(log2(N+1)) bits for sign messages.
  std::size_t downlink_bits(std::size_t d, std::size_t agents,
                            const Compressor& compressor) const override;
  void aggregate_sign_counts(std::span<const std::uint16_t> plus, std::size_t agents,
                             std::size_t offset, const StreamAddress& address,
                             std::span<float> out) const override;
};

/// Majority vote. Ties (possible for even N) are broken by a fair coin from the server's stream,
/// so the return message stays one bit per coordinate and the vote stays unbiased on ties.
class MajorityVoteAggregator final : public Aggregator {
 public:
  std::string name() const override { return "majority"; }
  void aggregate(std::span<const WireMessage> messages, const Compressor& compressor,
                 const StreamAddress& address, std::span<float> direction) const override;
  std::size_t downlink_bits(std::size_t d, std::size_t agents,
                            const Compressor& compressor) const override;
  void aggregate_sign_counts(std::span<const std::uint16_t> plus, std::size_t agents,
                             std::size_t offset, const StreamAddress& address,
                             std::span<float> out) const override;
};

/// Majority vote on the coordinates [offset, offset + out.size()) only, from the agents' 1-bit
/// sign payloads of those coordinates (bit i of payloads[a] is agent a's sign at coordinate
/// offset + i, packed as compress/bit_pack.hpp), ties broken by the coins MajorityVoteAggregator
/// uses at those coordinates: the shards of a vote are exactly the whole vote's values there. It
/// lets each rank vote on its own shard (1 bit up, 1 bit down per coordinate; the PyTorch hook).
/// `offset` must be a multiple of 8; `address` as for aggregate().
void majority_vote_shard(std::span<const std::uint8_t* const> payloads, std::size_t offset,
                         const StreamAddress& address, std::span<float> out);

}  // namespace dsignsgd
