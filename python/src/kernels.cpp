// dsignsgd._core: the project's compressors and aggregators on NumPy arrays (views of the PyTorch
// bucket buffers, no copies), for the DDP communication hooks of dsignsgd.torch. Messages are the
// library's wire format (8-byte header + payload); stream addresses are the core's (seed, run,
// agent, step), so a hook's message is byte for byte what `dsignsgd train` would send.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "dsignsgd/compress/bit_pack.hpp"
#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/compress/compressors.hpp"
#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/optim/agent_filter.hpp"
#include "dsignsgd/optim/aggregator.hpp"
#include "dsignsgd/optim/method.hpp"
#include "dsignsgd/random/stream.hpp"
#include "kernels.hpp"

namespace py = pybind11;

namespace dsignsgd::python {
namespace {

using FloatArray = py::array_t<float, py::array::c_style>;
using ByteArray = py::array_t<std::uint8_t, py::array::c_style>;

/// Compressors are stateless and immutable: one per spec, built once.
const Compressor& compressor_for(const std::string& spec) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<Compressor>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[spec];
  if (!slot) slot = make_compressor(spec);
  return *slot;
}

const Aggregator& aggregator_for(const std::string& rule) {
  static const MeanAggregator mean;
  static const MajorityVoteAggregator majority;
  if (rule == "mean") return mean;
  if (rule == "majority") return majority;
  throw ConfigError("aggregation", rule, "must be mean or majority");
}

/// A read-only float view of a 1-D C-contiguous float32 array; `what` names it in errors.
std::span<const float> floats(const py::array& array, const char* what) {
  if (!py::isinstance<py::array_t<float>>(array) || array.ndim() != 1 ||
      !(array.flags() & py::array::c_style)) {
    throw py::type_error(std::string(what) + " must be a contiguous 1-D float32 array, got " +
                         py::str(array.dtype()).cast<std::string>() + " with " +
                         std::to_string(array.ndim()) + " dimension(s)");
  }
  return {static_cast<const float*>(array.data()), static_cast<std::size_t>(array.size())};
}

std::span<float> mutable_floats(py::array& array, const char* what) {
  const std::span<const float> view = floats(array, what);
  if (!array.writeable()) throw py::value_error(std::string(what) + " must be writable");
  return {static_cast<float*>(array.mutable_data()), view.size()};
}

StreamAddress address_of(std::uint64_t seed, std::uint32_t run, std::uint32_t agent,
                         std::uint32_t step) {
  if (agent >= kServerAgent) throw ConfigError("agent", std::to_string(agent), "must be < 2^24 − 1");
  return StreamAddress{seed, run, agent, step, StreamPurpose::kGradientNoise};
}

ByteArray to_array(const WireMessage& message) {
  ByteArray out(static_cast<py::ssize_t>(message.bytes.size()));
  std::memcpy(out.mutable_data(), message.bytes.data(), message.bytes.size());
  return out;
}

ByteArray encode(const std::string& spec, const py::array& v, std::uint64_t seed,
                 std::uint32_t run, std::uint32_t agent, std::uint32_t step) {
  const Compressor& compressor = compressor_for(spec);
  const std::span<const float> values = floats(v, "gradient");
  WireMessage message;
  {
    const py::gil_scoped_release release;
    compressor.encode(values, address_of(seed, run, agent, step), message);
  }
  return to_array(message);
}

/// rand-k's kept coordinates at an address (uint32, increasing): the tensor codec encodes and
/// decodes rand-k on the device with them.
py::array_t<std::uint32_t> randk_indices(const std::string& spec, std::size_t d,
                                         std::uint64_t seed, std::uint32_t run,
                                         std::uint32_t agent, std::uint32_t step) {
  const auto* randk = dynamic_cast<const RandKCompressor*>(&compressor_for(spec));
  if (randk == nullptr) throw py::value_error("compressor '" + spec + "' is not randk:F");
  if (d == 0) throw py::value_error("d must be >= 1");
  std::vector<std::uint32_t> indices;
  {
    const py::gil_scoped_release release;
    indices = randk->indices(d, address_of(seed, run, agent, step));
  }
  py::array_t<std::uint32_t> out(static_cast<py::ssize_t>(indices.size()));
  std::memcpy(out.mutable_data(), indices.data(), indices.size() * sizeof(std::uint32_t));
  return out;
}

ByteArray error_feedback_encode(const std::string& spec, const py::array& v, py::array& error,
                                std::uint64_t seed, std::uint32_t run, std::uint32_t agent,
                                std::uint32_t step) {
  const Compressor& compressor = compressor_for(spec);
  const std::span<const float> values = floats(v, "gradient");
  const std::span<float> memory = mutable_floats(error, "error memory");
  if (memory.size() != values.size()) {
    throw py::value_error("error memory has " + std::to_string(memory.size()) +
                          " entries, the gradient " + std::to_string(values.size()));
  }
  WireMessage message;
  {
    const py::gil_scoped_release release;
    const StreamAddress address = address_of(seed, run, agent, step);
    std::vector<float> sent(values.begin(), values.end());
    add_error_memory(sent, memory);
    compressor.encode(sent, address, message);
    std::vector<float> decoded(sent.size());
    compressor.decode(message, address, decoded);
    update_error_memory(sent, decoded, memory);
  }
  return to_array(message);
}

/// The bytes of a contiguous 1-D uint8 array (TypeError otherwise, naming `what`).
const std::uint8_t* bytes_of(const py::array& a, const std::string& what) {
  if (!py::isinstance<py::array_t<std::uint8_t>>(a) || a.ndim() != 1 ||
      !(a.flags() & py::array::c_style)) {
    throw py::type_error(what + " must be a contiguous 1-D uint8 array");
  }
  return static_cast<const std::uint8_t*>(a.data());
}

void aggregate(const std::string& rule, const std::string& spec, const std::vector<py::array>& messages,
               std::uint64_t seed, std::uint32_t run, std::uint32_t step, py::array& out) {
  const Compressor& compressor = compressor_for(spec);
  const Aggregator& aggregator = aggregator_for(rule);
  const std::span<float> direction = mutable_floats(out, "out");
  if (messages.empty()) throw py::value_error("aggregate needs at least one message");
  std::vector<WireMessage> wire(messages.size());
  const std::size_t expected = compressor.wire_bits(direction.size()) / 8;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const py::array& m = messages[i];
    const std::uint8_t* bytes = bytes_of(m, "message " + std::to_string(i));
    if (static_cast<std::size_t>(m.size()) != expected) {
      throw py::value_error("message " + std::to_string(i) + " has " + std::to_string(m.size()) +
                            " bytes; " + compressor.name() + " for d = " +
                            std::to_string(direction.size()) + " sends " +
                            std::to_string(expected));
    }
    wire[i].bytes.assign(bytes, bytes + m.size());
  }
  const py::gil_scoped_release release;
  aggregator.aggregate(wire, compressor, address_of(seed, run, 0, step), direction);
}

