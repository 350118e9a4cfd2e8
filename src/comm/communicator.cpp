#include "dsignsgd/comm/communicator.hpp"

#include <algorithm>

namespace dsignsgd {

void LocalCommunicator::allgather(std::span<const std::uint8_t> local,
                                  std::span<std::uint8_t> all) {
  std::copy(local.begin(), local.end(), all.begin());
}

}  // namespace dsignsgd
