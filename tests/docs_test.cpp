// What the documentation says the defaults are is what the code resolves: the flag table of
// docs/USAGE.md against the resolved configuration of a run with no flags (summary.json's
// `config`, keyed by flag name), the methods and compressors the docs list against the
// registries, and the SDE's documented defaults (drift, integrator, substeps, covariance) against
// SdeOptions and SdePlan.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "dsignsgd/compress/compressor.hpp"
#include "dsignsgd/core/join.hpp"
#include "dsignsgd/core/spec.hpp"
#include "dsignsgd/optim/method.hpp"
#include "dsignsgd/optim/run_plan.hpp"
#include "dsignsgd/sde/simulate.hpp"
#include "dsignsgd/sde/validate.hpp"
#include "dsignsgd/theory/predict.hpp"

namespace dsignsgd {
namespace {

std::string read_doc(const std::string& name) {
  std::ifstream in(std::filesystem::path(DSIGNSGD_SOURCE_DIR) / "docs" / name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> split(const std::string& text, const std::regex& separator) {
  std::vector<std::string> parts;
  for (std::sregex_token_iterator it(text.begin(), text.end(), separator, -1), end; it != end;
       ++it) {
    std::string part = *it;
    part.erase(std::remove(part.begin(), part.end(), '`'), part.end());
    const auto first = part.find_first_not_of(' ');
    const auto last = part.find_last_not_of(' ');
    parts.push_back(first == std::string::npos ? "" : part.substr(first, last - first + 1));
  }
  return parts;
}

/// A resolved value as the docs write it: strings as they are, numbers shortest, flags on/off,
/// lists joined by commas.
std::string as_documented(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "on" : "off";
  if (value.is_number_float()) return format_double(value.get<double>());
  if (value.is_array()) {
    std::vector<std::string> items;
    for (const auto& item : value) items.push_back(as_documented(item));
    return join(items, ",");
  }
  return value.dump();
}

/// A default cell that states a value (not "the method's", "unset", "all 1", …).
bool is_literal(const std::string& text) {
  return !text.empty() && text.find(' ') == std::string::npos && text != "unset" &&
         text != "none" && text.find('/') == std::string::npos;
}

TEST(DocumentedDefaults, UsageFlagTableMatchesTheResolvedConfiguration) {
  const nlohmann::json config = plan_json(make_run_plan(TrainOptions{}));
  const std::string usage = read_doc("USAGE.md");
  const auto train = usage.find("## `dsignsgd train`");
  ASSERT_NE(train, std::string::npos);
  std::istringstream lines(usage.substr(train));
  std::string line;
  int compared = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("| `--", 0) != 0) {
      if (compared > 0 && line.rfind("|", 0) != 0) break;  // the end of the table
      continue;
    }
    const std::vector<std::string> cells = split(line, std::regex("\\|"));
    ASSERT_GE(cells.size(), 3u) << line;
    // "--a, --b" with defaults "x, y"; "--l0 --l1 …" with "1 1 unset unset".
    const bool spaced = cells[1].find(',') == std::string::npos;
    const std::vector<std::string> flags = split(cells[1], std::regex(spaced ? " +" : ", *"));
    const std::vector<std::string> defaults =
        split(cells[2], std::regex(spaced && flags.size() > 1 ? " +" : ", +"));
    if (flags.size() != defaults.size()) continue;  // a descriptive default ("the method's")
    for (std::size_t i = 0; i < flags.size(); ++i) {
      const std::string key = flags[i].substr(2, flags[i].find(' ') - 2);
      if (!config.contains(key) || !is_literal(defaults[i])) continue;
      if (config[key].is_number()) {  // 1e8 and 1e+08 are one number
        char* end = nullptr;
        const double documented = std::strtod(defaults[i].c_str(), &end);
        EXPECT_TRUE(*end == '\0' && documented == config[key].get<double>())
            << "docs/USAGE.md: --" << key << " " << defaults[i] << ", the code: " << config[key];
      } else {
        EXPECT_EQ(as_documented(config[key]), defaults[i]) << "docs/USAGE.md: --" << key;
      }
      ++compared;
    }
  }
  // The table covers the flags with plain defaults: a parser that silently skips rows fails here.
  EXPECT_GE(compared, 25);
  std::printf("compared %d documented defaults with the resolved configuration\n", compared);
}

TEST(DocumentedDefaults, MethodAndCompressorListsAreTheRegistries) {
  const std::string usage = read_doc("USAGE.md");
  for (const std::string& name : method_names()) {
    EXPECT_NE(usage.find("`" + name + "`"), std::string::npos) << "USAGE.md misses method " << name;
  }
  const std::string methods_doc = read_doc("METHODS.md");
  for (const CompressorInfo* info : registered_compressors()) {
    EXPECT_NE(usage.find("`" + info->form + "`"), std::string::npos)
        << "USAGE.md misses compressor " << info->form;
    EXPECT_NE(methods_doc.find(info->name), std::string::npos)
        << "METHODS.md misses compressor " << info->name;
  }
  EXPECT_NE(usage.find("| `--method` | `" + TrainOptions{}.method + "` |"), std::string::npos);
}

TEST(DocumentedDefaults, PredictFormulasAndRegimesAreTheDocumentedOnes) {
  // Issue 26 item 5: SDE.md's closed-form table writes each method's formula and regime
  // condition as predict reports them; both are read from predict here and found there.
  const std::string sde = read_doc("SDE.md");
  for (const auto& [method, compressor] :
       {std::pair{"dsgd", ""}, {"dcsgd", "randk:0.25"}, {"dcsgd", "qsgd:4"}, {"dcsgd", "natural"},
        {"dsignsgd", ""}, {"majority", ""}}) {
    TrainOptions o;
    o.method = method;
    if (*compressor != '\0') o.compressor = compressor;
    o.problem.dim = 10;
    o.problem.hessian = "linspace:0.5:2";
    o.lr = 0.01;
    o.workers = 5;
    const Prediction p = predict(o);
    ASSERT_FALSE(p.floor.formula.empty()) << method << " " << compressor << ": " << p.floor.reason;
    ASSERT_TRUE(p.floor.regime.has_value()) << method;
    EXPECT_NE(sde.find("`" + p.floor.formula + "`"), std::string::npos)
        << method << " " << compressor << ": SDE.md should show the formula `" << p.floor.formula
        << "`";
    EXPECT_NE(sde.find("`" + p.floor.regime->condition + "`"), std::string::npos)
        << method << " " << compressor << ": SDE.md should show the condition `"
        << p.floor.regime->condition << "`";
  }
}

TEST(DocumentedDefaults, SdeDefaultsAreSdeOptionsAndTheCovarianceRule) {
  const SdeOptions defaults;
  const std::string usage = read_doc("USAGE.md");
  const std::string stated = "defaults " + defaults.drift_correction + ", " + defaults.integrator +
                             ", " + std::to_string(defaults.substeps);
  EXPECT_NE(usage.find(stated), std::string::npos) << "USAGE.md should say: " << stated;
  // SDE.md: "The default is `exact` for rand-k and `monte-carlo` otherwise".
  const std::string sde = read_doc("SDE.md");
  EXPECT_NE(sde.find("The default is `exact` for rand-k and `monte-carlo` otherwise"),
            std::string::npos);
  for (const auto& [compressor, expected] :
       {std::pair{"randk:0.5", "exact"}, {"identity", "exact"}, {"qsgd:4", "monte-carlo"},
        {"natural", "monte-carlo"}}) {
    TrainOptions o;
    o.method = std::string(compressor) == "identity" ? "dsgd" : "dcsgd";
    o.compressor = compressor;
    EXPECT_EQ(to_string(SdePlan::resolve(defaults, make_run_plan(o)).covariance), expected)
        << compressor;
  }
  // validate's drift default, as SDE.md states it.
  EXPECT_NE(sde.find("`--drift-correction` (default\n`" + defaults.drift_correction + "`)"),
            std::string::npos);
  // validate's substeps and extrapolation defaults.
  EXPECT_NE(sde.find("(`--substeps M`, default " + std::to_string(kValidateSubsteps) + ";"),
            std::string::npos);
  EXPECT_TRUE(ValidateOptions{}.extrapolate);
  EXPECT_NE(sde.find("(`--extrapolation richardson`, the default;"), std::string::npos);
}

}  // namespace
}  // namespace dsignsgd
