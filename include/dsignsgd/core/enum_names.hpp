#pragma once
/// @file
/// One table per enum gives its names both ways and the "must be one of …" message
/// (Ceres' ToString / FromString). Declare the table next to the enum:
///
///     inline constexpr EnumNames<Backend, 2> kBackendNames{
///         "backend", {{{Backend::kLocal, "local"}, {Backend::kMpi, "mpi"}}}};
///
/// and write to_string / *_from_string as one line each over it.

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "dsignsgd/core/config_error.hpp"
#include "dsignsgd/core/join.hpp"

namespace dsignsgd {

template <class Enum>
struct EnumName {
  Enum value;
  const char* name;
};

template <class Enum, std::size_t N>
struct EnumNames {
  const char* option;  ///< the flag / config key a wrong name is reported under
  std::array<EnumName<Enum>, N> entries;

  /// The name of `value`; "?" for a value outside the table (a programmer error upstream).
  std::string to_string(Enum value) const {
    for (const auto& entry : entries) {
      if (entry.value == value) return entry.name;
    }
    return "?";
  }

  /// Throws ConfigError(option, name, "must be one of …") for a name outside the table.
  Enum from_string(const std::string& name) const {
    for (const auto& entry : entries) {
      if (name == entry.name) return entry.value;
    }
    throw ConfigError(option, name, "must be one of " + join(names(), ", "));
  }

  /// The names in table order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(N);
    for (const auto& entry : entries) out.emplace_back(entry.name);
    return out;
  }
};

}  // namespace dsignsgd
