#include "engine/runner/cuda/packed_upload.h"

#include <cstring>

namespace specd {
namespace {

constexpr size_t kAlignment = 16;

size_t AlignUp(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

Status PackedUpload::Upload(cudaStream_t stream) {
  const std::vector<Array> arrays = std::move(arrays_);
  arrays_.clear();
  size_t total = 0;
  for (const Array& array : arrays) total += AlignUp(array.bytes);
  if (total > host_.bytes()) {  // grown to twice the need, so that steps rarely reallocate
    SPECD_RETURN_IF_ERROR(host_.Allocate(2 * total, what_));
    SPECD_RETURN_IF_ERROR(device_.Allocate(2 * total, what_));
  }
  size_t offset = 0;
  for (const Array& array : arrays) {
    if (array.bytes == 0) {
      array.set_device_pointer(nullptr);
      continue;
    }
    std::memcpy(host_.get() + offset, array.data, array.bytes);
    array.set_device_pointer(device_.get() + offset);
    offset += AlignUp(array.bytes);
  }
  if (offset == 0) return OkStatus();
  return CudaStatus(cudaMemcpyAsync(device_.get(), host_.get(), offset, cudaMemcpyHostToDevice, stream),
                    "uploading " + what_);
}

}  // namespace specd
