// Loaders on small files the test writes: valid ones, and corrupt ones that must be refused with
// a message naming the file and the problem.
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/data/dataset.hpp"
#include "test_support.hpp"

namespace dsignsgd {
namespace {

namespace fs = std::filesystem;

fs::path temp_file(const std::string& name) {
  return testing::scratch_path(
      "data_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
      name);
}

void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  gzFile file = gzopen(path.string().c_str(), "wb");
  gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

/// 3 images of 2×2 pixels and their labels.
std::pair<std::vector<std::uint8_t>, std::vector<std::uint8_t>> tiny_idx() {
  std::vector<std::uint8_t> images, labels;
  put_u32(images, 0x00000803);
  put_u32(images, 3);
  put_u32(images, 2);
  put_u32(images, 2);
  for (int i = 0; i < 12; ++i) images.push_back(static_cast<std::uint8_t>(i * 20));
  put_u32(labels, 0x00000801);
  put_u32(labels, 3);
  for (std::uint8_t y : {2, 0, 1}) labels.push_back(y);
  return {images, labels};
}

std::string refusal(const std::function<void()>& load) {
  try {
    load();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.option(), "data-dir");
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

TEST(IdxLoader, ReadsRawAndGzipFiles) {
  const auto [images, labels] = tiny_idx();
  for (bool gzip : {false, true}) {
    const fs::path i = temp_file(gzip ? "img.gz" : "img"), l = temp_file(gzip ? "lab.gz" : "lab");
    (gzip ? write_gzip : write_bytes)(i, images);
    (gzip ? write_gzip : write_bytes)(l, labels);
    const Dataset d = load_idx(i, l);
    EXPECT_EQ(d.samples, 3u);
    EXPECT_EQ(d.features, 4u);
    EXPECT_EQ(d.classes, 3u);
    EXPECT_EQ(d.labels, (std::vector<int>{2, 0, 1}));
    EXPECT_FLOAT_EQ(d.x[5], 100.0f / 255.0f);
    fs::remove(i);
    fs::remove(l);
  }
}

TEST(IdxLoader, RefusesTruncatedFilesWrongMagicAndMissingFiles) {
  auto [images, labels] = tiny_idx();
  const fs::path i = temp_file("img"), l = temp_file("lab");
  write_bytes(l, labels);
  std::vector<std::uint8_t> truncated(images.begin(), images.end() - 3);
  write_bytes(i, truncated);
  EXPECT_NE(refusal([&] { load_idx(i, l); }).find("truncated"), std::string::npos);
  images[3] = 0x01;  // label magic in an image file
  write_bytes(i, images);
  EXPECT_NE(refusal([&] { load_idx(i, l); }).find("magic 0x00000801"), std::string::npos);
  std::vector<std::uint8_t> gz_cut;
  write_gzip(i, tiny_idx().first);
  {
    std::ifstream in(i, std::ios::binary);
    gz_cut.assign(std::istreambuf_iterator<char>(in), {});
  }
  gz_cut.resize(gz_cut.size() / 2);
  write_bytes(i, gz_cut);
  EXPECT_NE(refusal([&] { load_idx(i, l); }).find("gzip"), std::string::npos);
  EXPECT_NE(refusal([&] { load_idx("/nonexistent/train-images", l, "dataset-fashion-mnist"); })
                .find("dataset-fashion-mnist"),
            std::string::npos);
  fs::remove(i);
  fs::remove(l);
}

TEST(CsvLoader, ReadsLabelsInTheLastColumnAndRefusesRaggedRows) {
  const fs::path path = temp_file("table.csv");
  std::ofstream(path) << "3,2,a,b\n1.5,2,0\n-1,0.25,1\n3,4,1\n";
  const Dataset d = load_csv(path, 1);
  EXPECT_EQ(d.samples, 3u);
  EXPECT_EQ(d.features, 2u);
  EXPECT_EQ(d.classes, 2u);
  EXPECT_EQ(d.labels, (std::vector<int>{0, 1, 1}));
  EXPECT_FLOAT_EQ(d.x[3], 0.25f);
  std::ofstream(path) << "1,2,0\n1,2,3,1\n";
  EXPECT_NE(refusal([&] { load_csv(path, 0); }).find("ragged"), std::string::npos);
  std::ofstream(path) << "1,x,0\n";
  EXPECT_NE(refusal([&] { load_csv(path, 0); }).find("line 1, field 2: 'x' is not a finite number"),
            std::string::npos);
  fs::remove(path);
}

TEST(CsvLoader, RefusesNonFiniteFeaturesAndLabelsOutsideTheDeclaredClasses) {
  const fs::path path = temp_file("table.csv");
  for (const char* feature : {"nan", "inf", "-inf", "1e400"}) {
    std::ofstream(path) << "1,2,0\n" << feature << ",2,1\n";
    EXPECT_NE(refusal([&] { load_csv(path, 0); }).find("line 2, field 1"), std::string::npos)
        << feature;
  }
  std::ofstream(path) << "1,2,0\n1,2,1.5\n";
  EXPECT_NE(refusal([&] { load_csv(path, 0); }).find("line 2: label 1.5"), std::string::npos);
  std::ofstream(path) << "1,2,0\n1,2,9\n3,4,10\n";
  EXPECT_EQ(load_csv(path, 0, "", 11).labels, (std::vector<int>{0, 9, 10}));  // kept as they are
  const std::string message = refusal([&] { load_csv(path, 0, "", 10); });
  EXPECT_NE(message.find("line 3: label 10 is outside the 10 declared classes"), std::string::npos)
      << message;
  fs::remove(path);
}

TEST(IdxLoader, RefusesOverflowingHeadersOutOfRangeLabelsAndGarbage) {
  auto [images, labels] = tiny_idx();
  const fs::path i = temp_file("img"), l = temp_file("lab");
  write_bytes(l, labels);
  // 65536 × 65536 × 65536 images: the product wraps a 64-bit size_t to 0 (was std::bad_alloc).
  std::vector<std::uint8_t> huge;
  put_u32(huge, 0x00000803);
  for (int k = 0; k < 3; ++k) put_u32(huge, 0x10000);
  write_bytes(i, huge);
  EXPECT_NE(refusal([&] { load_idx(i, l); }).find("multiply beyond 2^28"), std::string::npos);
  write_bytes(i, images);
  EXPECT_EQ(load_idx(i, l, "", 3).classes, 3u);
  const std::string message = refusal([&] { load_idx(i, l, "", 2); });
  EXPECT_NE(message.find("label 0 (offset 8): label 2 is outside the 2 declared classes"),
            std::string::npos)
      << message;
  // A .gz that is not gzip, gzip with garbage after the stream; bytes are escaped in messages.
  const fs::path gz = fs::path(temp_file("img")) += ".gz";
  write_bytes(gz, {0x00, 0x00, 0x08, 0x03, 0x1b, 0x5b, 0x32, 0x4a});
  EXPECT_NE(refusal([&] { load_idx(gz, l); }).find("is named .gz but is not a gzip file"),
            std::string::npos);
  write_gzip(gz, images);
  {
    std::ofstream(gz, std::ios::app | std::ios::binary) << "\x1b[2Jtrailing";
  }
  EXPECT_NE(refusal([&] { load_idx(gz, l); }).find("bytes after its gzip stream"), std::string::npos);
  const fs::path csv = temp_file("t.csv");
  std::ofstream(csv) << "1,\x1b[2J,0\n";
  const std::string escaped = refusal([&] { load_csv(csv, 0); });
  EXPECT_NE(escaped.find("'\\x1b[2J'"), std::string::npos) << escaped;
  EXPECT_EQ(escaped.find('\x1b'), std::string::npos) << "a raw escape byte reached the message";
  for (const fs::path& p : {i, l, gz, csv}) fs::remove(p);
}

TEST(TextLoader, CutsTrainingAndHeldOutWindowsOverASortedVocabulary) {
  const fs::path path = temp_file("text.txt");
  std::string text;
  for (int i = 0; i < 100; ++i) text += "abcab\n";  // 600 characters, vocabulary {\n, a, b, c}
  std::ofstream(path, std::ios::binary) << text;
  const TextCorpus corpus = load_text_windows(path, 4, 3, 7);
  EXPECT_EQ(corpus.vocabulary, std::string("\nabc"));
  EXPECT_EQ(corpus.characters, 600u);
  // Entropy of {\n: 1/6, a: 2/6, b: 2/6, c: 1/6}.
  const double expected = -(2 * (1.0 / 6) * std::log2(1.0 / 6) + 2 * (2.0 / 6) * std::log2(2.0 / 6));
  EXPECT_NEAR(corpus.unigram_entropy_bits, expected, 1e-12);
  // Training windows of 5 tokens start every 3 characters inside the first 540 characters.
  EXPECT_EQ(corpus.train.features, 5u);
  EXPECT_EQ(corpus.train.classes, 4u);
  EXPECT_EQ(corpus.train.samples, (540u - 5u) / 3u + 1u);
  const std::string tokens = "\nabc";
  for (std::size_t w = 0; w < corpus.train.samples; w += 17) {
    for (std::size_t k = 0; k < 5; ++k) {
      EXPECT_EQ(tokens[static_cast<std::size_t>(corpus.train.row(w)[k])], text[3 * w + k]);
    }
  }
  // Held-out: 60 characters = 12 disjoint windows, thinned evenly to 7, all after the cut.
  EXPECT_EQ(corpus.test.samples, 7u);
  EXPECT_EQ(tokens[static_cast<std::size_t>(corpus.test.row(0)[0])], text[540]);
  // Too short, or missing (naming the provider).
  std::ofstream(path, std::ios::binary) << "abc";
  EXPECT_NE(refusal([&] { load_text_windows(path, 4, 3, 7); }).find("at least"), std::string::npos);
  fs::remove(path);
  EXPECT_NE(refusal([&] { load_text_windows(path, 4, 3, 7, "bible-kjv"); }).find("bible-kjv"),
            std::string::npos);
}

TEST(LibsvmLoader, ReadsSparseRowsWithOneBasedIndices) {
  const fs::path path = temp_file("data.svm");
  std::ofstream(path) << "+1 1:0.5 3:2\n-1 2:1\n+1\n";
  const Dataset d = load_libsvm(path);
  EXPECT_EQ(d.samples, 3u);
  EXPECT_EQ(d.features, 3u);
  EXPECT_EQ(d.labels, (std::vector<int>{1, 0, 1}));
  EXPECT_FLOAT_EQ(d.x[2], 2.0f);
  EXPECT_FLOAT_EQ(d.x[4], 1.0f);
  std::ofstream(path) << "1 0:3\n";
  EXPECT_NE(refusal([&] { load_libsvm(path); }).find("1-based"), std::string::npos);
  std::ofstream(path) << "1 1:nan\n";
  EXPECT_NE(refusal([&] { load_libsvm(path); }).find("not finite"), std::string::npos);
  std::ofstream(path) << "1 1:1\n0 99999999999:1\n";
  EXPECT_NE(refusal([&] { load_libsvm(path); }).find("line 2: feature index 99999999999"),
            std::string::npos);
  // fuzz_libsvm found 3 rows × 555555551 features (6.6 GB once dense); an index beyond 2^28 is
  // refused above, and 3 rows × 10^8 features (1.2 GB) here.
  std::ofstream(path) << "+1 100000000:0\n-1 2:1\n+1\n";
  EXPECT_NE(refusal([&] { load_libsvm(path); }).find("more than 2^28 values"), std::string::npos);
  std::ofstream(path) << "0.5 1:1\n";
  EXPECT_NE(refusal([&] { load_libsvm(path); }).find("not a whole number"), std::string::npos);
  fs::remove(path);
}

}  // namespace
}  // namespace dsignsgd
