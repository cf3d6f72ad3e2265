// One safetensors file, memory-mapped, with its header parsed and validated.
//
// Layout: [u64 little-endian header length N][N bytes of JSON header][tensor data]. The header
// maps tensor names to {dtype, shape, data_offsets:[begin, end)} relative to the data section.
// Open checks everything a corrupt or truncated file could get wrong, so a TensorView it hands
// out always lies inside the file and has exactly the bytes its shape and dtype need.
// Immutable after Open: safe to read from any thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/model/mapped_file.h"
#include "engine/model/tensor_view.h"

namespace specd {

class SafetensorsFile {
 public:
  // NOT_FOUND for a missing file; DATA_LOSS for a truncated file or corrupt header.
  static StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  // nullptr if the file holds no tensor of that name.
  const TensorView* Find(std::string_view name) const;
  std::vector<std::string> TensorNames() const;

 private:
  explicit SafetensorsFile(std::unique_ptr<MappedFile> file) : file_(std::move(file)) {}
  Status ParseHeader();

  std::unique_ptr<MappedFile> file_;
  std::map<std::string, TensorView, std::less<>> tensors_;
};

}  // namespace specd
