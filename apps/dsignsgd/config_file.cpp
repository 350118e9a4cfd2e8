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
#include "dsignsgd/core/atomic_file.hpp"
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

namespace {

/// Opens a configuration file: a regular file of at most 1 MiB.
std::ifstream open_config_file(const std::string& path, const std::string& option_name) {
  require_regular_file(option_name, path, 1 << 20, "a configuration is a few lines");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(option_name, path, "cannot be read");
  return in;
}

/// Reads a configuration line by line into the flags of `command`; a failure names the file,
/// line and column of what it is about.
class ConfigReader {
 public:
  ConfigReader(const std::string& path, const CLI::App& command,
               const std::vector<std::string>& argv, const std::string& option_name)
      : path_(path), command_(command), argv_(argv), option_name_(option_name) {}

  void read_line(std::string line) {
    ++line_number_;
    if (line_number_ == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM
    content_ = strip_comment(line);
    const std::size_t indent = std::min(content_.find_first_not_of(" \t"), content_.size());
    column_ = indent;
    for (std::size_t i = 0; i < content_.size(); ++i) {
      const auto byte = static_cast<unsigned char>(content_[i]);
      if ((byte < 0x20 && byte != '\t' && byte != '\r') || byte == 0x7f) {
        column_ = i;
        fail("control character " + std::string(1, content_[i]));
      }
    }
    const std::string text = trim(content_);
    if (text.empty()) return;
    if (text.front() == '[') return read_table_header(text);
    const auto equals = text.find('=');
    if (equals == std::string::npos) fail("expected key = value");
    std::string key = trim(text.substr(0, equals));
    if (key.size() >= 2 && (key.front() == '"' || key.front() == '\'')) {
      key = key.substr(1, key.size() - 2);
    }
    std::replace(key.begin(), key.end(), '_', '-');
    const std::size_t key_column = column_;
    const std::size_t value_column = std::min(
        content_.find_first_not_of(" \t", content_.find('=', indent) + 1), content_.size());
    column_ = value_column;
    const std::string value = value_text(trim(text.substr(equals + 1)),
                                         [this](const std::string& what) { fail(what); });
    column_ = key_column;
    if (in_own_table_) add_key(key, value, value_column);
  }

  ConfigArguments result() && { return std::move(result_); }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ConfigError(option_name_, path_, where(column_) + ": " + what);
  }
  std::string where(std::size_t column) const {
    return path_ + ":" + std::to_string(line_number_) + ":" + std::to_string(column + 1);
  }

  void read_table_header(const std::string& text) {
    if (text.back() != ']') fail("unterminated table header");
    const std::string table = trim(text.substr(1, text.size() - 2));
    if (table != command_.get_name()) {
      fail("table [" + table + "] does not match the command '" + command_.get_name() + "'");
    }
    in_own_table_ = true;
  }

  void add_key(const std::string& key, const std::string& value, std::size_t value_column) {
    if (key == "config" || key == "out") {
      fail("key '" + key + "' must be given on the command line");
    }
    if (key == "help" || key == "h" || key == "version") {  // would print and exit 0, no run
      fail("key '" + key + "' is not a setting (a configuration cannot ask for --" + key + ")");
    }
    const CLI::Option* option = command_.get_option_no_throw("--" + key);
    if (option == nullptr) {
      fail("unknown key '" + key + "' (keys are the flags of '" + command_.get_name() +
           "' without --)");
    }
    if (const auto [previous, inserted] = seen_.emplace(key, line_number_); !inserted) {
      fail("key '" + key + "' repeats line " + std::to_string(previous->second));
    }
    if (given_on_command_line(argv_, key)) return;  // the command line wins
    result_.origins["--" + key] = where(value_column);
    if (option->get_type_size() == 0) {  // a flag
      if (value == "true") {
        result_.arguments.push_back("--" + key);
      } else if (value != "false") {
        fail("flag '" + key + "' takes true or false");
      }
      return;
    }
    result_.arguments.push_back("--" + key + "=" + value);
  }

  const std::string& path_;
  const CLI::App& command_;
  const std::vector<std::string>& argv_;
  const std::string& option_name_;
  ConfigArguments result_;
  std::map<std::string, int> seen_;  // key → line
  int line_number_ = 0;
  bool in_own_table_ = true;
  std::string content_;     // the current line without its comment
  std::size_t column_ = 0;  // of what the next failure is about
};

}  // namespace

ConfigArguments config_file_arguments(const std::string& path, const CLI::App& command,
                                      const std::vector<std::string>& argv,
                                      const std::string& option_name) {
  std::ifstream in = open_config_file(path, option_name);
  ConfigReader reader(path, command, argv, option_name);
  for (std::string line; std::getline(in, line);) reader.read_line(line);
  return std::move(reader).result();
}

}  // namespace dsignsgd::cli
