#pragma once
/// @file
/// How the agents' messages meet, chosen by the driver so that the step itself is only the
/// update rule (docs/METHODS.md):
///
///   local      all N agents live in this process; the aggregator reads their messages
///   allgather  this rank encodes agents [rank·A, (rank+1)·A); the encoded messages are
///              gathered in agent order and every rank aggregates all N of them — bit-identical
///              to the in-process run
///   allreduce  DSGD only: each rank sums its agents' fp32 gradients, a ring allreduce sums the
///              ranks' sums (the ring's summation order: not bit-identical), ĝ = Σ / N
///   reduce-scatter  1-bit sign messages only: per-coordinate +1 counts, packed, reduce-scattered
///              (exact integer sums), then the shards' counts (mean) or 1-bit votes (majority)
///              allgathered — received bytes grow like d·log N, not N·d/8; bit-identical
///
/// An exchange belongs to one run (it keeps that run's transport buffers).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/optim/aggregator.hpp"

namespace dsignsgd {

class Communicator;
struct RunPlan;

/// The agents whose messages this process encodes: [first, last).
struct AgentRange {
  std::uint32_t first = 0;
  std::uint32_t last = 0;
  std::uint32_t size() const { return last - first; }
};

class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual AgentRange local_agents() const = 0;
  /// messages[local_agents()] hold this process's encoded messages of the step whose server
  /// stream is `server`; writes the aggregated direction ĝ (the same on every rank).
  virtual void reduce(std::span<WireMessage> messages, const Aggregator& aggregator,
                      const Compressor& compressor, const StreamAddress& server,
                      std::span<float> direction) = 0;
};

/// How --reduction reduce-scatter packs the counts of N agents for `ranks` ranks: w-bit fields,
/// ⌊64/w⌋ per 64-bit word, the words split into equal shards of a multiple of 8 words.
struct SignCountLayout {
  unsigned width = 1;                     ///< w = bit_width(N): counts 0..N fit
  std::size_t fields_per_word = 64;
  std::size_t words_per_shard = 0;
  std::size_t coordinates_per_shard = 0;  ///< a multiple of 8: whole bytes of votes
  static SignCountLayout of(std::size_t dim, std::uint32_t agents, std::uint32_t ranks);
};

/// What one step of a plan's exchange costs on the wire, as declared (the communicator counts
/// what was actually handed to the transport).
struct ExchangeCost {
  std::string collective;                    ///< how the messages travel, for summary.json
  std::uint64_t declared_sent_per_step = 0;  ///< bytes this rank hands to the transport
  std::uint64_t declared_received_per_step = 0;
};

/// One part of an exchange as a rank waits for it: `rounds` messages of `bytes` each, one after
/// the other (a ring's steps; the allgather's P − 1 incoming messages). The α-β cost model of
/// `dsignsgd speedup` charges rounds × (α + bytes / bandwidth).
struct ExchangePhase {
  std::string what;
  std::uint64_t rounds = 0;
  std::uint64_t bytes = 0;
  bool gathered = false;  ///< an allgather: this rank hands MPI its block once
};

/// The phases of one step of the plan's exchange across `ranks` ranks (A = plan.agents_per_rank
/// agents each): allgather (P − 1 messages of A·m), ring allreduce (2(P − 1) blocks of 4⌈d/P⌉)
/// or reduce-scatter of sign counts (P − 1 shards, then P − 1 shards of counts or votes).
std::vector<ExchangePhase> exchange_phases(const RunPlan& plan, std::size_t dim,
                                           std::size_t message_bytes, std::uint32_t ranks);

/// The sign-count exchange alone (as make_exchange builds it for --reduction reduce-scatter),
/// for measuring its work on one rank: with a one-rank communicator it counts, packs, unpacks
/// and aggregates every coordinate.
std::unique_ptr<Exchange> make_sign_count_exchange(Communicator& communicator,
                                                   std::uint32_t per_rank, std::uint32_t agents,
                                                   std::size_t dim, bool majority);

/// The exchange a plan asks for: local without a communicator of several ranks, else allgather
/// or allreduce (plan.reduction). `message_bytes` is one agent's encoded message.
std::unique_ptr<Exchange> make_exchange(const RunPlan& plan, Communicator* communicator,
                                        std::size_t message_bytes);
ExchangeCost exchange_cost(const RunPlan& plan, std::size_t dim, std::size_t message_bytes);

}  // namespace dsignsgd
