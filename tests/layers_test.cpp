// The layer order of docs/ARCHITECTURE.md holds in the code: every `#include "dsignsgd/<area>/…"`
// in include/, src/ and apps/ points to the file's own area or to a lower layer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

/// Area → layer, read from the block between the layer-order markers of ARCHITECTURE.md: one
/// line per layer, lowest first, areas separated by spaces.
std::map<std::string, int> read_layers(const std::string& markdown) {
  std::map<std::string, int> layers;
  const auto begin = markdown.find("<!-- layer order begin -->");
  const auto end = markdown.find("<!-- layer order end -->");
  if (begin == std::string::npos || end == std::string::npos) return layers;
  std::istringstream block(markdown.substr(begin, end - begin));
  std::string line;
  int level = 0;
  std::getline(block, line);  // the marker
  while (std::getline(block, line)) {
    if (line.rfind("```", 0) == 0 || line.empty()) continue;
    std::istringstream words(line.substr(0, line.find("  ")));  // text after two spaces: comment
    std::string area;
    bool any = false;
    while (words >> area) {
      layers[area] = level;
      any = true;
    }
    if (any) ++level;
  }
  return layers;
}

/// The area of a file: include/dsignsgd/<area>/…, src/<area>/…, apps/… → "apps".
std::string area_of(const fs::path& relative) {
  const auto first = relative.begin();
  if (*first == "apps") return "apps";
  if (*first == "src") return std::next(first)->string();
  if (*first == "include") return std::next(first, 2)->string();
  return "";
}

struct Violation {
  std::string file;
  std::string include;
};

/// Includes that point to a higher or to a sibling area, and areas missing from the order.
std::vector<Violation> check(const std::map<std::string, int>& layers, const std::string& file,
                             const std::string& area, const std::string& text) {
  std::vector<Violation> out;
  static const std::regex pattern(R"re(#include "dsignsgd/([a-z_]+)/[^"]+")re");
  const auto own = layers.find(area);
  for (std::sregex_iterator it(text.begin(), text.end(), pattern), end; it != end; ++it) {
    const std::string target = (*it)[1];
    if (target == area) continue;
    const auto other = layers.find(target);
    if (own == layers.end() || other == layers.end() || other->second >= own->second) {
      out.push_back({file, it->str()});
    }
  }
  return out;
}

const std::map<std::string, int> kToy = {{"core", 0}, {"optim", 1}, {"sde", 2}, {"theory", 2}};

TEST(Layers, TheCheckerFindsUpwardSiblingAndUnknownIncludes) {
  EXPECT_TRUE(check(kToy, "f", "optim", "#include \"dsignsgd/core/spec.hpp\"\n").empty());
  EXPECT_TRUE(check(kToy, "f", "optim", "#include \"dsignsgd/optim/method.hpp\"\n").empty());
  EXPECT_EQ(check(kToy, "f", "optim", "#include \"dsignsgd/sde/simulate.hpp\"\n").size(), 1u);
  EXPECT_EQ(check(kToy, "f", "sde", "#include \"dsignsgd/theory/predict.hpp\"\n").size(), 1u);
  EXPECT_EQ(check(kToy, "f", "optim", "#include \"dsignsgd/gui/window.hpp\"\n").size(), 1u);
  EXPECT_EQ(check(kToy, "f", "gui", "#include \"dsignsgd/core/spec.hpp\"\n").size(), 1u);
  const auto layers = read_layers(
      "x\n<!-- layer order begin -->\n```\ncore\nrandom comm  (comment)\nsde\n```\n"
      "<!-- layer order end -->\n");
  EXPECT_EQ(layers, (std::map<std::string, int>{{"core", 0}, {"random", 1}, {"comm", 1},
                                                 {"sde", 2}}));
}

TEST(Layers, EveryIncludePointsDownTheOrderOfArchitectureMd) {
  const fs::path root = DSIGNSGD_SOURCE_DIR;
  std::ifstream doc(root / "docs" / "ARCHITECTURE.md");
  ASSERT_TRUE(doc) << "docs/ARCHITECTURE.md is missing";
  const std::string markdown((std::istreambuf_iterator<char>(doc)), {});
  const auto layers = read_layers(markdown);
  ASSERT_GE(layers.size(), 10u) << "no layer order block in docs/ARCHITECTURE.md";
  std::vector<Violation> violations;
  std::size_t files = 0;
  for (const char* top : {"include", "src", "apps"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".hpp" && ext != ".cpp")) continue;
      const fs::path relative = fs::relative(entry.path(), root);
      std::ifstream in(entry.path());
      const std::string text((std::istreambuf_iterator<char>(in)), {});
      const auto found = check(layers, relative.string(), area_of(relative), text);
      violations.insert(violations.end(), found.begin(), found.end());
      ++files;
    }
  }
  EXPECT_GT(files, 100u);
  for (const Violation& v : violations) {
    ADD_FAILURE() << v.file << ": " << v.include << " points up (or sideways) the layer order";
  }
}

}  // namespace
