#pragma once
// The CLI's handle on MPI: the environment and a communicator, or a clear error when the program
// was built without MPI.
#include <memory>

#include "dsignsgd/comm/communicator.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/spec.hpp"
#ifdef DSIGNSGD_HAVE_MPI
#include "dsignsgd/comm/mpi.hpp"
#endif

namespace dsignsgd::cli {

class MpiSession {
 public:
  explicit MpiSession(double timeout_seconds) {
#ifdef DSIGNSGD_HAVE_MPI
    environment_ = std::make_unique<MpiEnvironment>(timeout_seconds);
    communicator_ = make_mpi_communicator(timeout_seconds);
#else
    (void)timeout_seconds;
    throw ConfigError("backend", "mpi", "this dsignsgd was built without MPI (install "
                                        "libopenmpi-dev and rebuild)");
#endif
  }
  Communicator& communicator() { return *communicator_; }

  static void abort(int code) {
#ifdef DSIGNSGD_HAVE_MPI
    MpiEnvironment::abort(code);
#else
    (void)code;
#endif
  }

 private:
#ifdef DSIGNSGD_HAVE_MPI
  std::unique_ptr<MpiEnvironment> environment_;
#endif
  std::unique_ptr<Communicator> communicator_;
};

}  // namespace dsignsgd::cli
