#pragma once
/// @file
/// The MPI backend, behind the Communicator interface (this header does not include <mpi.h>;
/// only src/comm/mpi_*.cpp do). Available when the library was built with MPI
/// (DSIGNSGD_HAVE_MPI).

#include <memory>

#include "dsignsgd/comm/communicator.hpp"

namespace dsignsgd {

/// Initializes MPI if nobody has (and then finalizes it at destruction), with
/// MPI_THREAD_SERIALIZED; finalizes only what it initialized.
class MpiEnvironment {
 public:
  /// With `timeout_seconds` > 0, MPI_Init (at least 10 s) and MPI_Finalize that do not complete
  /// within it end the process with exit code 3 and a message: a rank stopped or dead before
  /// or after the job's collectives cannot hold the others for ever.
  explicit MpiEnvironment(double timeout_seconds = 0.0);
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;
  /// Ends every rank of the job (after a fatal error on one of them).
  static void abort(int code);

 private:
  bool initialized_here_ = false;
  double timeout_ = 0.0;
};

/// A communicator on a private duplicate of MPI_COMM_WORLD. Collectives are non-blocking
/// requests polled until done or until `timeout_seconds` pass (then CommunicationError): a
/// dead, hung or stopped rank cannot make the others wait forever. MPI errors become
/// CommunicationError carrying MPI_Error_string.
std::unique_ptr<Communicator> make_mpi_communicator(double timeout_seconds);

}  // namespace dsignsgd
