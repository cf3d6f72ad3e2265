// LtGemm: the dense products of the CUDA runner through cuBLASLt, bf16 operands, fp32
// accumulation, bf16 or fp32 output:
//   y[rows, out] = x[rows, in] * w[out, in]^T        (w in Hugging Face's Linear layout)
// cuBLASLt is column-major: this is y^T = w * x^T with w read transposed. Engine thread only.
//
// Algorithms: by default one per (rows, in, out), kept: cuBLASLt's heuristic choice; with
// fast_small set, products of up to kSkinnyGemmMaxRows rows (decode, verify) go to our skinny
// kernel (kernels/skinny_gemm.h) and those of up to kTunedRows rows use the fastest of cuBLASLt's
// candidates, timed on the first call. A row's result may then depend on how many rows share
// the product (another kernel, split-K). Batch-invariant mode picks one algorithm per (in, out) without split-K and
// uses it for every row count, so each row's result is the same whatever else is in the batch:
// greedy output then does not depend on batching, chunking or speculation.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include <cublasLt.h>
#include <cuda_bf16.h>

#include "engine/base/status.h"
#include "engine/runner/cuda/device_buffer.h"

namespace specd {

class LtGemm {
 public:
  static constexpr int64_t kTunedRows = 16;

  // max_rows: the most rows a product will have (batch-invariant mode chooses for it).
  // fast_small: the skinny kernel and timed candidates for small products (not in
  // batch-invariant mode).
  static StatusOr<std::unique_ptr<LtGemm>> Create(bool batch_invariant, int64_t max_rows, bool fast_small = true);
  ~LtGemm();

  // y: [rows, out] of bf16 (y_bf16) or fp32 (y_f32); exactly one is non-null.
  Status Run(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y_bf16, float* y_f32,
             int64_t rows, int64_t in, int64_t out, cudaStream_t stream);

 private:
  struct Plan;  // descriptors and the algorithm of one shape
  using Shape = std::tuple<int64_t, int64_t, int64_t, bool>;  // rows, in, out, fp32 output

  // The arguments of one product.
  struct Operands {
    const __nv_bfloat16* x;
    const __nv_bfloat16* w;
    void* y;
    cudaStream_t stream;
  };

  LtGemm(bool batch_invariant, int64_t max_rows, bool fast_small);
  StatusOr<const Plan*> PlanFor(const Shape& shape, const Operands& operands);
  StatusOr<std::vector<cublasLtMatmulAlgo_t>> Candidates(const Plan& plan, const Shape& shape);
  StatusOr<cublasLtMatmulAlgo_t> Fastest(const Plan& plan, const std::vector<cublasLtMatmulAlgo_t>& candidates,
                                         const Operands& operands);
  Status Matmul(const Plan& plan, const cublasLtMatmulAlgo_t& algo, const Operands& operands);
  StatusOr<cublasLtMatmulAlgo_t> InvariantAlgo(const Shape& shape);

  const bool batch_invariant_;
  const int64_t max_rows_;
  const bool fast_small_;
  cublasLtHandle_t handle_ = nullptr;
  DeviceBuffer<uint8_t> workspace_;
  std::map<Shape, std::unique_ptr<Plan>> plans_;
  std::map<Shape, cublasLtMatmulAlgo_t> invariant_algos_;  // keyed with rows = 0
};

}  // namespace specd
