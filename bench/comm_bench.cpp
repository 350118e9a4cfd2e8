// Per-step communication of DSignSGD against DSGD over MPI, side by side in one run:
//   mpirun -n R build/bench/dsignsgd_comm_bench [--dims 1000000,10000000] [--repeats 20]
// For each d, one agent per rank exchanges (a) bit-packed sign messages by allgather (DSignSGD,
// majority vote), (b) fp32 messages by allgather (DSGD, --reduction fixed) and (c) an fp32
// MPI_Allreduce (DSGD, --reduction allreduce). Prints the median time per exchange and the bytes
// each rank handed to MPI, and the ratios against (b).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "dsignsgd/comm/mpi.hpp"
#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/random/batch.hpp"

namespace {

using namespace dsignsgd;

template <typename F>
double median_seconds(Communicator& comm, int repeats, F&& exchange) {
  std::vector<double> times;
  std::vector<std::uint64_t> sync(static_cast<std::size_t>(comm.size()));
  for (int r = 0; r < repeats; ++r) {
    comm.allgather_u64(0, sync);  // start together
    const auto start = std::chrono::steady_clock::now();
    exchange();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  MpiEnvironment environment;
  const auto comm = make_mpi_communicator(120.0);
  std::vector<std::size_t> dims = {1'000'000, 10'000'000};
  int repeats = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--repeats") repeats = std::stoi(argv[i + 1]);
    if (flag == "--dims") {
      dims.clear();
      std::string list = argv[i + 1];
      for (std::size_t at = 0; at <= list.size();) {
        const std::size_t comma = std::min(list.find(',', at), list.size());
        dims.push_back(std::stoull(list.substr(at, comma - at)));
        at = comma + 1;
      }
    }
  }
  if (comm->rank() == 0) {
    std::printf("ranks %d, one agent per rank, median of %d exchanges\n", comm->size(), repeats);
    std::printf("%10s %-28s %12s %14s %12s %10s\n", "d", "exchange", "ms/step", "bytes sent", "time ratio",
                "bytes ratio");
  }
  for (std::size_t d : dims) {
    std::vector<float> g(d);
    RandomStream rng(StreamAddress{7, 0, static_cast<std::uint32_t>(comm->rank()), 0,
                                   StreamPurpose::kTest});
    fill_standard_normal(rng, g);
    WireMessage sign_message, fp32_message;
    SignCompressor().encode(g, StreamAddress{}, sign_message);
    IdentityCompressor().encode(g, StreamAddress{}, fp32_message);
    std::vector<std::uint8_t> all(sign_message.bytes.size() * comm->size());
    std::vector<std::uint8_t> all_fp32(fp32_message.bytes.size() * comm->size());
    std::vector<float> sum(d);

    struct Row {
      const char* name;
      double seconds;
      std::uint64_t bytes;
    };
    std::vector<Row> rows;
    std::uint64_t before = comm->bytes_sent();
    const double t_fp32 = median_seconds(*comm, repeats, [&] {
      comm->allgather(fp32_message.bytes, all_fp32);
    });
    rows.push_back({"dsgd fp32 allgather (fixed)", t_fp32, (comm->bytes_sent() - before) / repeats});
    before = comm->bytes_sent();
    const double t_sign = median_seconds(*comm, repeats, [&] {
      comm->allgather(sign_message.bytes, all);
    });
    rows.push_back({"dsignsgd 1-bit allgather", t_sign, (comm->bytes_sent() - before) / repeats});
    before = comm->bytes_sent();
    const double t_reduce = median_seconds(*comm, repeats, [&] {
      std::copy(g.begin(), g.end(), sum.begin());
      comm->allreduce_sum(sum);
    });
    rows.push_back({"dsgd fp32 allreduce", t_reduce, (comm->bytes_sent() - before) / repeats});
    if (comm->rank() == 0) {
      for (const Row& row : rows) {
        std::printf("%10zu %-28s %12.3f %14llu %12.3f %10.2f\n", d, row.name, 1e3 * row.seconds,
                    static_cast<unsigned long long>(row.bytes), row.seconds / t_fp32,
                    static_cast<double>(rows[0].bytes) / static_cast<double>(row.bytes));
      }
    }
  }
  return 0;
}
