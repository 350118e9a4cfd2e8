#include <map>
#include <mutex>
#include <string>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/nn/model.hpp"

namespace dsignsgd {
namespace {

std::mutex& registry_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::map<std::string, ModelFactory>& registry() {
  static std::map<std::string, ModelFactory> factories;
  return factories;
}
std::string& missing_model_advice() {
  static std::string advice =
      "which this build does not have: install libtorch-dev (make run / make test do) and "
      "rebuild";
  return advice;
}

}  // namespace

void register_model(const std::string& architecture, ModelFactory factory) {
  const std::lock_guard lock(registry_mutex());
  registry()[architecture] = std::move(factory);
}

void set_missing_model_advice(std::string advice) {
  const std::lock_guard lock(registry_mutex());
  missing_model_advice() = std::move(advice);
}

bool has_registered_model(const std::string& architecture) {
  const std::lock_guard lock(registry_mutex());
  return registry().count(architecture) > 0;
}

std::unique_ptr<Model> make_registered_model(const std::string& architecture,
                                             const ModelShape& shape, const std::string& problem) {
  ModelFactory factory;
  std::string advice;
  {
    const std::lock_guard lock(registry_mutex());
    const auto found = registry().find(architecture);
    if (found != registry().end()) factory = found->second;
    advice = missing_model_advice();
  }
  if (!factory) {
    throw ConfigError("problem", problem,
                      "needs the libtorch component (the " + architecture + " model), " + advice);
  }
  return factory(shape);
}

}  // namespace dsignsgd
