// A small TOML reader for --config: the subset with flat `key = value` pairs (strings, numbers,
// booleans, arrays of those) and an optional [table] named after the subcommand.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
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

std::string ConfigArguments::origin_of(const std::string& message) const {
  // The longest flag named at a word boundary ("--l1" must not match inside "--l1-x").
  std::string best_flag, best_origin;
  for (const auto& [flag, origin] : origins) {
    for (auto at = message.find(flag); at != std::string::npos; at = message.find(flag, at + 1)) {
      const std::size_t end = at + flag.size();
      const bool boundary =
          end == message.size() ||
          !(std::isalnum(static_cast<unsigned char>(message[end])) || message[end] == '-');
      if (boundary && flag.size() > best_flag.size()) best_flag = flag, best_origin = origin;
    }
  }
  return best_origin;
}

ConfigArguments config_file_arguments(const std::string& path, const CLI::App& command,
                                      const std::vector<std::string>& argv,
                                      const std::string& option_name) {
  constexpr std::uintmax_t kMaxBytes = 1 << 20;
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (error || !std::filesystem::exists(status)) {
    throw ConfigError(option_name, path, "does not exist");
  }
  if (!std::filesystem::is_regular_file(status)) {
    throw ConfigError(option_name, path,
                      std::filesystem::is_directory(status) ? "is a directory, not a TOML file"
                                                            : "is not a regular file");
  }
  if (std::filesystem::file_size(path, error) > kMaxBytes) {
    throw ConfigError(option_name, path, "is larger than 1 MiB; a configuration is a few lines");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(option_name, path, "cannot be read");
  ConfigArguments result;
  std::map<std::string, int> seen;  // key → line
  std::string line;
  int line_number = 0;
  bool in_own_table = true;
  while (std::getline(in, line)) {
    ++line_number;
    if (line_number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM
    const auto where = [&](std::size_t column) {
      return path + ":" + std::to_string(line_number) + ":" + std::to_string(column + 1);
    };
    const std::string content = strip_comment(line);
    const std::size_t indent = std::min(content.find_first_not_of(" \t"), content.size());
    std::size_t column = indent;  // of what the next failure is about
    const auto fail = [&](const std::string& what) {
      throw ConfigError(option_name, path, where(column) + ": " + what);
    };
    for (std::size_t i = 0; i < content.size(); ++i) {
      const auto byte = static_cast<unsigned char>(content[i]);
      if ((byte < 0x20 && byte != '\t' && byte != '\r') || byte == 0x7f) {
        column = i;
        fail("control character " + std::string(1, content[i]));
      }
    }
    const std::string text = trim(content);
    if (text.empty()) continue;
    if (text.front() == '[') {
      if (text.back() != ']') fail("unterminated table header");
      const std::string table = trim(text.substr(1, text.size() - 2));
      if (table != command.get_name()) {
        fail("table [" + table + "] does not match the command '" +
             command.get_name() + "'");
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
    const std::string raw_value = trim(text.substr(equals + 1));
    const std::size_t key_column = column;
    const std::size_t value_column =
        std::min(content.find_first_not_of(" \t", content.find('=', indent) + 1), content.size());
    column = value_column;
    const std::string value = value_text(raw_value, fail);
    column = key_column;
    if (!in_own_table) continue;
    if (key == "config" || key == "out") {
      fail("key '" + key + "' must be given on the command line");
    }
    const CLI::Option* option = command.get_option_no_throw("--" + key);
    if (option == nullptr) {
      fail("unknown key '" + key + "' (keys are the flags of '" +
           command.get_name() + "' without --)");
    }
    if (const auto [previous, inserted] = seen.emplace(key, line_number); !inserted) {
      fail("key '" + key + "' repeats line " + std::to_string(previous->second));
    }
    if (given_on_command_line(argv, key)) continue;  // the command line wins
    result.origins["--" + key] = where(value_column);
    if (option->get_type_size() == 0) {              // a flag
      if (value == "true") {
        result.arguments.push_back("--" + key);
      } else if (value != "false") {
        fail("flag '" + key + "' takes true or false");
      }
      continue;
    }
    result.arguments.push_back("--" + key + "=" + value);
  }
  return result;
}

}  // namespace dsignsgd::cli
