#include "dsignsgd/core/config_error.hpp"

#include <utility>

namespace dsignsgd {

std::string escape_for_terminal(const std::string& text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  const auto escape = [&](unsigned char byte) {
    out += "\\x";
    out += kHex[byte >> 4];
    out += kHex[byte & 15];
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      if (byte < 0x20 || byte == 0x7f) {
        escape(byte);
      } else {
        out += static_cast<char>(byte);
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence (no overlong forms, no surrogates) is kept: messages name σ,
    // ν, →. Anything else is escaped byte by byte.
    const int length = byte >= 0xc2 && byte <= 0xdf ? 2 : byte >= 0xe0 && byte <= 0xef ? 3
                       : byte >= 0xf0 && byte <= 0xf4                                   ? 4
                                                                                        : 0;
    bool valid = length > 0 && i + static_cast<std::size_t>(length) <= text.size();
    for (int k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]) & 0xc0) == 0x80;
    }
    if (valid && length >= 3) {
      const auto second = static_cast<unsigned char>(text[i + 1]);
      valid = !(byte == 0xe0 && second < 0xa0) && !(byte == 0xed && second >= 0xa0) &&
              !(byte == 0xf0 && second < 0x90) && !(byte == 0xf4 && second >= 0x90);
    }
    if (!valid) {
      escape(byte);
      ++i;
      continue;
    }
    out.append(text, i, static_cast<std::size_t>(length));
    i += static_cast<std::size_t>(length);
  }
  return out;
}

namespace {

std::string compose(const std::string& option, const std::string& value,
                    const std::string& constraint) {
  std::string message = "invalid --";
  message.append(escape_for_terminal(option))
      .append(" '")
      .append(escape_for_terminal(value))
      .append("': ")
      .append(escape_for_terminal(constraint));
  return message;
}

}  // namespace

ConfigError::ConfigError(std::string option, std::string value, std::string constraint)
    : std::invalid_argument(compose(option, value, constraint)),
      option_(std::move(option)),
      value_(std::move(value)),
      constraint_(std::move(constraint)) {}

}  // namespace dsignsgd
