#include "dsignsgd/core/data_dir.hpp"

#include <cstdlib>

#include "dsignsgd/version.hpp"

namespace dsignsgd {

std::string default_data_dir() {
  const char* from_env = std::getenv(kDataDirEnv);
  if (from_env != nullptr && *from_env != '\0') return from_env;
  return kInstalledDataDir;
}

}  // namespace dsignsgd
