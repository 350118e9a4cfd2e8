#include "dsignsgd/optim/exchange.hpp"

#include <algorithm>
#include <bit>

#include "dsignsgd/comm/communicator.hpp"
#include "dsignsgd/compress/bit_pack.hpp"
#include "dsignsgd/optim/run_plan.hpp"

namespace dsignsgd {
namespace {

class LocalExchange final : public Exchange {
 public:
  explicit LocalExchange(std::uint32_t agents) : agents_(agents) {}
  AgentRange local_agents() const override { return {0, agents_}; }
  void reduce(std::span<WireMessage> messages, const Aggregator& aggregator,
              const Compressor& compressor, const StreamAddress& server,
              std::span<float> direction) override {
    aggregator.aggregate(messages, compressor, server, direction);
  }

 private:
  std::uint32_t agents_;
};

/// Ranks own consecutive blocks of A agents.
AgentRange rank_agents(const Communicator& communicator, std::uint32_t per_rank) {
  const std::uint32_t first = static_cast<std::uint32_t>(communicator.rank()) * per_rank;
  return {first, first + per_rank};
}

class AllgatherExchange final : public Exchange {
 public:
  AllgatherExchange(Communicator& communicator, std::uint32_t per_rank, std::uint32_t agents,
                    std::size_t message_bytes)
      : communicator_(communicator),
        local_(rank_agents(communicator, per_rank)),
        message_bytes_(message_bytes),
        local_bytes_(per_rank * message_bytes),
        all_bytes_(agents * message_bytes) {}
  AgentRange local_agents() const override { return local_; }
  void reduce(std::span<WireMessage> messages, const Aggregator& aggregator,
              const Compressor& compressor, const StreamAddress& server,
              std::span<float> direction) override {
    // This rank's agents, packed back to back; every message of a compressor has the same size.
    for (std::uint32_t i = 0; i < local_.size(); ++i) {
      const std::vector<std::uint8_t>& bytes = messages[local_.first + i].bytes;
      std::copy(bytes.begin(), bytes.end(), local_bytes_.begin() + i * message_bytes_);
    }
    communicator_.allgather(local_bytes_, all_bytes_);
    for (std::size_t agent = 0; agent < messages.size(); ++agent) {
      const auto begin = all_bytes_.begin() + static_cast<std::ptrdiff_t>(agent * message_bytes_);
      messages[agent].bytes.assign(begin, begin + static_cast<std::ptrdiff_t>(message_bytes_));
    }
    aggregator.aggregate(messages, compressor, server, direction);
  }

 private:
  Communicator& communicator_;
  AgentRange local_;
  std::size_t message_bytes_;
  std::vector<std::uint8_t> local_bytes_;
  std::vector<std::uint8_t> all_bytes_;
};

/// DSGD with a ring allreduce: the local agents' (identity-coded) gradients summed in agent order,
/// the ranks' sums summed around the ring, then ĝ = Σ / N.
class AllreduceExchange final : public Exchange {
 public:
  AllreduceExchange(Communicator& communicator, std::uint32_t per_rank, std::uint32_t agents)
      : communicator_(communicator), local_(rank_agents(communicator, per_rank)), agents_(agents) {}
  AgentRange local_agents() const override { return local_; }
  void reduce(std::span<WireMessage> messages, const Aggregator&, const Compressor& compressor,
              const StreamAddress& server, std::span<float> direction) override {
    std::fill(direction.begin(), direction.end(), 0.0f);
    for (std::uint32_t i = local_.first; i < local_.last; ++i) {
      compressor.decode_accumulate(messages[i], server, 1.0f, direction);
    }
    communicator_.allreduce_sum(direction);
    const float inv_agents = 1.0f / static_cast<float>(agents_);
    for (float& value : direction) value *= inv_agents;
  }

 private:
  Communicator& communicator_;
  AgentRange local_;
  std::uint32_t agents_;
};

/// Sign messages reduced to counts (--reduction reduce-scatter): every rank counts, per
/// coordinate, its local agents' +1s; the counts travel packed in w = bit_width(N)-bit fields of
/// 64-bit words (⌊64/w⌋ per word; a field's total never exceeds N < 2^w, so summing the words as
/// integers sums the fields without carries) through a reduce-scatter that leaves rank r the
/// totals of its shard of coordinates; then
///   mean      the shards' counts are allgathered and every rank computes (2c − N)/N,
///   majority  rank r votes on its shard (the whole vote's tie coins) and the 1-bit votes are
///             allgathered.
/// Received bytes per rank grow like d·log N instead of the allgather's N·d/8; the result is
/// bit-identical to aggregating the messages (integer sums are exact).
class SignCountExchange final : public Exchange {
 public:
  SignCountExchange(Communicator& communicator, std::uint32_t per_rank, std::uint32_t agents,
                    std::size_t dim, bool majority)
      : communicator_(communicator),
        local_(rank_agents(communicator, per_rank)),
        agents_(agents),
        dim_(dim),
        majority_(majority),
        layout_(SignCountLayout::of(dim, agents, static_cast<std::uint32_t>(communicator.size()))),
        words_(layout_.words_per_shard * static_cast<std::size_t>(communicator.size())),
        shard_words_(layout_.words_per_shard),
        counts_(layout_.coordinates_per_shard * static_cast<std::size_t>(communicator.size())) {}
  AgentRange local_agents() const override { return local_; }

