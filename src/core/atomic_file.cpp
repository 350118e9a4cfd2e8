#include "dsignsgd/core/atomic_file.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "dsignsgd/core/config_error.hpp"

namespace dsignsgd {

void write_file_atomic(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::path temporary = path;
  temporary += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + temporary.string());
    out << content;
    out.flush();
    if (!out) {
      out.close();
      std::filesystem::remove(temporary);
      throw std::runtime_error("error while writing " + temporary.string());
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {  // e.g. a directory of that name: leave no temporary behind
    std::filesystem::remove(temporary);
    throw std::runtime_error("cannot replace " + path.string() + ": " + error.message());
  }
}

DirectoryLock::DirectoryLock(const std::string& option, const std::filesystem::path& dir) {
  fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) {
    throw ConfigError(option, dir.string(),
                      std::string("cannot be opened: ") + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int code = errno;
    ::close(fd_);
    fd_ = -1;
    throw ConfigError(option, dir.string(),
                      code == EWOULDBLOCK
                          ? "is in use by another running job (two jobs writing one directory "
                            "would mix or replace each other's files); wait for it, or choose "
                            "another directory"
                          : std::string("cannot be locked: ") + std::strerror(code));
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

void require_writable_directory(const std::string& option, const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::path existing = fs::absolute(dir, error);
  while (!existing.empty() && !fs::exists(existing, error)) {
    if (existing == existing.parent_path()) break;
    existing = existing.parent_path();
  }
  if (!fs::is_directory(existing, error)) {
    throw ConfigError(option, dir.string(),
                      existing == fs::absolute(dir, error)
                          ? "exists and is not a directory"
                          : "cannot be created: " + existing.string() + " is not a directory");
  }
  // Permission bits do not tell (root passes them; /proc refuses root): create and remove a
  // probe directory.
  std::string probe = (existing / ".dsignsgd-write-test-XXXXXX").string();
  if (::mkdtemp(probe.data()) == nullptr) {
    throw ConfigError(option, dir.string(),
                      existing == fs::absolute(dir, error)
                          ? "is not writable"
                          : "cannot be created: " + existing.string() + " is not writable");
  }
  ::rmdir(probe.c_str());
}

void require_regular_file(const std::string& option, const std::filesystem::path& path,
                          std::uintmax_t max_bytes, const std::string& too_large) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (error && error != std::errc::no_such_file_or_directory) {  // a symlink loop, no access
    throw ConfigError(option, path.string(), "cannot be opened: " + error.message());
  }
  if (error || !std::filesystem::exists(status)) {
    throw ConfigError(option, path.string(), "does not exist");
  }
  if (std::filesystem::is_directory(status)) {
    throw ConfigError(option, path.string(), "is a directory, not a file");
  }
  if (!std::filesystem::is_regular_file(status)) {
    throw ConfigError(option, path.string(),
                      "is not a regular file (a FIFO, socket or device is never read)");
  }
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  if (error) throw ConfigError(option, path.string(), "cannot be read: " + error.message());
  if (size > max_bytes) {
    throw ConfigError(option, path.string(),
                      "is larger than " + std::to_string(max_bytes >> 20) + " MiB; " + too_large);
  }
}

}  // namespace dsignsgd
