// LtGemm: the dense products of the CUDA runner through cuBLASLt, bf16 operands, fp32
// accumulation, bf16 or fp32 output:
//   y[rows, out] = x[rows, in] * w[out, in]^T        (w in Hugging Face's Linear layout)
// cuBLASLt is column-major: this is y^T = w * x^T with w read transposed. Algorithms are chosen
// by cuBLASLt's heuristic once per shape and kept. Engine thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include <cublasLt.h>
#include <cuda_bf16.h>

#include "engine/base/status.h"
#include "engine/runner/cuda/device_buffer.h"

namespace specd {

class LtGemm {
 public:
  static StatusOr<std::unique_ptr<LtGemm>> Create();
  ~LtGemm();

  // y: [rows, out] of bf16 (y_bf16) or fp32 (y_f32); exactly one is non-null.
  Status Run(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y_bf16, float* y_f32,
             int64_t rows, int64_t in, int64_t out, cudaStream_t stream);

 private:
  struct Plan;  // descriptors and the chosen algorithm of one shape
  using Shape = std::tuple<int64_t, int64_t, int64_t, bool>;  // rows, in, out, fp32 output

  LtGemm() = default;
  StatusOr<const Plan*> PlanFor(const Shape& shape);

  cublasLtHandle_t handle_ = nullptr;
  DeviceBuffer<uint8_t> workspace_;
  std::map<Shape, std::unique_ptr<Plan>> plans_;
};

}  // namespace specd