  void reduce(std::span<WireMessage> messages, const Aggregator& aggregator, const Compressor&,
              const StreamAddress& server, std::span<float> direction) override {
    count_local_signs(messages);
    communicator_.reduce_scatter_sum(words_, shard_words_);
    const std::size_t rank = static_cast<std::size_t>(communicator_.rank());
    const std::size_t shard = layout_.coordinates_per_shard;
    if (!majority_) {
      communicator_.allgather(bytes_of(shard_words_), bytes_of(words_));
      unpack_counts(words_, counts_);
      aggregator.aggregate_sign_counts(std::span(counts_).first(dim_), agents_, 0, server,
                                       direction);
      return;
    }
    // Vote on this rank's shard (its coordinates below d), pack the votes, gather them.
    const std::size_t begin = std::min(dim_, rank * shard);
    const std::size_t end = std::min(dim_, begin + shard);
    unpack_counts(shard_words_, std::span(counts_).first(shard));
    std::span<float> votes = direction.subspan(begin, end - begin);
    aggregator.aggregate_sign_counts(std::span(counts_).first(end - begin), agents_, begin, server,
                                     votes);
    vote_bits_.assign(shard / 8, 0);
    RandomStream no_coins(server);  // the votes are ±1: no zero ever draws a coin
    pack_signs(votes, vote_bits_.data(), no_coins);
    all_vote_bits_.resize(vote_bits_.size() * static_cast<std::size_t>(communicator_.size()));
    communicator_.allgather(vote_bits_, all_vote_bits_);
    std::fill(direction.begin(), direction.end(), 0.0f);
    unpack_signs_accumulate(all_vote_bits_.data(), 1.0f, direction);
  }

 private:
  static std::span<std::uint8_t> bytes_of(std::vector<std::uint64_t>& words) {
    return {reinterpret_cast<std::uint8_t*>(words.data()), 8 * words.size()};
  }

  /// words_ ← this rank's agents' +1 counts per coordinate, packed (coordinates past d count 0).
  void count_local_signs(std::span<const WireMessage> messages) {
    // count_sign_votes writes the first dim_ counts; the padding (reused by unpack_counts) is
    // cleared.
    std::fill(counts_.begin() + static_cast<std::ptrdiff_t>(dim_), counts_.end(), std::uint16_t{0});
    payloads_.clear();
    for (std::uint32_t agent = local_.first; agent < local_.last; ++agent) {
      payloads_.push_back(messages[agent].bytes.data() + kMessageHeaderBytes);
    }
    count_sign_votes(payloads_, std::span(counts_).first(dim_));
    const std::size_t fields = layout_.fields_per_word;
    for (std::size_t w = 0; w < words_.size(); ++w) {
      const std::uint16_t* count = counts_.data() + w * fields;
      std::uint64_t word = 0;
      for (std::size_t f = 0; f < fields; ++f) {
        word |= static_cast<std::uint64_t>(count[f]) << (f * layout_.width);
      }
      words_[w] = word;
    }
  }

  void unpack_counts(std::span<const std::uint64_t> words, std::span<std::uint16_t> counts) const {
    const std::size_t fields = layout_.fields_per_word;
    const unsigned width = layout_.width;
    const std::uint64_t mask = (std::uint64_t{1} << width) - 1;
    std::size_t j = 0;
    for (std::size_t w = 0; j < counts.size(); ++w) {
      std::uint64_t word = words[w];
      for (std::size_t f = 0; f < fields && j < counts.size(); ++f, ++j, word >>= width) {
        counts[j] = static_cast<std::uint16_t>(word & mask);
      }
    }
  }

