// Products with few rows (decode, speculative verify): y[r, o] = sum_i x[r, i] * w[o, i] for
// r < rows <= kSkinnyGemmMaxRows. Memory-bound: every weight is read once and used for all rows,
// with 16-byte loads and several in flight per lane; bf16 in, fp32 accumulation, bf16 or fp32
// out. One row: CUDA cores; 2..8 rows with `in` a multiple of 32: tensor cores (mma.m16n8k16),
// where CUDA cores would run out of FMA throughput. cuBLASLt's kernels for one row reach ~70% of
// the copy bandwidth on an H100; these aim at ~90%.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace specd::kernels {

inline constexpr int kSkinnyGemmMaxRows = 8;

struct SkinnyGemmParams {
  const __nv_bfloat16* x = nullptr;  // [rows, in]
  const __nv_bfloat16* w = nullptr;  // [out, in] (Hugging Face Linear layout)
  __nv_bfloat16* y_bf16 = nullptr;   // [rows, out], or
  float* y_f32 = nullptr;            // [rows, out]: exactly one of the two
  int rows = 0;                      // 1 .. kSkinnyGemmMaxRows
  int in = 0;                        // a positive multiple of 8; x and w 16-byte aligned
  int out = 0;
};

// True when the kernel takes these shapes and pointers (otherwise use a general GEMM).
bool SkinnyGemmSupports(const SkinnyGemmParams& params);

// cudaErrorInvalidValue for what SkinnyGemmSupports refuses.
cudaError_t LaunchSkinnyGemm(const SkinnyGemmParams& params, cudaStream_t stream);

}  // namespace specd::kernels
