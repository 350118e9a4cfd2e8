#pragma once
/// @file
/// NamedRegistry<Info>: the descriptors of one kind (methods, compressors), each registered once
/// under a unique name, in registration order. Entries never move (a deque keeps references on
/// push_back), so a `const Info*` stays valid for the program's life.

#include <deque>
#include <mutex>
#include <vector>

#include "dsignsgd/core/assert.hpp"

namespace dsignsgd {

template <class Info>
class NamedRegistry {
 public:
  explicit NamedRegistry(std::deque<Info> builtins) : entries_(std::move(builtins)) {}

  /// Adds `info`; its name must be new (a programmer error otherwise: DSIGNSGD_ASSERT).
  const Info& add(Info info) {
    const std::lock_guard lock(mutex_);
    for (const Info& existing : entries_) {
      DSIGNSGD_ASSERT(existing.name != info.name, "an entry of this name is registered already");
    }
    DSIGNSGD_ASSERT(!info.name.empty(), "a registry entry needs a name");
    return entries_.emplace_back(std::move(info));
  }

  std::vector<const Info*> entries() const {
    const std::lock_guard lock(mutex_);
    std::vector<const Info*> out;
    for (const Info& info : entries_) out.push_back(&info);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<Info> entries_;
};

}  // namespace dsignsgd
