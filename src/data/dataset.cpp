#include "dsignsgd/data/dataset.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "dsignsgd/core/atomic_file.hpp"
#include "dsignsgd/core/config_error.hpp"

namespace dsignsgd {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw ConfigError("data-dir", path.string(), what);
}

/// A field of the file for a message: at most 40 bytes (ConfigError escapes what is unprintable).
std::string excerpt(const std::string& field) {
  return "'" + (field.size() <= 40 ? field : field.substr(0, 40) + "…") + "'";
}

/// Refuses a label that is not one of the declared classes (0: any whole number).
long checked_label(double value, std::size_t classes, const std::filesystem::path& path,
                   const std::string& where) {
  if (!std::isfinite(value) || value != std::round(value) || std::fabs(value) > 1e9) {
    fail(path, where + ": label " + std::to_string(value) + " is not a whole number");
  }
  const auto label = static_cast<long>(value);
  if (classes > 0 && (label < 0 || static_cast<std::size_t>(label) >= classes)) {
    fail(path, where + ": label " + std::to_string(label) + " is outside the " +
                   std::to_string(classes) + " declared classes [0, " + std::to_string(classes) +
                   ")");
  }
  return label;
}

/// The largest data set the loaders build: 2^28 floats (1 GiB; MNIST is 47·10^6 values). A
/// LIBSVM file of 3 short rows with feature index 555555551 asked for 6.6 GB (fuzz_libsvm).
constexpr std::size_t kMaxValues = std::size_t{1} << 28;

std::uint32_t big_endian_u32(const std::vector<std::uint8_t>& bytes, std::size_t at) {
  return (std::uint32_t{bytes[at]} << 24) | (std::uint32_t{bytes[at + 1]} << 16) |
         (std::uint32_t{bytes[at + 2]} << 8) | std::uint32_t{bytes[at + 3]};
}

/// Parses an IDX file: returns the dimensions and the offset of the data.
std::vector<std::size_t> idx_header(const std::vector<std::uint8_t>& bytes, std::uint32_t magic,
                                    const std::filesystem::path& path, std::size_t& offset) {
  if (bytes.size() < 4) fail(path, "is truncated: no IDX header");
  const std::uint32_t found = big_endian_u32(bytes, 0);
  if (found != magic) {
    char text[96];
    std::snprintf(text, sizeof(text), "has IDX magic 0x%08X, expected 0x%08X", found, magic);
    fail(path, text);
  }
  const std::size_t rank = magic & 0xFF;
  if (bytes.size() < 4 + 4 * rank) fail(path, "is truncated inside its IDX header");
  std::vector<std::size_t> dims(rank);
  std::size_t total = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    dims[i] = big_endian_u32(bytes, 4 + 4 * i);
    if (__builtin_mul_overflow(total, dims[i], &total) || total > kMaxValues) {
      fail(path, "has an IDX header whose dimensions multiply beyond 2^28 values");
    }
  }
  offset = 4 + 4 * rank;
  if (bytes.size() - offset != total) {
    fail(path, "is truncated or too long: " + std::to_string(bytes.size() - offset) +
                   " data bytes, the header announces " + std::to_string(total));
  }
  if (total == 0) fail(path, "holds no samples");
  return dims;
}

}  // namespace

std::vector<std::uint8_t> read_maybe_gzip(const std::filesystem::path& path,
                                          const std::string& provider) {
  const std::string missing =
      provider.empty() ? "cannot be read" : "cannot be read (it comes with " + provider + ")";
  std::error_code error;
  if (!std::filesystem::exists(path, error)) fail(path, missing);
  // The largest data set shipped is tens of MB; 2 GiB stops a file that never ends.
  require_regular_file("data-dir", path, std::uintmax_t{2} << 30,
                       "no data set of scripts/install_data.sh is");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, missing);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (bytes.size() < 2 || bytes[0] != 0x1F || bytes[1] != 0x8B) {
    if (path.extension() == ".gz") fail(path, "is named .gz but is not a gzip file");
    return bytes;
  }
  // gzip: inflate with zlib (windowBits 15 + 32 = detect the gzip header).
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 32) != Z_OK) fail(path, "zlib cannot start");
  stream.next_in = bytes.data();
  stream.avail_in = static_cast<uInt>(bytes.size());
  std::vector<std::uint8_t> out;
  std::uint8_t chunk[1 << 16];
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    stream.next_out = chunk;
    stream.avail_out = sizeof(chunk);
    status = inflate(&stream, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) {
      inflateEnd(&stream);
      fail(path, "is a damaged or truncated gzip file");
    }
    out.insert(out.end(), chunk, chunk + (sizeof(chunk) - stream.avail_out));
    if (out.size() > 4 * kMaxValues) {
      inflateEnd(&stream);
      fail(path, "inflates beyond 1 GiB");
    }
    if (status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) {
      inflateEnd(&stream);
      fail(path, "is a truncated gzip file");
    }
  }
  const uInt trailing = stream.avail_in;
  inflateEnd(&stream);
  if (trailing != 0) {
    fail(path, "has " + std::to_string(trailing) + " bytes after its gzip stream");
  }
  return out;
}