void vote_shard(const std::vector<py::array>& payloads, std::size_t offset, std::uint64_t seed,
                std::uint32_t run, std::uint32_t step, py::array& out) {
  const std::span<float> shard = mutable_floats(out, "out");
  if (payloads.empty()) {
    throw py::value_error("payloads is empty: a vote needs at least one agent");
  }
  const std::size_t bytes = (shard.size() + 7) / 8;
  std::vector<const std::uint8_t*> pointers;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    const py::array& p = payloads[i];
    pointers.push_back(bytes_of(p, "payload " + std::to_string(i)));
    if (static_cast<std::size_t>(p.size()) != bytes) {
      throw py::value_error("payload " + std::to_string(i) + " has " + std::to_string(p.size()) +
                            " bytes, must have " + std::to_string(bytes));
    }
  }
  if (offset % 8 != 0) {
    throw py::value_error("offset " + std::to_string(offset) + " must be a multiple of 8");
  }
  const py::gil_scoped_release release;
  majority_vote_shard(pointers, offset, address_of(seed, run, 0, step), shard);
}

ByteArray pack_plus_minus(const py::array& v) {
  const std::span<const float> values = floats(v, "values");
  ByteArray out(static_cast<py::ssize_t>((values.size() + 7) / 8));
  RandomStream unused(StreamAddress{});  // ±1 values: no zero ever takes a coin
  pack_signs(values, out.mutable_data(), unused);
  return out;
}

void unpack_plus_minus(const py::array& bits, py::array& out) {
  const std::span<float> values = mutable_floats(out, "out");
  const std::uint8_t* data = bytes_of(bits, "bits");
  if (static_cast<std::size_t>(bits.size()) < (values.size() + 7) / 8) {
    throw py::value_error("bits must hold at least ceil(len(out)/8) bytes");
  }
  std::fill(values.begin(), values.end(), 0.0f);
  unpack_signs_accumulate(data, 1.0f, values);
}

/// A vector length or agent count the size formulas can take: at least 1 and at most 2^48, far
/// beyond memory, so that bits (32 per coordinate) cannot overflow 64 bits.
std::size_t checked_count(std::size_t value, const char* name) {
  constexpr std::size_t kLargest = std::size_t{1} << 48;
  if (value < 1 || value > kLargest) {
    throw py::value_error("invalid " + std::string(name) + " " + std::to_string(value) +
                          ": must be in [1, 2^48]");
  }
  return value;
}