  Communicator& communicator_;
  AgentRange local_;
  std::uint32_t agents_;
  std::size_t dim_;
  bool majority_;
  std::vector<const std::uint8_t*> payloads_;  ///< this rank's agents' packed signs
  SignCountLayout layout_;
  std::vector<std::uint64_t> words_;        ///< every shard's packed counts
  std::vector<std::uint64_t> shard_words_;  ///< this rank's shard, summed over the ranks
  std::vector<std::uint16_t> counts_;       ///< unpacked (padded to whole shards)
  std::vector<std::uint8_t> vote_bits_, all_vote_bits_;
};

bool distributed(Communicator* communicator) {
  return communicator != nullptr && communicator->size() > 1;
}

}  // namespace

SignCountLayout SignCountLayout::of(std::size_t dim, std::uint32_t agents, std::uint32_t ranks) {
  SignCountLayout layout;
  layout.width = static_cast<unsigned>(std::bit_width(agents));
  layout.fields_per_word = 64 / layout.width;
  const std::size_t words = (dim + layout.fields_per_word - 1) / layout.fields_per_word;
  // Whole bytes of votes per shard: a multiple of 8 words.
  layout.words_per_shard = ((words + ranks - 1) / ranks + 7) / 8 * 8;
  layout.coordinates_per_shard = layout.words_per_shard * layout.fields_per_word;
  return layout;
}

std::unique_ptr<Exchange> make_exchange(const RunPlan& plan, Communicator* communicator,
                                        std::size_t message_bytes) {
  const auto agents = static_cast<std::uint32_t>(plan.workers);
  if (plan.backend != Backend::kMpi || !distributed(communicator)) {
    return std::make_unique<LocalExchange>(agents);
  }
  const auto per_rank = static_cast<std::uint32_t>(plan.agents_per_rank);
  if (plan.reduction == Reduction::kAllreduce) {
    return std::make_unique<AllreduceExchange>(*communicator, per_rank, agents);
  }
  if (plan.reduction == Reduction::kReduceScatter) {
    return std::make_unique<SignCountExchange>(*communicator, per_rank, agents, plan.problem.dim,
                                               plan.method->majority_vote());
  }
  return std::make_unique<AllgatherExchange>(*communicator, per_rank, agents, message_bytes);
}

std::unique_ptr<Exchange> make_sign_count_exchange(Communicator& communicator,
                                                   std::uint32_t per_rank, std::uint32_t agents,
                                                   std::size_t dim, bool majority) {
  return std::make_unique<SignCountExchange>(communicator, per_rank, agents, dim, majority);
}

std::vector<ExchangePhase> exchange_phases(const RunPlan& plan, std::size_t dim,
                                           std::size_t message_bytes, std::uint32_t ranks) {
  if (ranks < 2) return {};
  const std::uint64_t others = ranks - 1;
  const auto per_rank = static_cast<std::uint64_t>(plan.agents_per_rank);
  if (plan.reduction == Reduction::kAllreduce) {
    return {{"ring allreduce", 2 * others, 4 * ((dim + ranks - 1) / ranks), false}};
  }
  if (plan.reduction == Reduction::kReduceScatter) {
    const SignCountLayout layout =
        SignCountLayout::of(dim, static_cast<std::uint32_t>(per_rank * ranks), ranks);
    const bool majority = plan.method->majority_vote();
    return {{"reduce-scatter ring of counts", others, 8 * layout.words_per_shard, false},
            {majority ? "allgather of votes" : "allgather of counts", others,
             majority ? layout.coordinates_per_shard / 8 : 8 * layout.words_per_shard, true}};
  }
  return {{"allgather of messages", others, per_rank * message_bytes, true}};
}

ExchangeCost exchange_cost(const RunPlan& plan, std::size_t dim, std::size_t message_bytes) {
  ExchangeCost cost;
  if (plan.reduction == Reduction::kAllreduce) {
    cost.collective =
        "ring allreduce (reduce-scatter, then allgather) of each rank's fp32 gradient sum "
        "(summation order of the ring: not bit-identical to the in-process run)";
  } else if (plan.reduction == Reduction::kReduceScatter) {
    cost.collective =
        plan.method->majority_vote()
            ? "reduce-scatter of packed per-coordinate sign counts, then allgather of each "
              "shard's 1-bit majority vote (bit-identical to the in-process run)"
            : "reduce-scatter of packed per-coordinate sign counts, then allgather of the "
              "shards' counts (bit-identical to the in-process run)";
  } else {
    cost.collective =
        "allgather of the agents' encoded messages in agent order; every rank aggregates them "
        "(bit-identical to the in-process run)";
  }
  // What the communicator counts: a ring step sends and receives one block; an allgather hands
  // MPI this rank's block once and receives the others'.
  const auto ranks = static_cast<std::uint32_t>(plan.workers / plan.agents_per_rank);
  for (const ExchangePhase& phase : exchange_phases(plan, dim, message_bytes, ranks)) {
    cost.declared_received_per_step += phase.rounds * phase.bytes;
    cost.declared_sent_per_step += phase.gathered ? phase.bytes : phase.rounds * phase.bytes;
  }
  return cost;
}

}  // namespace dsignsgd
