#include "dsignsgd/core/config_error.hpp"

#include <utility>

namespace dsignsgd {

namespace {

std::string compose(const std::string& option, const std::string& value,
                    const std::string& constraint) {
  std::string message = "invalid --";
  message.append(option).append(" '").append(value).append("': ").append(constraint);
  return message;
}

}  // namespace

ConfigError::ConfigError(std::string option, std::string value, std::string constraint)
    : std::invalid_argument(compose(option, value, constraint)),
      option_(std::move(option)),
      value_(std::move(value)),
      constraint_(std::move(constraint)) {}

}  // namespace dsignsgd
