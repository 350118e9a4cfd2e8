#include "dsignsgd/core/assert.hpp"
#include "dsignsgd/optim/aggregator.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "dsignsgd/compress/bit_pack.hpp"
#include "dsignsgd/random/batch.hpp"

namespace dsignsgd {
namespace {

/// sum ← Σ_i C(g_i). 1-bit sign messages are not decoded one by one: their votes are counted
/// with bit-sliced adders (the same exact integer sums, N× less memory traffic).
void sum_messages(std::span<const WireMessage> messages, const Compressor& compressor,
                  const StreamAddress& address, std::span<float> sum) {
  if (compressor.sign_payload()) {
    thread_local std::vector<const std::uint8_t*> payloads;
    payloads.clear();
    for (const WireMessage& message : messages) {
      payloads.push_back(compressor.sign_bits(message, sum.size()));
    }
    sum_sign_votes(payloads, sum);
    return;
  }
  std::fill(sum.begin(), sum.end(), 0.0f);
  StreamAddress agent_address = address;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    agent_address.agent = static_cast<std::uint32_t>(i);
    compressor.decode_accumulate(messages[i], agent_address, 1.0f, sum);
  }
}

/// direction[j] ← sign of the vote sum at coordinate offset + j, or the server's coin there when
/// the sum is 0. One coin bit per coordinate: bit (c % 32) of draw c / 32 decides a tie at c.
void vote_with_coins(const StreamAddress& address, std::size_t offset, std::span<float> direction) {
  StreamAddress server = address.with_purpose(StreamPurpose::kServer);
  server.agent = kServerAgent;
  RandomStream coin(server);
  const std::size_t d = direction.size();
  thread_local std::vector<std::uint32_t> coins;
  coins.resize((offset + d + 31) / 32);
  fill_u32(coin, coins);
  // Integer select, no branches (vectorizes): ±1 with the sign of the sum, or the coin at 0.
  for (std::size_t j = 0; j < d; ++j) {
    const std::size_t c = offset + j;
    const auto sum = std::bit_cast<std::uint32_t>(direction[j]);
    const std::uint32_t coin_negative = (~(coins[c / 32] >> (c % 32)) & 1u) << 31;
    const std::uint32_t zero = 0u - static_cast<std::uint32_t>((sum & 0x7FFFFFFFu) == 0);
    const std::uint32_t sign = (coin_negative & zero) | (sum & 0x80000000u & ~zero);
    direction[j] = std::bit_cast<float>(0x3F800000u | sign);
  }
}

/// sum ← sum / N as the mean aggregation computes it (one rounding: × fl(1/N)), whether the sum
/// came from decoded messages or from sign counts — the two must agree bit for bit.
void divide_by_agents(std::span<float> sum, std::size_t agents) {
  const float inv_agents = 1.0f / static_cast<float>(agents);
  for (float& value : sum) value *= inv_agents;
}

/// out[j] = Σ of ±1 over the agents = 2 plus[j] − N: the exact integer sum_messages produces.
void vote_sums(std::span<const std::uint16_t> plus, std::size_t agents, std::span<float> out) {
  const auto n = static_cast<std::int32_t>(agents);
  for (std::size_t j = 0; j < out.size(); ++j) {
    out[j] = static_cast<float>(2 * static_cast<std::int32_t>(plus[j]) - n);
  }
}

}  // namespace

void MeanAggregator::aggregate_sign_counts(std::span<const std::uint16_t> plus, std::size_t agents,
                                           std::size_t, const StreamAddress&,
                                           std::span<float> out) const {
  vote_sums(plus, agents, out);
  divide_by_agents(out, agents);
}

void MajorityVoteAggregator::aggregate_sign_counts(std::span<const std::uint16_t> plus,
                                                   std::size_t agents, std::size_t offset,
                                                   const StreamAddress& address,
                                                   std::span<float> out) const {
  vote_sums(plus, agents, out);
  vote_with_coins(address, offset, out);
}

void MeanAggregator::aggregate(std::span<const WireMessage> messages, const Compressor& compressor,
                               const StreamAddress& address, std::span<float> direction) const {
  sum_messages(messages, compressor, address, direction);
  divide_by_agents(direction, messages.size());
}

std::size_t MeanAggregator::downlink_bits(std::size_t d, std::size_t agents,
                                          const Compressor& compressor) const {
  const std::size_t bits_per_coordinate =
      compressor.sign_payload() ? static_cast<std::size_t>(std::bit_width(agents)) : 32;
  return 8 * kMessageHeaderBytes + 8 * ((bits_per_coordinate * d + 7) / 8);
}

void MajorityVoteAggregator::aggregate(std::span<const WireMessage> messages,
                                       const Compressor& compressor, const StreamAddress& address,
                                       std::span<float> direction) const {
  sum_messages(messages, compressor, address, direction);
  vote_with_coins(address, 0, direction);
}
std::size_t MajorityVoteAggregator::downlink_bits(std::size_t d, std::size_t,
                                                  const Compressor&) const {
  return 8 * kMessageHeaderBytes + 8 * ((d + 7) / 8);
}

void majority_vote_shard(std::span<const std::uint8_t* const> payloads, std::size_t offset,
                         const StreamAddress& address, std::span<float> out) {
  DSIGNSGD_ASSERT(offset % 8 == 0, "majority_vote_shard: the shard must start at a whole byte");
  sum_sign_votes(payloads, out);
  vote_with_coins(address, offset, out);
}

}  // namespace dsignsgd
