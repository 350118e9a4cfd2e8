// The only translation unit that includes <mpi.h>.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "dsignsgd/comm/mpi.hpp"

namespace dsignsgd {
namespace {

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw CommunicationError(std::string(what) + " failed: " + std::string(text, length));
}

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(double timeout_seconds) : timeout_(timeout_seconds) {
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    // Errors come back as codes (and then exceptions), not as an abort inside MPI.
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }

  void allgather(std::span<const std::uint8_t> local, std::span<std::uint8_t> all) override {
    MPI_Request request;
    check(MPI_Iallgather(local.data(), static_cast<int>(local.size()), MPI_BYTE, all.data(),
                         static_cast<int>(local.size()), MPI_BYTE, comm_, &request),
          "MPI_Iallgather");
    wait(request, "MPI_Iallgather");
    bytes_sent_ += local.size();
    bytes_received_ += local.size() * static_cast<std::uint64_t>(size_ - 1);
  }

  void allreduce_sum(std::span<float> values) override {
    MPI_Request request;
    check(MPI_Iallreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_FLOAT,
                         MPI_SUM, comm_, &request),
          "MPI_Iallreduce");
    wait(request, "MPI_Iallreduce");
    bytes_sent_ += 4 * values.size();
    bytes_received_ += 4 * values.size();
  }

  void allgather_u64(std::uint64_t local, std::span<std::uint64_t> all) override {
    MPI_Request request;
    check(MPI_Iallgather(&local, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm_, &request),
          "MPI_Iallgather");
    wait(request, "MPI_Iallgather");
  }

 private:
  /// Polls the request — yielding first, then sleeping with a growing back-off, so that
  /// oversubscribed ranks leave the CPU to the others — until it completes or the timeout passes.
  void wait(MPI_Request& request, const char* what) {
    const auto start = std::chrono::steady_clock::now();
    auto pause = std::chrono::microseconds(1);
    for (int polls = 0;; ++polls) {
      int done = 0;
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
      if (done) return;
      if (polls < 1000) {
        std::this_thread::yield();
        continue;
      }
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (waited > timeout_) {
        throw CommunicationError(std::string(what) + " on rank " + std::to_string(rank_) +
                                 " did not complete within --comm-timeout " +
                                 std::to_string(static_cast<int>(timeout_)) +
                                 " s: another rank died, hung or was stopped");
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(200));
    }
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  double timeout_;
};

}  // namespace

MpiEnvironment::MpiEnvironment() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    initialized_here_ = true;
  }
}

MpiEnvironment::~MpiEnvironment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (initialized_here_ && !finalized) MPI_Finalize();
}

void MpiEnvironment::abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

std::unique_ptr<Communicator> make_mpi_communicator(double timeout_seconds) {
  return std::make_unique<MpiCommunicator>(timeout_seconds);
}

}  // namespace dsignsgd
