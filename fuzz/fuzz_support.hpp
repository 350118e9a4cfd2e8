#pragma once
// Shared by the libFuzzer targets: the input as a file (the loaders read paths), and the rule
// that only ConfigError is an acceptable way to refuse an input — any other exception, crash,
// leak or sanitizer report is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace dsignsgd::fuzz {

/// A file in this process's scratch directory holding `size` bytes of `data`; `name` may carry
/// an extension (".gz") that the code under test looks at.
/// This process's scratch directory (created on first use).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path d =
        std::filesystem::temp_directory_path() / ("dsignsgd_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline std::filesystem::path write_input(const std::string& name, const std::uint8_t* data,
                                         std::size_t size) {
  const std::filesystem::path path = scratch_dir() / name;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file != nullptr) {
    if (size > 0) std::fwrite(data, 1, size, file);
    std::fclose(file);
  }
  return path;
}

/// The input split at its first byte into a selector and the rest.
struct Selected {
  std::uint8_t selector = 0;
  std::string text;
};
inline Selected select(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {};
  return {data[0], std::string(reinterpret_cast<const char*>(data) + 1, size - 1)};
}

}  // namespace dsignsgd::fuzz
