#include "dsignsgd/optim/exchange.hpp"

#include <algorithm>

#include "dsignsgd/comm/communicator.hpp"
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

/// DSGD with MPI_Allreduce: the local agents' (identity-coded) gradients summed in agent order,
/// the ranks' sums summed by MPI, then ĝ = Σ / N.
class AllreduceExchange final : public Exchange {
 public:
  AllreduceExchange(Communicator& communicator, std::uint32_t per_rank, std::uint32_t agents)
      : communicator_(communicator), local_(rank_agents(communicator, per_rank)),
        agents_(agents) {}
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

bool distributed(Communicator* communicator) {
  return communicator != nullptr && communicator->size() > 1;
}

}  // namespace

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
  return std::make_unique<AllgatherExchange>(*communicator, per_rank, agents, message_bytes);
}

ExchangeCost exchange_cost(const RunPlan& plan, std::size_t dim, std::size_t message_bytes) {
  ExchangeCost cost;
  if (plan.reduction == Reduction::kAllreduce) {  // one fp32 vector each way, no header
    cost.collective =
        "MPI_Allreduce of each rank's fp32 gradient sum (summation order up to MPI: not "
        "bit-identical to the in-process run)";
    cost.declared_sent_per_step = 4 * dim;
    cost.declared_received_per_step = 4 * dim;
  } else {
    cost.collective =
        "allgather of the agents' encoded messages in agent order; every rank aggregates them "
        "(bit-identical to the in-process run)";
    const auto per_rank = static_cast<std::uint64_t>(plan.agents_per_rank);
    cost.declared_sent_per_step = per_rank * message_bytes;
    cost.declared_received_per_step =
        static_cast<std::uint64_t>(plan.workers - plan.agents_per_rank) * message_bytes;
  }
  return cost;
}

}  // namespace dsignsgd
