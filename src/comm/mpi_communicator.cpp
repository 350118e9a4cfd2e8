// The only translation unit that includes <mpi.h>.
#include <mpi.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <string>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "dsignsgd/comm/mpi.hpp"
#include "dsignsgd/core/spec.hpp"

namespace dsignsgd {
namespace {

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw CommunicationError(std::string(what) + " failed: " + std::string(text, length));
}

/// Where this process runs, as a person would look for it: the processor name and, under Open MPI,
/// the address its node's daemon listens on (hosts that share a name — containers, network
/// namespaces — still differ there), e.g. "node17 [10.0.3.17]".
std::string host_label() {
  std::array<char, MPI_MAX_PROCESSOR_NAME> name{};
  int length = 0;
  MPI_Get_processor_name(name.data(), &length);
  std::string label(name.data(), static_cast<std::size_t>(length));
  if (const char* uri = std::getenv("OMPI_MCA_orte_local_daemon_uri")) {
    const std::string text(uri);  // "jobid.vpid;tcp://10.77.0.2:53965[,…]"
    const auto start = text.find("tcp://");
    if (start != std::string::npos) {
      const auto end = text.find_first_of(";,", start);
      std::string address = text.substr(start + 6, end == std::string::npos ? end : end - start - 6);
      const auto port = address.rfind(':');
      if (port != std::string::npos) address.resize(port);
      label += " [" + address + "]";
    }
  }
  return label;
}

/// Ends this process (exit code 3, after one line on stderr) when a blocking stretch of MPI —
/// MPI_Init, the communicator's set-up and teardown, MPI_Finalize, or a polled wait whose own
/// timeout did not fire — outlives its deadline. A rank stopped from outside (SIGSTOP) at any
/// moment otherwise holds the others inside such a call for ever; mpirun ends the job, stopped
/// ranks included, once one rank exits non-zero.
class Watchdog {
 public:
  static Watchdog& instance() {
    static Watchdog watchdog;
    return watchdog;
  }

  std::uint64_t arm(const char* what, double seconds) {
    const std::lock_guard lock(mutex_);
    const std::uint64_t id = ++next_id_;
    deadlines_[id] = {what, seconds,
                      std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(seconds))};
    if (!thread_.joinable()) thread_ = std::thread([this] { watch(); });
    return id;
  }
  void disarm(std::uint64_t id) {
    const std::lock_guard lock(mutex_);
    deadlines_.erase(id);
  }
  void set_rank(int rank) { rank_ = rank; }

  ~Watchdog() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Deadline {
    const char* what;
    double seconds;
    std::chrono::steady_clock::time_point at;
  };

  Watchdog() {
    if (const char* rank = std::getenv("OMPI_COMM_WORLD_RANK")) rank_ = std::atoi(rank);
  }

  void watch() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::milliseconds(100));
      const auto now = std::chrono::steady_clock::now();
      for (const auto& [id, deadline] : deadlines_) {
        if (now < deadline.at) continue;
        std::fprintf(stderr,
                     "dsignsgd: communication failed: %s on rank %d did not complete within "
                     "%.3g s: another rank died or was stopped, or its host or link is down; "
                     "ending the job\n",
                     deadline.what, rank_.load(), deadline.seconds);
        std::fflush(stderr);
        std::_Exit(3);
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::uint64_t, Deadline> deadlines_;
  std::uint64_t next_id_ = 0;
  bool stopping_ = false;
  std::atomic<int> rank_{-1};
  std::thread thread_;
};

/// Arms the watchdog for the lifetime of the guard; no deadline when `seconds` is not positive.
class WatchdogGuard {
 public:
  WatchdogGuard(const char* what, double seconds)
      : id_(seconds > 0.0 ? Watchdog::instance().arm(what, seconds) : 0) {}
  ~WatchdogGuard() {
    if (id_ != 0) Watchdog::instance().disarm(id_);
  }
  WatchdogGuard(const WatchdogGuard&) = delete;
  WatchdogGuard& operator=(const WatchdogGuard&) = delete;

 private:
  std::uint64_t id_;
};

