// A tensor inside a memory-mapped safetensors file: name, dtype, shape and its raw bytes.
// A view: valid while the SafetensorsFile that produced it is alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/model/dtype.h"

namespace specd {

// The product of the dimensions (1 for a scalar).
inline int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::span<const std::byte> data;

  int64_t num_elements() const { return NumElements(shape); }
};

// "[384, 128]"
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace specd
