#pragma once
/// @file
/// The one exception type for invalid configuration. Its message names the option (as the user
/// typed it: the command-line flag / config key), the offending value and the violated
/// constraint, e.g. "invalid --lr '0': must be > 0". The CLI prints it and exits with code 2.

#include <stdexcept>
#include <string>

namespace dsignsgd {

/// `text` with control characters, DEL and bytes that are not well-formed UTF-8 written as \xNN,
/// and format characters that act on the terminal (bidirectional overrides such as U+202E,
/// zero-width characters, the byte-order mark, C1 controls) as \u{XXXX}, so that an error quoting
/// a file's bytes cannot garble the terminal (other well-formed UTF-8 is kept: σ, ν, →).
std::string escape_for_terminal(const std::string& text);

/// The text a number option was typed as (the CLI's parser remembers it): when a ConfigError
/// quotes the number it parsed to and the two differ as numbers ("0.99999999999999999" is 1), the
/// message quotes both — "invalid --momentum '1' (typed '0.99999999999999999'): …". Forgotten at
/// the start of every parse.
void remember_typed_number(const std::string& option, const std::string& text);
void forget_typed_numbers();

/// The message escapes option, value and constraint for the terminal (escape_for_terminal).
class ConfigError : public std::invalid_argument {
 public:
  /// @param option      flag / config key without dashes, e.g. "lr"
  /// @param value       the value as given
  /// @param constraint  what the value must satisfy, e.g. "must be > 0"
  ConfigError(std::string option, std::string value, std::string constraint);

  const std::string& option() const { return option_; }
  const std::string& value() const { return value_; }
  const std::string& constraint() const { return constraint_; }

 private:
  std::string option_;
  std::string value_;
  std::string constraint_;
};

}  // namespace dsignsgd