Dataset load_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                 const std::string& provider, std::size_t classes) {
  const std::vector<std::uint8_t> image_bytes = read_maybe_gzip(images, provider);
  const std::vector<std::uint8_t> label_bytes = read_maybe_gzip(labels, provider);
  std::size_t image_offset = 0;
  std::size_t label_offset = 0;
  const auto image_dims = idx_header(image_bytes, 0x00000803, images, image_offset);
  const auto label_dims = idx_header(label_bytes, 0x00000801, labels, label_offset);
  if (image_dims[0] != label_dims[0]) {
    fail(labels, "holds " + std::to_string(label_dims[0]) + " labels for " +
                     std::to_string(image_dims[0]) + " images");
  }
  if (label_dims.size() != 1 || image_dims.size() != 3) {
    fail(images, "must hold images of rank 3 and labels of rank 1");
  }
  Dataset data;
  data.name = images.filename().string();
  data.samples = image_dims[0];
  data.features = image_dims[1] * image_dims[2];
  data.x.resize(data.samples * data.features);
  for (std::size_t i = 0; i < data.x.size(); ++i) {
    data.x[i] = static_cast<float>(image_bytes[image_offset + i]) / 255.0f;
  }
  data.labels.resize(data.samples);
  int max_label = 0;
  for (std::size_t i = 0; i < data.samples; ++i) {
    data.labels[i] = static_cast<int>(checked_label(label_bytes[label_offset + i], classes, labels,
                                                    "label " + std::to_string(i) + " (offset " +
                                                        std::to_string(label_offset + i) + ")"));
    max_label = std::max(max_label, data.labels[i]);
  }
  data.classes = classes > 0 ? classes : static_cast<std::size_t>(max_label) + 1;
  return data;
}

Dataset load_csv(const std::filesystem::path& path, std::size_t skip_lines,
                 const std::string& provider, std::size_t classes) {
  const std::vector<std::uint8_t> bytes = read_maybe_gzip(path, provider);
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  Dataset data;
  data.name = path.filename().string();
  std::string line;
  std::size_t line_number = 0;
  std::map<long, int> label_ids;
  std::vector<long> raw_labels;
  while (std::getline(in, line)) {
    ++line_number;
    if (line_number <= skip_lines || line.empty() || line == "\r") continue;
    std::vector<float> fields;
    std::size_t start = 0;
    while (start <= line.size()) {
      std::size_t comma = line.find(',', start);
      if (comma == std::string::npos) comma = line.size();
      std::string field = line.substr(start, comma - start);
      while (!field.empty() && (field.back() == '\r' || field.back() == ' ')) field.pop_back();
      float value = 0.0f;
      const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
      if (field.empty() || ec != std::errc() || ptr != field.data() + field.size() ||
          !std::isfinite(value)) {
        fail(path, "line " + std::to_string(line_number) + ", field " +
                       std::to_string(fields.size() + 1) + ": " + excerpt(field) +
                       " is not a finite number");
      }
      fields.push_back(value);
      start = comma + 1;
    }
    if (fields.size() < 2) fail(path, "line " + std::to_string(line_number) + " has no features");
    if (data.features == 0) data.features = fields.size() - 1;
    if (fields.size() != data.features + 1) {
      fail(path, "line " + std::to_string(line_number) + " has " + std::to_string(fields.size()) +
                     " fields, earlier lines " + std::to_string(data.features + 1) +
                     " (ragged CSV)");
    }
    if (data.x.size() + data.features > kMaxValues) fail(path, "holds more than 2^28 values");
    data.x.insert(data.x.end(), fields.begin(), fields.end() - 1);
    const long label =
        checked_label(fields.back(), classes, path, "line " + std::to_string(line_number));
    raw_labels.push_back(label);
    label_ids.emplace(label, 0);
  }
  if (raw_labels.empty()) fail(path, "holds no rows");
  int next = 0;
  for (auto& [label, id] : label_ids) id = next++;
  for (long label : raw_labels) {
    data.labels.push_back(classes > 0 ? static_cast<int>(label) : label_ids[label]);
  }
  data.samples = raw_labels.size();
  data.classes = classes > 0 ? classes : label_ids.size();
  return data;
}