/// The method registry (optim/method.hpp) as dicts: the hooks take their methods from it.
py::list method_table() {
  py::list out;
  for (const MethodInfo* info : registered_methods()) {
    py::dict row;
    row["name"] = info->name;
    row["summary"] = info->summary;
    row["default_compressor"] = info->default_compressor;
    row["compressors"] = to_string(info->compressors);
    row["filter"] = to_string(info->filter);
    row["aggregation"] = to_string(info->aggregation);
    row["step"] = to_string(info->step);
    row["model"] = to_string(info->model);
    out.append(row);
  }
  return out;
}

/// The compressor registry (compress/compressor.hpp) as dicts.
py::list compressor_table() {
  py::list out;
  for (const CompressorInfo* info : registered_compressors()) {
    py::dict row;
    row["name"] = info->name;
    row["form"] = info->form;
    row["help"] = info->help;
    row["examples"] = info->examples;
    out.append(row);
  }
  return out;
}

}  // namespace

void bind_kernels(py::module_& m) {
  m.def("methods", &method_table,
        "The registered methods: name, summary, default_compressor, compressors (identity | sign | "
        "any-but-sign | any), filter (none | momentum | error-feedback), aggregation (mean | "
        "majority), step (fixed | normalized), model (none | gradient | sign).");
  m.def("compressors", &compressor_table,
        "The registered compressors: name, form, help, examples.");
  m.def("majority_vote_shard", &vote_shard, py::arg("payloads"), py::arg("offset"),
        py::arg("seed"), py::arg("run"), py::arg("step"), py::arg("out"),
        "Majority vote on coordinates offset … offset+len(out) from the agents' 1-bit payloads "
        "of those coordinates; equal there to aggregate('majority', 'sign', …) of the whole.");
  m.def("pack_signs", &pack_plus_minus, py::arg("values"),
        "±1 float32 values as bits (bit set ⇔ +1), the sign wire format's payload.");
  m.def("unpack_signs", &unpack_plus_minus, py::arg("bits"), py::arg("out"),
        "Writes ±1 into out from the bits (inverse of pack_signs).");
  m.def("wire_bytes",
        [](const std::string& spec, std::size_t d) {
          return compressor_for(spec).wire_bits(checked_count(d, "d")) / 8;
        },
        py::arg("compressor"), py::arg("d"),
        "Exact bytes of one message of `compressor` for d coordinates (8-byte header included).");
  m.def("downlink_bytes",
        [](const std::string& rule, const std::string& spec, std::size_t d, std::size_t agents) {
          return aggregator_for(rule).downlink_bits(checked_count(d, "d"),
                                                    checked_count(agents, "agents"),
                                                    compressor_for(spec)) /
                 8;
        },
        py::arg("aggregation"), py::arg("compressor"), py::arg("d"), py::arg("agents"),
        "Bytes a parameter server would broadcast back per step (1 bit per coordinate for a "
        "majority vote).");
  m.def("compressor_name", [](const std::string& spec) { return compressor_for(spec).name(); },
        py::arg("compressor"), "The canonical spec; raises ValueError for an unknown compressor.");
  m.def("omega",
        [](const std::string& spec, std::size_t d) {
          return compressor_for(spec).omega(checked_count(d, "d"));
        },
        py::arg("compressor"), py::arg("d"), "Declared variance bound ω (NaN when biased).");
  m.def("encode", &encode, py::arg("compressor"), py::arg("v"), py::arg("seed"), py::arg("run"),
        py::arg("agent"), py::arg("step"),
        "The wire message of v (float32, 1-D) at stream address (seed, run, agent, step).");
  m.def("randk_indices", &randk_indices, py::arg("compressor"), py::arg("d"), py::arg("seed"),
        py::arg("run"), py::arg("agent"), py::arg("step"),
        "rand-k's kept coordinates of a d-vector at (seed, run, agent, step), increasing.");
  m.def("error_feedback_encode", &error_feedback_encode, py::arg("compressor"), py::arg("v"),
        py::arg("error"), py::arg("seed"), py::arg("run"), py::arg("agent"), py::arg("step"),
        "EF: encodes p = v + error and sets error = p − C(p) in place (EF-SignSGD).");
  m.def("aggregate", &aggregate, py::arg("aggregation"), py::arg("compressor"),
        py::arg("messages"), py::arg("seed"), py::arg("run"), py::arg("step"), py::arg("out"),
        "Writes the aggregation (mean or majority) of the agents' messages, agent i = messages[i], "
        "into out (float32, 1-D).");
}

}  // namespace dsignsgd::python
