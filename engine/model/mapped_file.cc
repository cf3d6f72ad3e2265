#include "engine/model/mapped_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace specd {
namespace {

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

StatusOr<std::unique_ptr<MappedFile>> MappedFile::Open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFoundError(path + ": file not found");
  if (!std::filesystem::is_regular_file(path, ec)) {
    return FailedPreconditionError(path + ": not a regular file");
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FailedPreconditionError(path + ": cannot open: " + ErrnoText());
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const std::string error = ErrnoText();
    ::close(fd);
    return FailedPreconditionError(path + ": cannot stat: " + error);
  }
  const size_t size = static_cast<size_t>(info.st_size);
  const std::byte* data = nullptr;
  if (size > 0) {  // mmap of length 0 fails; an empty file maps to an empty span
    void* mapping = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapping == MAP_FAILED) {
      const std::string error = ErrnoText();
      ::close(fd);
      return FailedPreconditionError(path + ": cannot map: " + error);
    }
    data = static_cast<const std::byte*>(mapping);
  }
  ::close(fd);  // the mapping keeps the file alive
  return std::unique_ptr<MappedFile>(new MappedFile(path, data, size));
}

MappedFile::MappedFile(std::string path, const std::byte* data, size_t size)
    : path_(std::move(path)), data_(data), size_(size) {}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace specd
