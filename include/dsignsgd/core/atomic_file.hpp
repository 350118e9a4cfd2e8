#pragma once
/// @file
/// Files that are either whole or absent: written to a temporary name in the same directory and
/// renamed, so an output directory never holds a half-written file.

#include <filesystem>
#include <string>

namespace dsignsgd {

/// Writes content to path through a temporary file in the same directory and a rename.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

}  // namespace dsignsgd