Dataset load_libsvm(const std::filesystem::path& path, std::size_t features) {
  const std::vector<std::uint8_t> bytes = read_maybe_gzip(path);
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  struct Row {
    long label;
    std::vector<std::pair<std::size_t, float>> entries;
  };
  std::vector<Row> rows;
  std::string line;
  std::size_t line_number = 0;
  std::size_t max_index = 0;
  while (std::getline(in, line)) {
    ++line_number;
    std::istringstream tokens(line);
    std::string token;
    if (!(tokens >> token)) continue;
    Row row;
    double label = 0.0;
    const std::size_t sign = !token.empty() && token[0] == '+' ? 1 : 0;  // "+1" labels
    const auto [p, e] = std::from_chars(token.data() + sign, token.data() + token.size(), label);
    if (e != std::errc() || p != token.data() + token.size()) {
      fail(path, "line " + std::to_string(line_number) + ": " + excerpt(token) + " is not a label");
    }
    row.label = checked_label(label, 0, path, "line " + std::to_string(line_number));
    while (tokens >> token) {
      const auto colon = token.find(':');
      std::size_t index = 0;
      float value = 0.0f;
      const bool ok =
          colon != std::string::npos &&
          std::from_chars(token.data(), token.data() + colon, index).ec == std::errc() &&
          std::from_chars(token.data() + colon + 1, token.data() + token.size(), value).ec ==
              std::errc() &&
          index >= 1;
      if (!ok) {
        fail(path, "line " + std::to_string(line_number) + ": " + excerpt(token) +
                       " is not index:value with a 1-based index");
      }
      if (!std::isfinite(value)) {
        fail(path, "line " + std::to_string(line_number) + ": " + excerpt(token) +
                       " has a value that is not finite");
      }
      if (index > kMaxValues) {
        fail(path, "line " + std::to_string(line_number) + ": feature index " +
                       std::to_string(index) + " is beyond 2^28");
      }
      max_index = std::max(max_index, index);
      row.entries.emplace_back(index - 1, value);
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) fail(path, "holds no rows");
  Dataset data;
  data.name = path.filename().string();
  data.features = features > 0 ? features : max_index;
  if (max_index > data.features) fail(path, "has feature indices beyond the given dimension");
  data.samples = rows.size();
  std::size_t values = 0;
  if (__builtin_mul_overflow(data.samples, data.features, &values) || values > kMaxValues) {
    fail(path, "holds " + std::to_string(data.samples) + " rows × " +
                   std::to_string(data.features) + " features, more than 2^28 values");
  }
  data.x.assign(values, 0.0f);
  std::map<long, int> label_ids;
  for (const Row& row : rows) label_ids.emplace(row.label, 0);
  int next = 0;
  for (auto& [label, id] : label_ids) id = next++;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (const auto& [index, value] : rows[i].entries) data.x[i * data.features + index] = value;
    data.labels.push_back(label_ids[rows[i].label]);
  }
  data.classes = label_ids.size();
  return data;
}

TextCorpus load_text_windows(const std::filesystem::path& path, std::size_t context,
                             std::size_t stride, std::size_t max_test_windows,
                             const std::string& provider) {
  const std::vector<std::uint8_t> text = read_maybe_gzip(path, provider);
  const std::size_t window = context + 1;
  if (context == 0 || stride == 0 || max_test_windows == 0) {
    fail(path, "needs a positive context, stride and number of test windows");
  }
  if (text.size() < 40 * window) {
    fail(path, "holds " + std::to_string(text.size()) + " characters; at least " +
                   std::to_string(40 * window) + " are needed for windows of " +
                   std::to_string(window));
  }
  TextCorpus corpus;
  corpus.characters = text.size();
  std::array<std::size_t, 256> count{};
  for (std::uint8_t c : text) ++count[c];
  std::array<int, 256> token{};
  for (int c = 0; c < 256; ++c) {
    if (count[static_cast<std::size_t>(c)] == 0) continue;
    token[static_cast<std::size_t>(c)] = static_cast<int>(corpus.vocabulary.size());
    corpus.vocabulary.push_back(static_cast<char>(c));
    const double p = static_cast<double>(count[static_cast<std::size_t>(c)]) /
                     static_cast<double>(text.size());
    corpus.unigram_entropy_bits -= p * std::log2(p);
  }
  const auto fill = [&](Dataset& data, const std::vector<std::size_t>& starts) {
    data.name = path.filename().string();
    data.features = window;
    data.classes = corpus.vocabulary.size();
    data.samples = starts.size();
    data.x.reserve(starts.size() * window);
    for (std::size_t start : starts) {
      for (std::size_t k = 0; k < window; ++k) {
        data.x.push_back(static_cast<float>(token[text[start + k]]));
      }
    }
    data.labels.assign(starts.size(), 0);
  };
  const std::size_t cut = text.size() / 10 * 9;
  std::vector<std::size_t> starts;
  for (std::size_t s = 0; s + window <= cut; s += stride) starts.push_back(s);
  fill(corpus.train, starts);
  starts.clear();
  const std::size_t available = (text.size() - cut) / window;
  const std::size_t taken = std::min(available, max_test_windows);
  for (std::size_t i = 0; i < taken; ++i) starts.push_back(cut + (i * available / taken) * window);
  fill(corpus.test, starts);
  return corpus;
}

void standardize(Dataset& fit, Dataset& other) {
  for (std::size_t j = 0; j < fit.features; ++j) {
    double sum = 0.0, sum_sq = 0.0;
    for (std::size_t i = 0; i < fit.samples; ++i) {
      const double v = fit.x[i * fit.features + j];
      sum += v;
      sum_sq += v * v;
    }
    const double mean = sum / fit.samples;
    const double std = std::sqrt(std::max(1e-12, sum_sq / fit.samples - mean * mean));
    for (Dataset* d : {&fit, &other}) {
      for (std::size_t i = 0; i < d->samples; ++i) {
        float& v = d->x[i * d->features + j];
        v = static_cast<float>((v - mean) / std);
      }
    }
  }
}

}  // namespace dsignsgd
