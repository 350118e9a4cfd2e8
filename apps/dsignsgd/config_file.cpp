// A small TOML reader for --config: the subset with flat `key = value` pairs (strings, numbers,
// booleans, arrays of those) and an optional [table] named after the subcommand.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <sstream>

#include "commands.hpp"
#include "dsignsgd/core/config_error.hpp"

namespace dsignsgd::cli {
namespace {

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

/// Removes a trailing # comment that is not inside a string.
std::string strip_comment(const std::string& line) {
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      return line.substr(0, i);
    }
  }
  return line;
}

/// Turns a TOML value into the text a flag takes; throws on malformed values.
std::string value_text(const std::string& raw,
                       const std::function<void(const std::string&)>& fail) {
  if (raw.empty()) fail("missing value");
  const char first = raw.front();
  if (first == '"' || first == '\'') {
    if (raw.size() < 2 || raw.back() != first) fail("unterminated string " + raw);
    const std::string inner = raw.substr(1, raw.size() - 2);
    if (inner.find(first) != std::string::npos) fail("unexpected quote in " + raw);
    return inner;
  }
  if (first == '[') {
    if (raw.back() != ']') fail("unterminated array " + raw);
    std::string joined;
    std::stringstream items(raw.substr(1, raw.size() - 2));
    std::string item;
    while (std::getline(items, item, ',')) {
      const std::string element = trim(item);
      if (element.empty()) continue;
      joined += (joined.empty() ? "" : ",") + value_text(element, fail);
    }
    return joined;
  }
  for (char c : raw) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' ||
          c == '_' || c == ':')) {
      fail("malformed value " + raw + " (quote strings)");
    }
  }
  return raw;
}

bool given_on_command_line(const std::vector<std::string>& argv, const std::string& key) {
  const std::string flag = "--" + key;
  for (const std::string& arg : argv) {
    if (arg == flag || arg.rfind(flag + "=", 0) == 0) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> config_file_arguments(const std::string& path, const CLI::App& command,
                                               const std::vector<std::string>& argv) {
  std::ifstream in(path);
  if (!in) throw ConfigError("config", path, "cannot be read");
  std::vector<std::string> arguments;
  std::string line;
  int line_number = 0;
  bool in_own_table = true;
  while (std::getline(in, line)) {
    ++line_number;
    const auto fail = [&](const std::string& what) {
      throw ConfigError("config", path,
                        "malformed TOML on line " + std::to_string(line_number) + ": " + what);
    };
    const std::string text = trim(strip_comment(line));
    if (text.empty()) continue;
    if (text.front() == '[') {
      if (text.back() != ']') fail("unterminated table header");
      const std::string table = trim(text.substr(1, text.size() - 2));
      if (table != command.get_name()) {
        throw ConfigError("config", path,
                          "table [" + table + "] on line " + std::to_string(line_number) +
                              " does not match the command '" + command.get_name() + "'");
      }
      in_own_table = true;
      continue;
    }
    const auto equals = text.find('=');
    if (equals == std::string::npos) fail("expected key = value");
    std::string key = trim(text.substr(0, equals));
    if (key.size() >= 2 && (key.front() == '"' || key.front() == '\'')) {
      key = key.substr(1, key.size() - 2);
    }
    std::replace(key.begin(), key.end(), '_', '-');
    const std::string value = value_text(trim(text.substr(equals + 1)), fail);
    if (!in_own_table) continue;
    if (key == "config" || key == "out") {
      throw ConfigError("config", path,
                        "key '" + key + "' on line " + std::to_string(line_number) +
                            " must be given on the command line");
    }
    const CLI::Option* option = command.get_option_no_throw("--" + key);
    if (option == nullptr) {
      throw ConfigError("config", path,
                        "unknown key '" + key + "' on line " + std::to_string(line_number) +
                            " (keys are the flags of '" + command.get_name() + "' without --)");
    }
    if (given_on_command_line(argv, key)) continue;  // the command line wins
    if (option->get_type_size() == 0) {              // a flag
      if (value == "true") {
        arguments.push_back("--" + key);
      } else if (value != "false") {
        fail("flag '" + key + "' takes true or false");
      }
      continue;
    }
    arguments.push_back("--" + key + "=" + value);
  }
  return arguments;
}

}  // namespace dsignsgd::cli
