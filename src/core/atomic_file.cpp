#include "dsignsgd/core/atomic_file.hpp"

#include <unistd.h>

#include <fstream>
#include <stdexcept>

namespace dsignsgd {

void write_file_atomic(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::path temporary = path;
  temporary += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + temporary.string());
    out << content;
    out.flush();
    if (!out) {
      out.close();
      std::filesystem::remove(temporary);
      throw std::runtime_error("error while writing " + temporary.string());
    }
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace dsignsgd
