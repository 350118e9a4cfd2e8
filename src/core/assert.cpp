#include "dsignsgd/core/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace dsignsgd::detail {

void assertion_failed(const char* condition, const char* file, int line, const char* message) {
  std::fprintf(stderr, "dsignsgd: internal error: %s:%d: assertion '%s' failed: %s\n", file, line,
               condition, message);
  std::fflush(stderr);
  std::abort();
}

}  // namespace dsignsgd::detail
