// PackedUpload: host arrays packed into one pinned buffer and copied to one device buffer in a
// single asynchronous copy, each at a 16-byte aligned place (both buffers grow as needed). Add
// the arrays with the device pointer each should end up in, then Upload. Small copies from
// pageable vectors cost several microseconds of a step each; this is one.
// Engine thread only; the caller makes sure the previous Upload's copy is done before the next
// Upload (GpuSampler takes two in turn, the runner having at most two steps in flight).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "engine/base/status.h"
#include "engine/runner/cuda/device_buffer.h"

namespace specd {

class PackedUpload {
 public:
  explicit PackedUpload(std::string what) : what_(std::move(what)) {}

  // After Upload, *device_pointer is the array's place on the device, or nullptr when it is empty.
  template <typename T>
  void Add(const std::vector<T>& host, const T** device_pointer) {
    arrays_.push_back({host.data(), host.size() * sizeof(T),
                       [device_pointer](const uint8_t* at) { *device_pointer = reinterpret_cast<const T*>(at); }});
  }

  // Packs the arrays added since the last Upload, sets their device pointers and enqueues the copy.
  Status Upload(cudaStream_t stream);

 private:
  struct Array {
    const void* data;
    size_t bytes;
    std::function<void(const uint8_t*)> set_device_pointer;
  };

  std::string what_;
  std::vector<Array> arrays_;
  PinnedBuffer<uint8_t> host_;
  DeviceBuffer<uint8_t> device_;
};

}  // namespace specd