/// The polled waits time out by themselves after the timeout (plus 2 s to name the silent
/// ranks); the watchdog is the backstop should MPI itself block inside a test.
constexpr double kWaitBackstopSeconds = 10.0;

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(double timeout_seconds) : timeout_(timeout_seconds) {
    const WatchdogGuard guard("setting up the communicator (MPI_Comm_dup, MPI_Allgather)",
                              timeout_seconds);
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    check(MPI_Comm_dup(MPI_COMM_WORLD, &probe_comm_), "MPI_Comm_dup");
    // Errors come back as codes (and then exceptions), not as an abort inside MPI.
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_set_errhandler(probe_comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    Watchdog::instance().set_rank(rank_);
    gather_host_labels();
    post_liveness_receive();
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    const WatchdogGuard guard("freeing the communicator", timeout_);
    MPI_Cancel(&question_);
    MPI_Wait(&question_, MPI_STATUS_IGNORE);
    MPI_Comm_free(&probe_comm_);
    MPI_Comm_free(&comm_);
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

  // The sums run around a ring of point-to-point messages polled with the timeout, not through
  // Open MPI's non-blocking collectives: its MPI_Iallreduce in place reduces to a root and
  // broadcasts (2·⌈log₂P⌉ full vectors in sequence: 2× the ring's time at 2 ranks), and its
  // MPI_Ireduce_scatter_block reduces to a root and scatters (1.25× the ring's bytes at 4 ranks).

  /// Ring allreduce of fp32 (reduce-scatter, then allgather) on blocks of ⌈n/P⌉: 2(P − 1)⌈n/P⌉
  /// floats sent and received. Every rank ends with the same bits (block b is summed in one
  /// order, then copied); the order is not the in-process one.
  void allreduce_sum(std::span<float> values) override {
    const std::size_t p = static_cast<std::size_t>(size_);
    const std::size_t block = (values.size() + p - 1) / p;
    padded_floats_.assign(block * p, 0.0f);
    std::copy(values.begin(), values.end(), padded_floats_.begin());
    ring_reduce_scatter(std::span(padded_floats_), block, MPI_FLOAT);
    ring_allgather(std::span(padded_floats_), block, MPI_FLOAT);
    std::copy_n(padded_floats_.begin(), values.size(), values.begin());
    const std::uint64_t bytes = 2 * 4 * block * (p - 1);
    bytes_sent_ += bytes;
    bytes_received_ += bytes;
  }

  void reduce_scatter_sum(std::span<const std::uint64_t> all,
                          std::span<std::uint64_t> mine) override {
    const std::size_t block = mine.size();
    partial_.assign(all.begin(), all.end());
    ring_reduce_scatter(std::span(partial_), block, MPI_UINT64_T);
    std::copy_n(partial_.begin() + static_cast<std::ptrdiff_t>(rank_ * block), block, mine.begin());
    const std::uint64_t bytes = 8 * block * static_cast<std::uint64_t>(size_ - 1);
    bytes_sent_ += bytes;
    bytes_received_ += bytes;
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
    const WatchdogGuard backstop(what, timeout_ + kWaitBackstopSeconds);
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
        throw CommunicationError(std::string(what) + " on rank " + std::to_string(rank_) + " (" +
                                 host_labels_[rank_] + ") did not complete within --comm-timeout " +
                                 format_double(timeout_) + " s; " +
                                 unresponsive_ranks());
      }
      answer_liveness_question();
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(200));
    }
  }

  // --- Liveness: which rank stopped answering ------------------------------------------------
  // Every rank keeps one receive posted on a private communicator and answers a question while it
  // waits in a collective. A rank whose collective times out asks every other rank and names
  // those that do not answer: dead, stopped, or on a host whose link is down.
  static constexpr int kQuestionTag = 1;
  static constexpr int kAnswerTag = 2;

  void gather_host_labels() {
    constexpr int kWidth = 128;
    std::array<char, kWidth> mine{};
    const std::string label = host_label();
    std::copy_n(label.begin(), std::min<std::size_t>(label.size(), kWidth - 1), mine.begin());
    std::vector<char> all(static_cast<std::size_t>(kWidth) * static_cast<std::size_t>(size_));
    check(MPI_Allgather(mine.data(), kWidth, MPI_CHAR, all.data(), kWidth, MPI_CHAR, comm_),
          "MPI_Allgather");
    for (int r = 0; r < size_; ++r) host_labels_.emplace_back(all.data() + r * kWidth);
  }

  void post_liveness_receive() {
    check(MPI_Irecv(&question_byte_, 1, MPI_BYTE, MPI_ANY_SOURCE, kQuestionTag, probe_comm_,
                    &question_),
          "MPI_Irecv");
  }

  void answer_liveness_question() {
    int asked = 0;
    MPI_Status status;
    if (MPI_Test(&question_, &asked, &status) != MPI_SUCCESS || !asked) return;
    MPI_Request answer;
    if (MPI_Isend(&answer_byte_, 1, MPI_BYTE, status.MPI_SOURCE, kAnswerTag, probe_comm_,
                  &answer) == MPI_SUCCESS) {
      MPI_Request_free(&answer);  // completes in the background
    }
    post_liveness_receive();
  }

  /// Asks every other rank and waits up to min(2 s, timeout) for the answers; names the silent.
  std::string unresponsive_ranks() {
    std::vector<MPI_Request> requests;
    std::vector<int> peers;
    std::vector<char> answers(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r) {
      if (r == rank_) continue;
      MPI_Request ask, answer;
      if (MPI_Irecv(&answers[r], 1, MPI_BYTE, r, kAnswerTag, probe_comm_, &answer) != MPI_SUCCESS ||
          MPI_Isend(&question_byte_, 1, MPI_BYTE, r, kQuestionTag, probe_comm_, &ask) !=
              MPI_SUCCESS) {
        return "the liveness check could not be sent (another rank died)";
      }
      MPI_Request_free(&ask);
      requests.push_back(answer);
      peers.push_back(r);
    }
    const auto start = std::chrono::steady_clock::now();
    const double grace = std::min(2.0, timeout_);
    std::vector<bool> answered(peers.size(), false);
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < grace) {
      bool all = true;
      for (std::size_t i = 0; i < peers.size(); ++i) {
        if (answered[i]) continue;
        int done = 0;
        if (MPI_Test(&requests[i], &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && done) {
          answered[i] = true;
        } else {
          all = false;
        }
      }
      answer_liveness_question();
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::string silent;
    for (std::size_t i = 0; i < peers.size(); ++i) {
      if (answered[i]) continue;
      silent += (silent.empty() ? "" : ", ") + std::string("rank ") + std::to_string(peers[i]) +
                " (" + host_labels_[peers[i]] + ")";
    }
    if (silent.empty()) {
      return "every other rank still answers: one of them is stuck outside communication";
    }
    return "no answer within " + std::to_string(static_cast<int>(grace)) + " s from " + silent +
           ": it died or was stopped, or its host or link is down";
  }

  // --- Rings -------------------------------------------------------------------------------
  static constexpr int kRingTag = 3;

  /// One ring step: receives `count` elements from the previous rank into `in` while sending
  /// `out` to the next, both polled with the timeout.
  template <class T>
  void ring_exchange(const T* out, T* in, std::size_t count, MPI_Datatype type, const char* what) {
    const int next = (rank_ + 1) % size_, previous = (rank_ + size_ - 1) % size_;
    MPI_Request receive, send;
    check(MPI_Irecv(in, static_cast<int>(count), type, previous, kRingTag, comm_, &receive),
          "MPI_Irecv");
    check(MPI_Isend(out, static_cast<int>(count), type, next, kRingTag, comm_, &send), "MPI_Isend");
    wait(receive, what);
    wait(send, what);
  }

  /// In place over P blocks of `block` elements: in step s rank r sends its partial sums of block
  /// r − s − 1 to rank r + 1 and adds rank r − 1's partial sums of block r − s − 2 to its own;
  /// after P − 1 steps block r is complete on rank r.
  template <class T>
  void ring_reduce_scatter(std::span<T> data, std::size_t block, MPI_Datatype type) {
    const auto p = static_cast<std::size_t>(size_), r = static_cast<std::size_t>(rank_);
    std::vector<T>& incoming = ring_buffer<T>();
    incoming.resize(block);
    for (std::size_t step = 0; step + 1 < p; ++step) {
      const std::size_t send_block = (r + 2 * p - step - 1) % p;
      const std::size_t receive_block = (r + 2 * p - step - 2) % p;
      ring_exchange(data.data() + send_block * block, incoming.data(), block, type,
                    "the reduce-scatter ring");
      T* target = data.data() + receive_block * block;
      for (std::size_t i = 0; i < block; ++i) target[i] += incoming[i];
    }
  }

  /// In place: rank r holds block r complete; in step s it forwards block r − s and receives
  /// block r − s − 1 from rank r − 1.
  template <class T>
  void ring_allgather(std::span<T> data, std::size_t block, MPI_Datatype type) {
    const auto p = static_cast<std::size_t>(size_), r = static_cast<std::size_t>(rank_);
    for (std::size_t step = 0; step + 1 < p; ++step) {
      const std::size_t send_block = (r + p - step) % p;
      const std::size_t receive_block = (r + 2 * p - step - 1) % p;
      ring_exchange(data.data() + send_block * block, data.data() + receive_block * block, block,
                    type, "the allgather ring");
    }
  }

  template <class T>
  std::vector<T>& ring_buffer() {
    if constexpr (std::is_same_v<T, float>) {
      return incoming_floats_;
    } else {
      return incoming_words_;
    }
  }

  std::vector<std::uint64_t> partial_, incoming_words_;
  std::vector<float> padded_floats_, incoming_floats_;

  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Comm probe_comm_ = MPI_COMM_NULL;
  MPI_Request question_ = MPI_REQUEST_NULL;
  char question_byte_ = 0;
  char answer_byte_ = 1;
  std::vector<std::string> host_labels_;
  int rank_ = 0;
  int size_ = 1;
  double timeout_;
};

}  // namespace

MpiEnvironment::MpiEnvironment(double timeout_seconds) : timeout_(timeout_seconds) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // Start-up may take longer than one collective on a loaded machine: at least 10 s.
    const WatchdogGuard guard("MPI_Init", timeout_seconds > 0.0 ? std::max(timeout_seconds, 10.0)
                                                                : 0.0);
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    initialized_here_ = true;
  }
}

MpiEnvironment::~MpiEnvironment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (initialized_here_ && !finalized) {
    const WatchdogGuard guard("MPI_Finalize", timeout_);
    MPI_Finalize();
  }
}

void MpiEnvironment::abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

std::unique_ptr<Communicator> make_mpi_communicator(double timeout_seconds) {
  return std::make_unique<MpiCommunicator>(timeout_seconds);
}

}  // namespace dsignsgd
