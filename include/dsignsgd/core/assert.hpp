#pragma once
/// @file
/// DSIGNSGD_ASSERT(condition, message): an always-on check of a programmer error (ggml's
/// GGML_ASSERT). It is not for user input — that is a ConfigError, exit 2 — but for a broken
/// invariant between the library's own parts: it prints the failed condition, where it is and the
/// message to stderr, then aborts. Builds with NDEBUG keep it.

namespace dsignsgd::detail {
[[noreturn]] void assertion_failed(const char* condition, const char* file, int line,
                                   const char* message);
}  // namespace dsignsgd::detail

#define DSIGNSGD_ASSERT(condition, message)                                                  \
  do {                                                                                       \
    if (!(condition)) ::dsignsgd::detail::assertion_failed(#condition, __FILE__, __LINE__, \
                                                           (message));                       \
  } while (false)
