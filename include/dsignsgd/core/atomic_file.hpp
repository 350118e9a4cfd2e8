#pragma once
/// @file
/// Files that are either whole or absent: written to a temporary name in the same directory and
/// renamed, so an output directory never holds a half-written file.

#include <filesystem>
#include <string>

namespace dsignsgd {

/// Writes content to path through a temporary file in the same directory and a rename.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

/// Checks, before any work, that `dir` can be written later: it is a writable directory, or it
/// does not exist and its nearest existing ancestor is one (nothing is created). Throws
/// ConfigError for `option` naming the path and what is wrong.
void require_writable_directory(const std::string& option, const std::filesystem::path& dir);

}  // namespace dsignsgd
