#pragma once
// The main() of a GoogleTest program run under mpirun: MPI up, one communicator with a timeout
// for the tests, and one report (rank 0's; failures on other ranks still set the exit code).
#include <gtest/gtest.h>

#include "dsignsgd/comm/mpi.hpp"

namespace dsignsgd::testing {

inline int run_mpi_tests(int argc, char** argv, Communicator*& world, double timeout_seconds) {
  ::testing::InitGoogleTest(&argc, argv);
  MpiEnvironment environment;
  auto communicator = make_mpi_communicator(timeout_seconds);
  world = communicator.get();
  if (communicator->rank() != 0) {
    delete ::testing::UnitTest::GetInstance()->listeners().Release(
        ::testing::UnitTest::GetInstance()->listeners().default_result_printer());
  }
  const int result = RUN_ALL_TESTS();
  communicator.reset();
  return result;
}

}  // namespace dsignsgd::testing
