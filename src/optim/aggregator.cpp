#include "dsignsgd/optim/aggregator.hpp"

#include <algorithm>
#include <bit>

namespace dsignsgd {
namespace {

void sum_messages(std::span<const WireMessage> messages, const Compressor& compressor,
                  const StreamAddress& address, std::span<float> sum) {
  std::fill(sum.begin(), sum.end(), 0.0f);
  StreamAddress agent_address = address;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    agent_address.agent = static_cast<std::uint32_t>(i);
    compressor.decode_accumulate(messages[i], agent_address, 1.0f, sum);
  }
}

}  // namespace

void MeanAggregator::aggregate(std::span<const WireMessage> messages, const Compressor& compressor,
                               const StreamAddress& address, std::span<float> direction) const {
  sum_messages(messages, compressor, address, direction);
  const float inv_agents = 1.0f / static_cast<float>(messages.size());
  for (float& value : direction) value *= inv_agents;
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
  StreamAddress server = address.with_purpose(StreamPurpose::kServer);
  server.agent = kServerAgent;
  RandomStream coin(server);
  for (float& value : direction) {
    if (value > 0.0f) {
      value = 1.0f;
    } else if (value < 0.0f) {
      value = -1.0f;
    } else {
      value = (coin.next_u32() & 1u) ? 1.0f : -1.0f;
    }
  }
}

std::size_t MajorityVoteAggregator::downlink_bits(std::size_t d, std::size_t,
                                                  const Compressor&) const {
  return 8 * kMessageHeaderBytes + 8 * ((d + 7) / 8);
}

}  // namespace dsignsgd
