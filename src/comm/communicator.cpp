#include "dsignsgd/comm/communicator.hpp"

#include <algorithm>

namespace dsignsgd {

void LocalCommunicator::allgather(std::span<const std::uint8_t> local,
                                  std::span<std::uint8_t> all) {
  std::copy(local.begin(), local.end(), all.begin());
}

void LocalCommunicator::reduce_scatter_sum(std::span<const std::uint64_t> all,
                                           std::span<std::uint64_t> mine) {
  std::copy(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(mine.size()), mine.begin());
}

}  // namespace dsignsgd
