#include "dsignsgd/core/config_error.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>

namespace dsignsgd {
namespace {

/// Code points that are well-formed but act on the terminal rather than show: C1 controls, the
/// bidirectional overrides and isolates (U+202E turns the rest of a line around), zero-width
/// characters, line/paragraph separators and the byte-order mark.
bool is_format_character(std::uint32_t c) {
  return (c >= 0x80 && c <= 0x9f) || c == 0xad || c == 0x61c || c == 0x180e ||
         (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
         (c >= 0x2060 && c <= 0x206f) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb);
}

std::uint32_t decode_utf8(const std::string& text, std::size_t i, int length) {
  const auto byte = [&](int k) { return static_cast<unsigned char>(text[i + k]); };
  std::uint32_t c = byte(0) & (length == 2 ? 0x1f : length == 3 ? 0x0f : 0x07);
  for (int k = 1; k < length; ++k) c = (c << 6) | (byte(k) & 0x3f);
  return c;
}

}  // namespace

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
    const std::uint32_t code_point = decode_utf8(text, i, length);
    if (is_format_character(code_point)) {
      char buffer[16];
      std::snprintf(buffer, sizeof buffer, "\\u{%04x}", static_cast<unsigned>(code_point));
      out += buffer;
    } else {
      out.append(text, i, static_cast<std::size_t>(length));
    }
    i += static_cast<std::size_t>(length);
  }
  return out;
}

namespace {

std::mutex& typed_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::map<std::string, std::string>& typed_numbers() {
  static std::map<std::string, std::string> typed;
  return typed;
}

/// The text `option` was typed as, when it reads as another number than `value`; empty otherwise.
std::string typed_differently(const std::string& option, const std::string& value) {
  std::string typed;
  {
    const std::lock_guard lock(typed_mutex());
    const auto found = typed_numbers().find(option);
    if (found == typed_numbers().end() || found->second == value) return "";
    typed = found->second;
  }
  const auto number = [](const std::string& text, long double& out) {
    char* end = nullptr;
    out = std::strtold(text.c_str(), &end);
    return !text.empty() && end == text.c_str() + text.size();
  };
  long double a = 0, b = 0;
  return number(typed, a) && number(value, b) && a != b ? typed : "";
}

std::string compose(const std::string& option, const std::string& value,
                    const std::string& constraint) {
  std::string message = "invalid --";
  message.append(escape_for_terminal(option))
      .append(" '")
      .append(escape_for_terminal(value));
  if (const std::string typed = typed_differently(option, value); !typed.empty()) {
    message.append("' (typed '").append(escape_for_terminal(typed)).append("')");
  } else {
    message.append("'");
  }
  message.append(": ")
      .append(escape_for_terminal(constraint));
  return message;
}

}  // namespace

void remember_typed_number(const std::string& option, const std::string& text) {
  const std::lock_guard lock(typed_mutex());
  typed_numbers()[option] = text;
}

void forget_typed_numbers() {
  const std::lock_guard lock(typed_mutex());
  typed_numbers().clear();
}

ConfigError::ConfigError(std::string option, std::string value, std::string constraint)
    : std::invalid_argument(compose(option, value, constraint)),
      option_(std::move(option)),
      value_(std::move(value)),
      constraint_(std::move(constraint)) {}

}  // namespace dsignsgd
