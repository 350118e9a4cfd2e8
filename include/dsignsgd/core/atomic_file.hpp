#pragma once
/// @file
/// Files that are either whole or absent: written to a temporary name in the same directory and
/// renamed, so an output directory never holds a half-written file. And the guard every file the
/// program reads passes first.

#include <cstdint>
#include <filesystem>
#include <string>

namespace dsignsgd {

/// Writes content to path through a temporary file in the same directory and a rename.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

/// Checks, before any work, that `dir` can be written later: it is a writable directory, or it
/// does not exist and its nearest existing ancestor is one (nothing is created). Throws
/// ConfigError for `option` naming the path and what is wrong.
void require_writable_directory(const std::string& option, const std::filesystem::path& dir);

/// Checks that `path` (symbolic links followed) is an existing regular file of at most
/// `max_bytes`: a FIFO would block open() for ever, a device such as /dev/zero never ends.
/// Throws ConfigError for `option` naming the path and what is wrong; `too_large` ends the
/// message for a file above the limit (what such a file should be instead).
void require_regular_file(const std::string& option, const std::filesystem::path& path,
                          std::uintmax_t max_bytes, const std::string& too_large);

/// An exclusive advisory lock (flock) on a directory for the lifetime of the object, so that two
/// jobs cannot write results or checkpoints into one directory at once. The kernel releases it
/// when the process ends, however it ends: nothing stale is left on disk. Throws ConfigError for
/// `option` when another process holds it.
class DirectoryLock {
 public:
  DirectoryLock(const std::string& option, const std::filesystem::path& dir);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace dsignsgd
