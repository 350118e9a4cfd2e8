#include "dsignsgd/core/build_info.hpp"

#include "dsignsgd/core/cpu_level.hpp"
#include "dsignsgd/version.hpp"

namespace dsignsgd {

std::string cpu_level_name() { return to_string(cpu_level()); }

std::string version_line() {
  return std::string(kVersion) + " (commit " + kGitCommit + ", CPU level " + cpu_level_name() +
         ")";
}

}  // namespace dsignsgd
