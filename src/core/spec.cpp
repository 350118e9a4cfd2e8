#include "dsignsgd/core/spec.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "dsignsgd/core/config_error.hpp"

namespace dsignsgd {

Spec parse_spec(std::string_view text) {
  Spec spec;
  spec.text = std::string(text);
  std::size_t start = 0;
  bool first = true;
  while (true) {
    const std::size_t colon = text.find(':', start);
    const std::string_view field = text.substr(
        start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    if (first) {
      spec.name = std::string(field);
      first = false;
    } else {
      spec.args.emplace_back(field);
    }
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return spec;
}

double parse_double(std::string_view text, const std::string& option) {
  double value = 0.0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) {
    throw ConfigError(option, std::string(text), "must be a finite number");
  }
  return value;
}

std::int64_t parse_int(std::string_view text, const std::string& option) {
  std::int64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    throw ConfigError(option, std::string(text), "must be an integer");
  }
  return value;
}

std::vector<double> parse_double_list(std::string_view text, const std::string& option) {
  std::vector<double> values;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string_view field = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    try {
      values.push_back(parse_double(field, option));
    } catch (const ConfigError&) {
      throw ConfigError(option, std::string(text), "must be a comma-separated list of numbers");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return values;
}

void require_arg_count(const Spec& spec, std::size_t count, const std::string& option,
                       const std::string& usage) {
  if (spec.args.size() != count) {
    throw ConfigError(option, spec.text, "expected the form " + usage);
  }
}

std::string significant(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*g", digits, value);
  return text;
}

std::string format_double(double value) {
  char buffer[64];
  const auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return ec == std::errc() ? std::string(buffer, ptr) : std::to_string(value);
}

}  // namespace dsignsgd
