#pragma once
/// @file
/// join(items, ", "): the one way lists are written into messages and tables.

#include <string>
#include <string_view>

namespace dsignsgd {

/// The elements of `items` (anything a std::string can be appended from) separated by
/// `separator`; empty for an empty range.
template <class Range>
std::string join(const Range& items, std::string_view separator) {
  std::string out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += separator;
    out += item;
    first = false;
  }
  return out;
}

}  // namespace dsignsgd
