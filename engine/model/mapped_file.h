// A read-only memory map of a whole file (safetensors shards). Move-only; unmaps on destruction.
// Immutable after Open, so concurrent reads from any thread are safe.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "engine/base/status.h"

namespace specd {

class MappedFile {
 public:
  // NOT_FOUND if the file does not exist, FAILED_PRECONDITION if it cannot be opened or mapped.
  static StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }

 private:
  MappedFile(std::string path, const std::byte* data, size_t size);

  std::string path_;
  const std::byte* data_;
  size_t size_;
};

}  // namespace specd
