// The data loaders on arbitrary files: IDX (images + labels), CSV, LIBSVM, text windows and the
// gzip reader under them. Built once per loader (FUZZ_LOADER = 0 idx, 1 csv, 2 libsvm, 3 text,
// 4 gzip); the first byte sets the loader's options (a .gz name, declared classes, header lines).
// Only ConfigError may refuse a file; what loads must be consistent.
#include <cmath>
#include <cstdlib>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/data/dataset.hpp"
#include "fuzz_support.hpp"

using namespace dsignsgd;

namespace {

void check_dataset(const Dataset& d, std::size_t classes) {
  if (d.x.size() != d.samples * d.features || d.labels.size() != d.samples) std::abort();
  for (int label : d.labels) {
    if (label < 0 || static_cast<std::size_t>(label) >= d.classes) std::abort();
  }
  if (classes > 0 && d.classes != classes) std::abort();
  for (float v : d.x) {
    if (!std::isfinite(v)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t selector = data[0];
  const bool gzip_name = (selector & 0x80) != 0;  // the name ends in .gz (content decides)
  const std::string ext = gzip_name ? ".gz" : "";
  const std::size_t classes = (selector >> 4) & 1 ? 10 : 0;
  try {
    switch (FUZZ_LOADER) {
      case 0: {  // IDX: data[1] places the split between the two files
        const std::size_t split = 1 + (size - 1) * data[1] / 256;
        const auto images = fuzz::write_input("images" + ext, data + 2, split > 1 ? split - 1 : 0);
        const auto labels = fuzz::write_input("labels" + ext, data + 1 + split, size - 1 - split);
        check_dataset(load_idx(images, labels, "", classes), classes);
        break;
      }
      case 1: {
        const auto path = fuzz::write_input("table.csv" + ext, data + 1, size - 1);
        check_dataset(load_csv(path, selector & 2 ? 1 : 0, "", classes), classes);
        break;
      }
      case 2: {
        const auto path = fuzz::write_input("rows.svm" + ext, data + 1, size - 1);
        check_dataset(load_libsvm(path, selector & 8 ? 16 : 0), 0);
        break;
      }
      case 3: {
        const auto path = fuzz::write_input("corpus.txt" + ext, data + 1, size - 1);
        const TextCorpus corpus = load_text_windows(path, 1 + selector % 7, 1 + selector % 3, 5);
        if (corpus.train.samples == 0 || corpus.vocabulary.empty()) std::abort();
        break;
      }
      default: {
        const auto path = fuzz::write_input("stream.gz", data + 1, size - 1);
        read_maybe_gzip(path);
        break;
      }
    }
  } catch (const ConfigError&) {
    // refused, naming the file
  }
  return 0;
}
