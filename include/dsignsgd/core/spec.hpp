#pragma once
/// @file
/// Parsing of the compact component specifications used on the command line and in config
/// files: "randk:0.1", "student:3:0.5", "linspace:1:10", "diag:1,2,5". Every parse error is a
/// ConfigError naming the option it came from.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dsignsgd {

/// "name:arg1:arg2" split at ':'; `name` is the first field, `args` the rest (maybe empty).
struct Spec {
  std::string text;  ///< the original text, for error messages
  std::string name;
  std::vector<std::string> args;
};

Spec parse_spec(std::string_view text);

/// Parses a finite double; throws ConfigError(option, text, "must be a number") otherwise.
double parse_double(std::string_view text, const std::string& option);
/// Parses a non-negative integer; throws ConfigError otherwise.
std::int64_t parse_int(std::string_view text, const std::string& option);
/// Parses "a,b,c" into doubles.
std::vector<double> parse_double_list(std::string_view text, const std::string& option);

/// Throws ConfigError unless spec has exactly `count` arguments; `usage` shows the form.
void require_arg_count(const Spec& spec, std::size_t count, const std::string& option,
                       const std::string& usage);

/// Formats a double the shortest way that round-trips ("0.1", "1e-05").
std::string format_double(double value);

/// `value` with `digits` significant digits (%.*g): "0.0421" for (0.042137, 3).
std::string significant(double value, int digits);

}  // namespace dsignsgd
