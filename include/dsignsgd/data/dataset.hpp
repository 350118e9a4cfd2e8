#pragma once
/// @file
/// Labelled data sets in memory and their loaders: IDX (MNIST, Fashion-MNIST; raw or gzip), CSV
/// (scikit-learn's tables) and LIBSVM. Every loader checks what it reads and throws ConfigError
/// (option "data-dir") naming the file, the line or offset, and the problem: a missing file (with
/// the package that provides it when known), a wrong magic number, header dimensions that
/// overflow, a truncated or damaged gzip stream (or a .gz that is not gzip), a ragged row, a
/// feature that is not a finite number, a label that is not a whole number or lies outside the
/// declared classes. No loader builds more than 2^28 values (1 GiB of floats).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dsignsgd {

/// n samples of p features, row-major, with integer class labels in [0, classes).
struct Dataset {
  std::string name;
  std::size_t samples = 0;
  std::size_t features = 0;
  std::size_t classes = 0;
  std::vector<float> x;      ///< samples × features, row-major
  std::vector<int> labels;   ///< samples

  const float* row(std::size_t i) const { return x.data() + i * features; }
};

/// Reads a whole file, transparently gunzipping it when it starts with the gzip magic.
std::vector<std::uint8_t> read_maybe_gzip(const std::filesystem::path& path,
                                          const std::string& provider = "");

/// IDX images (magic 0x00000803, unsigned bytes) and labels (0x00000801) into a Dataset with
/// pixel values scaled to [0, 1]. `classes` > 0: labels must lie in [0, classes); 0: the largest
/// label + 1.
Dataset load_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                 const std::string& provider = "", std::size_t classes = 0);

/// CSV of numbers with the label in the last column. `skip_lines` header lines are ignored
/// (scikit-learn's tables have one). `classes` > 0: labels must be whole numbers in
/// [0, classes), kept as they are; 0: the distinct labels, sorted, become 0..classes−1.
Dataset load_csv(const std::filesystem::path& path, std::size_t skip_lines,
                 const std::string& provider = "", std::size_t classes = 0);

/// LIBSVM "label index:value …" with 1-based indices; labels are mapped to 0..classes−1 in order
/// of first appearance after sorting.
Dataset load_libsvm(const std::filesystem::path& path, std::size_t features = 0);

/// A character-level corpus cut into windows of context + 1 token ids, stored as floats in
/// Dataset::x (features = context + 1, classes = vocabulary size, labels unused): a model reads
/// tokens 0..context−1 and predicts tokens 1..context.
struct TextCorpus {
  Dataset train;             ///< windows starting every `stride` characters of the first 90 %
  Dataset test;              ///< non-overlapping windows of the last 10 %, evenly thinned
  std::string vocabulary;    ///< token id → byte, sorted
  double unigram_entropy_bits = 0.0;  ///< entropy of the character distribution (whole text)
  std::size_t characters = 0;
};

/// Reads a text file (raw or gzip) into windows. Throws ConfigError (option "data") when the file
/// is missing (naming `provider`), empty, or shorter than a few windows.
TextCorpus load_text_windows(const std::filesystem::path& path, std::size_t context,
                             std::size_t stride, std::size_t max_test_windows,
                             const std::string& provider = "");

/// Standardizes every feature to mean 0, variance 1 with statistics of `fit` (applied to both).
void standardize(Dataset& fit, Dataset& other);

}  // namespace dsignsgd
