// Writes a safetensors file: used by `specd-model make-random` and by tests that need model
// files (valid ones, and deliberately broken ones made from valid ones).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/model/dtype.h"
#include "engine/model/tensor_view.h"

namespace specd {

struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<std::byte> data;  // little-endian elements, exactly num_elements * DTypeSize bytes
};

// Converts fp32 values to `dtype` (a weight dtype) as little-endian bytes.
std::vector<std::byte> EncodeFloats(const std::vector<float>& values, DType dtype);

// Tensors are laid out in the order given; the header is padded to a multiple of 8 bytes as the
// reference implementation does. FAILED_PRECONDITION if the file cannot be written.
Status WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors);

}  // namespace specd
