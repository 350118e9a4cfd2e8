#include "dsignsgd/comm/communicator.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "dsignsgd/core/config_error.hpp"

namespace dsignsgd {

void LocalCommunicator::allgather(std::span<const std::uint8_t> local,
                                  std::span<std::uint8_t> all) {
  std::copy(local.begin(), local.end(), all.begin());
}

void LocalCommunicator::reduce_scatter_sum(std::span<const std::uint64_t> all,
                                           std::span<std::uint64_t> mine) {
  std::copy(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(mine.size()), mine.begin());
}

namespace {

/// A failure as bytes: kind (0 none, 1 ConfigError, 2 other), then option, value and constraint
/// (ConfigError) or the message, separated by NUL.
std::string encode_failure(int kind, const std::vector<std::string>& parts) {
  std::string out(1, static_cast<char>(kind));
  for (const std::string& part : parts) out += part + '\0';
  return out;
}

std::vector<std::string> decode_parts(const std::string& bytes) {
  std::vector<std::string> parts;
  std::size_t begin = 1;
  for (std::size_t end; (end = bytes.find('\0', begin)) != std::string::npos; begin = end + 1) {
    parts.push_back(bytes.substr(begin, end - begin));
  }
  return parts;
}

}  // namespace

void agree_on_failure(Communicator* communicator, const std::function<void()>& step) {
  if (communicator == nullptr || communicator->size() == 1) {
    step();
    return;
  }
  std::string mine = encode_failure(0, {});
  std::exception_ptr local;
  try {
    step();
  } catch (const ConfigError& e) {
    local = std::current_exception();
    mine = encode_failure(1, {e.option(), e.value(), e.constraint()});
  } catch (const std::exception& e) {
    local = std::current_exception();
    mine = encode_failure(2, {e.what()});
  }
  const auto ranks = static_cast<std::size_t>(communicator->size());
  std::vector<std::uint64_t> lengths(ranks);
  communicator->allgather_u64(mine.size(), lengths);
  const std::size_t width = *std::max_element(lengths.begin(), lengths.end());
  if (width <= 1) return;  // nobody failed
  std::vector<std::uint8_t> block(width, 0), all(width * ranks);
  std::copy(mine.begin(), mine.end(), block.begin());
  communicator->allgather(block, all);
  for (std::size_t r = 0; r < ranks; ++r) {
    const std::string bytes(reinterpret_cast<const char*>(&all[r * width]), lengths[r]);
    if (bytes[0] == 0) continue;
    if (static_cast<int>(r) == communicator->rank() && (r == 0 || bytes[0] == 2)) {
      std::rethrow_exception(local);  // its own failure, as it was
    }
    const std::vector<std::string> parts = decode_parts(bytes);
    const std::string where = r == 0 ? "" : " (seen by rank " + std::to_string(r) + ")";
    if (bytes[0] == 1 && parts.size() == 3) throw ConfigError(parts[0], parts[1], parts[2] + where);
    throw std::runtime_error("rank " + std::to_string(r) +
                             " failed: " + (parts.empty() ? std::string("?") : parts[0]));
  }
}

}  // namespace dsignsgd
